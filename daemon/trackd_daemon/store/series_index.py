"""The SQLite backend's series index: each run's chartable history values kept column-wise, so
that a chart of a metric with a million points reads two arrays instead of decoding a million
MessagePack rows.

The index lives in its own database file beside the store (``<store>-series``): it is derived
data, rebuilt from the history whenever it is missing or out of date, and writing it never takes
the store's write lock. Per (run, key) it holds chunks of up to :data:`CHUNK` points: the steps
as int64 and the values as float64, both little-endian.

It follows a run's history incrementally: rows after the last indexed step are read (in one read
transaction of the store, so the count it checks and the rows it reads agree) and appended. A
rewind or anything else that changed rows already indexed is noticed — the run's row count is
not the indexed count plus the new rows, or the last indexed row is no longer the same bytes —
and the run is indexed again from its first row.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from trackd_daemon.store.row_codec import unpack_plain
from trackd_daemon.store.series import columnize

# NumPy is imported where it is used (see trackd_daemon.store.series).
if TYPE_CHECKING:
    import numpy as np

#: Points per stored chunk (512 KiB of steps and as much of values).
CHUNK = 65_536
#: Rows read from the history per batch while indexing, at most.
READ_BATCH = 20_000
#: Values decoded per batch, about: a batch's rows are Python objects while they are turned
#: into columns (some 50 bytes a value), so wide rows are read fewer at a time (20,000 rows of
#: 1,000 keys held 20 million values, over 1 GiB). The first batch is of ``FIRST_BATCH`` rows.
READ_POINTS = 250_000
FIRST_BATCH = 64


def next_batch(rows: int, points: int) -> int:
    """How many rows to read next, after a batch of ``rows`` rows held ``points`` values."""
    return max(FIRST_BATCH, min(READ_BATCH, READ_POINTS * rows // max(points, 1)))
#: Points held in memory before they are written out (bounds memory while indexing).
FLUSH_POINTS = 2_000_000

SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS indexed (
        run INTEGER PRIMARY KEY,
        through_step INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        last_row_digest BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS chunks (
        run INTEGER NOT NULL,
        key TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        n INTEGER NOT NULL,
        steps BLOB NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY (run, key, chunk)
    ) WITHOUT ROWID
    """,
]


def sidecar_path(store_path: str) -> str:
    return f"{store_path}-series"


def row_digest(blob: bytes) -> bytes:
    """What the index remembers of the last row it indexed (to notice it changed)."""
    return hashlib.blake2b(blob, digest_size=16).digest()


