"""The SQLite store's write-ahead log is checkpointed beside the writes
(``store/sqlite_checkpoint.py``), not by the commit that fills it."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from trackd_daemon.store import open_store
from trackd_daemon.store.models import NewRun, RunKey
from trackd_daemon.store.sqlite_checkpoint import WRITER_AUTOCHECKPOINT, Checkpointer


def _file_alone(db: Path, tmp: Path) -> sqlite3.Connection:
    """The database file as it stands without its WAL (what checkpoints copied into it)."""
    copy = tmp / f"alone-{time.monotonic_ns()}.db"
    shutil.copyfile(db, copy)
    return sqlite3.connect(copy)


def test_written_pages_reach_the_database_file_without_the_writer_checkpointing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "c.db"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the writer never checkpoints
    writer.execute("CREATE TABLE t (v INTEGER)")
    checkpoints = Checkpointer(str(db))
    try:
        writer.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
        checkpoints.written()
        deadline = time.monotonic() + 10
        while True:
            alone = _file_alone(db, tmp_path)
            try:
                found = alone.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'"
                                      ).fetchone()[0] and alone.execute(
                                          "SELECT COUNT(*) FROM t").fetchone()[0]
            finally:
                alone.close()
            if found == 1000:
                break
            assert time.monotonic() < deadline, f"not checkpointed: {found} rows in the file"
            time.sleep(0.05)
    finally:
        checkpoints.close()
        writer.close()
    assert not checkpoints._thread.is_alive()


@pytest.mark.anyio
async def test_the_store_checkpoints_in_the_background(tmp_path: Path) -> None:
    db = tmp_path / "trackd.db"
    store = await open_store(f"sqlite:///{db}")
    try:
        assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (  # type: ignore[attr-defined]
            WRITER_AUTOCHECKPOINT)
        await store.create_run(NewRun(key=RunKey("e", "p", "r1"), start_time=time.time()))
        # One small transaction: far below any threshold, yet in the file within moments.
        with anyio.fail_after(10):
            while True:
                alone = _file_alone(db, tmp_path)
                try:
                    tables = {r[0] for r in alone.execute("SELECT name FROM sqlite_master")}
                    runs = alone.execute("SELECT run_id FROM runs").fetchall() if (
                        "runs" in tables) else []
                finally:
                    alone.close()
                if runs == [("r1",)]:
                    break
                await anyio.sleep(0.05)
    finally:
        await store.aclose()
