"""The same rows stored, byte for byte, for a fixed script: what the daemon's SQLite store holds
after tests/e2e/golden_rows.py's script (history rows as MessagePack, the run's summary, config
and metric definitions as JSON) against the golden file made with the code before the logging
hot path's rework (tests/e2e/golden/rows.json; golden_rows.py says how it is made and why
regenerating it is a format change, not a fix)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trackd
from tests.e2e import golden_rows


@pytest.fixture
def stored_rows(own_daemon):  # type: ignore[no-untyped-def]
    """The script run against a daemon of its own (a fresh store), and what the store holds."""
    golden_rows.train(trackd)
    return golden_rows.stored(Path(own_daemon.dirs.env["TRACKD_ROOT"]) / "trackd.db")


def test_stored_rows_match_the_golden_bytes(stored_rows):  # type: ignore[no-untyped-def]
    expected = json.loads(golden_rows.GOLDEN.read_text())
    diffs = golden_rows.differences(expected, stored_rows)
    if diffs:
        shown = "\n".join(d[:300] for d in diffs[:40])
        pytest.fail(f"{len(diffs)} differences from {golden_rows.GOLDEN.name}:\n{shown}")
    assert stored_rows == expected


def test_the_comparison_sees_a_changed_byte_and_a_moved_key():
    expected = json.loads(golden_rows.GOLDEN.read_text())
    changed = json.loads(golden_rows.GOLDEN.read_text())
    row = next(r for r in changed["history"] if r["step"] == 4)
    key, key_bytes, value = row["items"][0]
    row["items"][0] = [key, key_bytes, value[:-1] + ("0" if value[-1] != "0" else "1")]
    assert golden_rows.differences(expected, changed) == [
        f"history step 4 key {key!r}: {key_bytes}:{value} != {key_bytes}:{row['items'][0][2]}"]
    moved = json.loads(golden_rows.GOLDEN.read_text())
    items = next(r for r in moved["history"] if r["step"] == 0)["items"]
    items[0], items[1] = items[1], items[0]
    (moved_line,) = golden_rows.differences(expected, moved)
    assert moved_line.startswith("history step 0: keys or their order differ: missing [], new []")