class SeriesIndex:
    """Column-wise copies of runs' numeric history values. Every method blocks (SQLite and
    decoding): call it from a worker thread. Thread-safe; one run is indexed by one thread at
    a time."""

    def __init__(self, store_path: str) -> None:
        path = sidecar_path(store_path)
        if not os.path.exists(path):  # derived from the store: as private as the store
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        for stmt in SCHEMA:
            self._conn.execute(stmt)
        self._lock = threading.Lock()  # one connection: one statement sequence at a time
        self._run_locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- reading ---------------------------------------------------------------------------

    def keys(self, pk: int) -> dict[str, int]:
        """Indexed keys of a run and their point counts."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, SUM(n) FROM chunks WHERE run = ? GROUP BY key ORDER BY key", (pk,)
            ).fetchall()
        return {k: int(n) for k, n in rows}

    def load(self, pk: int, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The (steps, values) of one key, in step order (empty arrays for an unknown key)."""
        import numpy as np

        with self._lock:
            rows = self._conn.execute(
                "SELECT steps, vals FROM chunks WHERE run = ? AND key = ? ORDER BY chunk",
                (pk, key),
            ).fetchall()
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        steps = np.frombuffer(b"".join(r[0] for r in rows), dtype="<i8")
        vals = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f8")
        return steps, vals

    # -- for a backend that follows its history itself (postgres_series.py) ---------------

    def state(self, pk: int) -> tuple[int, int, bytes] | None:
        """(last indexed step, indexed rows, digest of the last indexed row) of a run, or
        None when nothing of it is indexed."""
        with self._lock:
            found = self._conn.execute(
                "SELECT through_step, rows, last_row_digest FROM indexed WHERE run = ?", (pk,)
            ).fetchone()
        return None if found is None else (int(found[0]), int(found[1]), bytes(found[2]))

    def append(self, pk: int, steps: dict[str, list[np.ndarray]],
               vals: dict[str, list[np.ndarray]], last: tuple[int, bytes], indexed: int) -> None:
        """Append columns of rows read after the run's last indexed one; ``last`` is the last
        of them (step, stored row) and ``indexed`` the run's indexed row count after them."""
        self._append(pk, steps, vals, last, indexed)

    # -- following the history -----------------------------------------------------------

    def catch_up(self, pk: int, conn: sqlite3.Connection) -> None:
        """Bring the run's index up to its stored history, read through ``conn`` (a read
        connection of the store, not in a transaction)."""
        with self._run_locks[pk]:
            self._catch_up(pk, conn)

    def _catch_up(self, pk: int, conn: sqlite3.Connection) -> None:
        with self._lock:
            state = self._conn.execute(
                "SELECT through_step, rows, last_row_digest FROM indexed WHERE run = ?", (pk,)
            ).fetchone()
        stale = False
        conn.execute("BEGIN")  # one snapshot of the store for the checks and the rows
        try:
            found = conn.execute("SELECT history_rows FROM runs WHERE id = ?", (pk,)).fetchone()
            total = int(found[0]) if found else 0
            if state is not None:
                through, indexed, digest = state
                blob = conn.execute("SELECT row FROM history WHERE run = ? AND step = ?",
                                    (pk, through)).fetchone()
                (newer,) = conn.execute(
                    "SELECT COUNT(*) FROM history WHERE run = ? AND step > ?", (pk, through)
                ).fetchone()
                if blob is None or row_digest(blob[0]) != digest or indexed + newer != total:
                    state, stale = None, True  # indexed rows changed (a rewind): start over
            if state is None:
                if stale:
                    self._drop(pk)
                if total == 0:
                    return
                through, indexed = None, 0
            elif newer == 0:
                return
            self._index_rows(pk, conn, through, indexed)
        finally:
            conn.execute("COMMIT")

    def _index_rows(self, pk: int, conn: sqlite3.Connection, through: int | None,
                    indexed: int) -> None:
        sql = "SELECT step, row FROM history WHERE run = ?"
        args: list[int] = [pk]
        if through is not None:
            sql += " AND step > ?"
            args.append(through)
        cursor = conn.execute(sql + " ORDER BY step", args)
        steps: defaultdict[str, list[np.ndarray]] = defaultdict(list)
        vals: defaultdict[str, list[np.ndarray]] = defaultdict(list)
        buffered = 0
        last: tuple[int, bytes] | None = None
        size = FIRST_BATCH
        while batch := cursor.fetchmany(size):
            rows = [(step, unpack_plain(blob)) for step, blob in batch]
            points = 0
            for k, (key_steps, key_vals) in columnize(rows).items():
                steps[k].append(key_steps)
                vals[k].append(key_vals)
                points += len(key_steps)
            del rows
            buffered += points
            size = next_batch(len(batch), points)
            indexed += len(batch)
            last = batch[-1]
            if buffered >= FLUSH_POINTS:
                self._append(pk, steps, vals, last, indexed)
                steps.clear()
                vals.clear()
                buffered = 0
        if last is not None:
            self._append(pk, steps, vals, last, indexed)

    # -- writing ---------------------------------------------------------------------------

    def forget(self, pk: int) -> None:
        """Drop a run's index (the run was deleted)."""
        with self._run_locks[pk]:
            self._drop(pk)

    def _drop(self, pk: int) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM chunks WHERE run = ?", (pk,))
            self._conn.execute("DELETE FROM indexed WHERE run = ?", (pk,))
            self._conn.execute("COMMIT")

    def _append(self, pk: int, steps: dict[str, list[np.ndarray]],
                vals: dict[str, list[np.ndarray]], last: tuple[int, bytes], indexed: int) -> None:
        """Append points to each key's chunks and move the run's mark, in one transaction."""
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                for key, key_steps in steps.items():
                    self._append_key(pk, key, key_steps, vals[key])
                c.execute(
                    "INSERT OR REPLACE INTO indexed(run, through_step, rows, last_row_digest)"
                    " VALUES (?, ?, ?, ?)", (pk, last[0], indexed, row_digest(last[1])))
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def _append_key(self, pk: int, key: str, steps: list[np.ndarray],
                    vals: list[np.ndarray]) -> None:
        import numpy as np

        c = self._conn
        tail = c.execute(
            "SELECT chunk, n, steps, vals FROM chunks WHERE run = ? AND key = ?"
            " ORDER BY chunk DESC LIMIT 1", (pk, key)).fetchone()
        new_steps = np.concatenate(steps).astype("<i8", copy=False)
        new_vals = np.concatenate(vals).astype("<f8", copy=False)
        chunk = 0
        if tail is not None:
            chunk = tail[0]
            if tail[1] < CHUNK:  # fill the last chunk up first
                new_steps = np.concatenate((np.frombuffer(tail[2], dtype="<i8"), new_steps))
                new_vals = np.concatenate((np.frombuffer(tail[3], dtype="<f8"), new_vals))
            else:
                chunk += 1
        c.executemany(
            "INSERT OR REPLACE INTO chunks(run, key, chunk, n, steps, vals)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(pk, key, chunk + i // CHUNK, len(new_steps[i:i + CHUNK]),
              new_steps[i:i + CHUNK].tobytes(), new_vals[i:i + CHUNK].tobytes())
             for i in range(0, len(new_steps), CHUNK)],
        )

