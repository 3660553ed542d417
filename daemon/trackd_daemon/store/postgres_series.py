"""Charts on the PostgreSQL store: a per-daemon series index that follows the shared history.

The index is the SQLite backend's :class:`~trackd_daemon.store.series_index.SeriesIndex` (a
column-wise copy of each run's numeric values, in a private local file), kept here as a cache:
each daemon builds its own from the history in PostgreSQL and checks it against the history
before use, so it needs no coordination with other daemons, and survives a restart. Catching up
follows the same rule as the SQLite backend: the rows after the last indexed step are read (in
one REPEATABLE READ snapshot, so the count checked and the rows read agree) and appended; when
rows already indexed changed (a rewind, possibly by another daemon) the run is indexed again
from its first row. Reading rows is asynchronous; decoding them and writing the index run in
worker threads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from psycopg_pool import AsyncConnectionPool

from trackd_daemon.store.postgres_sql import Conn, row
from trackd_daemon.store.row_codec import unpack_plain
from trackd_daemon.store.series import Series, columnize, downsample
from trackd_daemon.store.series_index import (
    FIRST_BATCH,
    FLUSH_POINTS,
    SeriesIndex,
    next_batch,
    row_digest,
)

# NumPy is imported where it is used (see trackd_daemon.store.series).
if TYPE_CHECKING:
    import numpy as np


def _columns(batch: list[tuple[int, bytes]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return columnize([(step, unpack_plain(blob)) for step, blob in batch])


class PgSeriesCache:
    """The series index of one daemon (see the module doc)."""

    def __init__(self, path: str) -> None:
        self._path = path  # the index file is this with "-series" added
        self._index: SeriesIndex | None = None  # opened on first use (a file, in a thread)
        self._open_lock = anyio.Lock()
        self._run_locks: defaultdict[int, anyio.Lock] = defaultdict(anyio.Lock)

    async def _get(self) -> SeriesIndex:
        async with self._open_lock:
            if self._index is None:
                self._index = await anyio.to_thread.run_sync(SeriesIndex, self._path)
            return self._index

    async def catch_up(self, pk: int, pool: AsyncConnectionPool[Conn]) -> None:
        """Bring run ``pk``'s index up to its history in the database."""
        index = await self._get()
        async with self._run_locks[pk]:
            state = await anyio.to_thread.run_sync(index.state, pk)
            async with pool.connection() as conn:
                async with conn.transaction():
                    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ,"
                                       " READ ONLY")
                    await self._catch_up(index, pk, conn, state)

    async def _catch_up(self, index: SeriesIndex, pk: int, conn: Conn,
                        state: tuple[int, int, bytes] | None) -> None:
        found = await row(conn, "SELECT history_rows FROM runs WHERE id = %s", (pk,))
        total = int(found[0]) if found else 0
        through: int | None = None
        indexed = 0
        if state is not None:
            through, indexed, digest = state
            last = await row(conn, "SELECT row FROM history WHERE run = %s AND step = %s",
                             (pk, through))
            counted = await row(conn, "SELECT COUNT(*) FROM history WHERE run = %s"
                                " AND step > %s", (pk, through))
            newer = int(counted[0]) if counted else 0
            if last is None or row_digest(bytes(last[0])) != digest or indexed + newer != total:
                await anyio.to_thread.run_sync(index.forget, pk)  # rows changed: start over
                through, indexed = None, 0
            elif newer == 0:
                return
        if through is None and total == 0:
            return
        sql = "SELECT step, row FROM history WHERE run = %s"
        args: list[Any] = [pk]
        if through is not None:
            sql += " AND step > %s"
            args.append(through)
        steps: defaultdict[str, list[np.ndarray]] = defaultdict(list)
        vals: defaultdict[str, list[np.ndarray]] = defaultdict(list)
        buffered = 0
        last_row: tuple[int, bytes] | None = None
        # Server-side, a batch at a time; binary: the rows arrive as bytes, not hex text.
        async with conn.cursor(name="series_rows", binary=True) as cur:
            await cur.execute(sql + " ORDER BY step", args)
            size = FIRST_BATCH
            while batch := await cur.fetchmany(size):
                pairs = [(int(s), bytes(b)) for s, b in batch]
                cols = await anyio.to_thread.run_sync(_columns, pairs)
                points = 0
                for k, (key_steps, key_vals) in cols.items():
                    steps[k].append(key_steps)
                    vals[k].append(key_vals)
                    points += len(key_steps)
                buffered += points
                size = next_batch(len(pairs), points)
                indexed += len(pairs)
                last_row = pairs[-1]
                if buffered >= FLUSH_POINTS:
                    await self._flush(index, pk, steps, vals, last_row, indexed)
                    steps, vals, buffered = defaultdict(list), defaultdict(list), 0
        if last_row is not None:
            await self._flush(index, pk, steps, vals, last_row, indexed)

    @staticmethod
    async def _flush(index: SeriesIndex, pk: int, steps: dict[str, list[np.ndarray]],
                     vals: dict[str, list[np.ndarray]], last: tuple[int, bytes],
                     indexed: int) -> None:
        await anyio.to_thread.run_sync(index.append, pk, steps, vals, last, indexed)

    async def keys(self, pk: int) -> dict[str, int]:
        index = await self._get()
        return await anyio.to_thread.run_sync(index.keys, pk)

    async def downsample(self, pk: int, keys: Sequence[str], x_key: str, x_min: float | None,
                         x_max: float | None, buckets: int) -> dict[str, Series]:
        index = await self._get()
        return await anyio.to_thread.run_sync(
            lambda: downsample(lambda k: index.load(pk, k), keys, x_key, x_min, x_max, buckets))

    async def forget(self, pk: int) -> None:
        """Drop a run's index (the run was deleted or moved away)."""
        index = await self._get()
        async with self._run_locks[pk]:
            await anyio.to_thread.run_sync(index.forget, pk)

    async def close(self) -> None:
        async with self._open_lock:
            if self._index is not None:
                await anyio.to_thread.run_sync(self._index.close)
                self._index = None
