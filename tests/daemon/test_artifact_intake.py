"""What the daemon takes from a client's manifest: staged copies and their MD5 only from a
trusted caller (the daemon's user or root)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trackd_daemon.access import Caller
from trackd_daemon.artifacts.intake import prepare
from trackd_daemon.artifacts.local_files import ReadCheck
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


@pytest.mark.parametrize("trusted", [True, False])
async def test_a_staged_copy_and_its_md5_are_kept_only_for_a_trusted_caller(
        store: SqliteStore, tmp_path: Path, trusted: bool) -> None:
    caller = Caller(os.geteuid(), os.getegid())
    intake = await prepare(store, [staged_entry(tmp_path)], ReadCheck(caller, trusted), trusted,
                           lambda v: True, caller.uid, [caller.uid])
    (e,) = intake.entries
    assert (intake.files_to_store, intake.bytes_to_store) == (1, len(b"a staging copy"))
    if trusted:
        assert (e.staged, e.digest) == (True, "given-md5")
    else:  # copied and hashed by the daemon like any file of another user
        assert (e.staged, e.digest) == (False, "")
