"""What the daemon takes from a client's manifest: local paths, staged copies and their MD5
only from a trusted caller (the daemon's user or root)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trackd_daemon.access import Caller
from trackd_daemon.errors import PathUnreadableError
from trackd_daemon.artifacts.intake import prepare
from trackd_daemon.local_paths import LocalPaths
from trackd_daemon.store.artifact_models import Entry
from trackd_daemon.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")
    yield s
    await s.aclose()


def staged_entry(tmp_path: Path) -> Entry:
    p = tmp_path / "staged"
    p.write_bytes(b"a staging copy")
    os.chmod(p, 0o444)
    return Entry(path="f", local_path=str(p), digest="given-md5", staged=True)


async def test_a_staged_copy_and_its_md5_are_kept_for_a_trusted_caller(
        store: SqliteStore, tmp_path: Path) -> None:
    caller = Caller(os.geteuid(), os.getegid())
    intake = await prepare(store, [staged_entry(tmp_path)], LocalPaths(caller, True), True,
                           lambda v: True, caller.uid, [caller.uid])
    (e,) = intake.entries
    assert (intake.files_to_store, intake.bytes_to_store) == (1, len(b"a staging copy"))
    assert (e.staged, e.digest) == (True, "given-md5")


async def test_no_path_of_an_untrusted_caller_is_looked_at(store: SqliteStore,
                                                           tmp_path: Path) -> None:
    """Not even a stat: the path is refused before it is touched (a later open by name could
    be swapped to another file), and the client uploads the bytes instead."""
    caller = Caller(61001, 61001)
    missing = Entry(path="g", local_path=str(tmp_path / "no-such-file"))
    for entry in (staged_entry(tmp_path), missing):
        with pytest.raises(PathUnreadableError, match="uid 61001"):
            await prepare(store, [entry], LocalPaths(caller, False), False, lambda v: True,
                          caller.uid, [caller.uid])
