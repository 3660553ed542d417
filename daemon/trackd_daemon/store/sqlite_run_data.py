"""SQLite run data: saved files, the console log and system metrics (a mixin of
:class:`~trackd_daemon.store.sqlite.SqliteStore`; the interface is ``run_data_base.py``).

Console lines arrive with the run's records and are written inside ``apply``'s transaction
(:func:`apply_console`), so a replayed record batch rewrites the same lines. System-metric
samples are MessagePack maps like history rows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import msgpack

from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.run_data_models import (
    ConsoleLine,
    ConsolePart,
    FileSpec,
    RunFileInfo,
    RunFileVersion,
    SamplerSpec,
    SystemSample,
)
from trackd_daemon.store.series import Series, bucketize, check_buckets

#: Default size of a console log part (``console_part_bytes``): W&B's multipart logs roll over
#: at a size too; 10 MiB keeps a part quick to open in a browser.
CONSOLE_PART_BYTES = 10 << 20

RUN_DATA_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS run_files (
        run INTEGER NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        blob_key TEXT NOT NULL,
        md5 TEXT NOT NULL,
        size INTEGER NOT NULL,
        stored_at REAL NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (run, name, version)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS run_files_blob ON run_files(blob_key)",
    """
    CREATE TABLE IF NOT EXISTS run_file_specs (
        run INTEGER NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        policy TEXT NOT NULL,
        uid INTEGER NOT NULL,
        gid INTEGER NOT NULL,
        PRIMARY KEY (run, name)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS console_lines (
        run INTEGER NOT NULL,
        writer TEXT NOT NULL,
        stream INTEGER NOT NULL,
        line INTEGER NOT NULL,
        part INTEGER NOT NULL,
        ts REAL NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (run, writer, stream, line)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS console_order ON console_lines(run, part, ts)",
    """
    CREATE TABLE IF NOT EXISTS console_parts (
        run INTEGER NOT NULL,
        part INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        lines INTEGER NOT NULL,
        PRIMARY KEY (run, part)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS run_samplers (
        run INTEGER NOT NULL,
        writer TEXT NOT NULL,
        pid INTEGER NOT NULL,
        interval REAL NOT NULL,
        uid INTEGER NOT NULL,
        trusted INTEGER NOT NULL,
        PRIMARY KEY (run, writer)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS system_metrics (
        run INTEGER NOT NULL,
        writer TEXT NOT NULL,
        ts REAL NOT NULL,
        row BLOB NOT NULL,
        PRIMARY KEY (run, ts, writer)
    ) WITHOUT ROWID
    """,
]

_VERSION_COLUMNS = "name, version, blob_key, md5, size, stored_at, reason"
_CONSOLE_ORDER = "ORDER BY part, ts, writer, stream, line"


def _version(r: tuple[Any, ...]) -> RunFileVersion:
    return RunFileVersion(r[0], r[1], r[2], r[3], r[4], r[5], r[6])


def _line_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) + 1  # and its newline


def apply_console(conn: sqlite3.Connection, pk: int, lines: Sequence[ConsoleLine],
                  part_bytes: int) -> None:
    """Write console lines of run ``pk`` (inside the caller's transaction): a known line is
    replaced in its part; a new line goes into the last part, or starts a new one when the
    last is full."""
    row = conn.execute("SELECT part, bytes FROM console_parts WHERE run = ? ORDER BY part DESC"
                       " LIMIT 1", (pk,)).fetchone()
    part, used = (row[0], row[1]) if row is not None else (0, 0)
    sizes: dict[int, list[int]] = {}  # part -> [bytes delta, lines delta]
    for ln in lines:
        size = _line_bytes(ln.text)
        old = conn.execute(
            "SELECT part, text FROM console_lines WHERE run = ? AND writer = ? AND stream = ?"
            " AND line = ?", (pk, ln.writer, ln.stream, ln.line)).fetchone()
        if old is not None:
            if old[1] == ln.text:
                continue
            conn.execute("UPDATE console_lines SET text = ? WHERE run = ? AND writer = ?"
                         " AND stream = ? AND line = ?",
                         (ln.text, pk, ln.writer, ln.stream, ln.line))
            sizes.setdefault(old[0], [0, 0])[0] += size - _line_bytes(old[1])
            if old[0] == part:
                used += size - _line_bytes(old[1])
            continue
        if used and used + size > part_bytes:
            part, used = part + 1, 0
        conn.execute("INSERT INTO console_lines(run, writer, stream, line, part, ts, text)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (pk, ln.writer, ln.stream, ln.line, part, ln.timestamp, ln.text))
        delta = sizes.setdefault(part, [0, 0])
        delta[0] += size
        delta[1] += 1
        used += size
    for p, (nbytes, nlines) in sizes.items():
        conn.execute("INSERT INTO console_parts(run, part, bytes, lines) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT(run, part) DO UPDATE SET bytes = bytes + excluded.bytes,"
                     " lines = lines + excluded.lines", (pk, p, nbytes, nlines))


class SqliteRunData:
    """Run files, console log and system metrics (mixed into ``SqliteStore``)."""

    _write: Any
    _read: Any
    console_part_bytes: int = CONSOLE_PART_BYTES

    # -- files ---------------------------------------------------------------------------------

    async def add_run_file(self, pk: int, name: str, blob: BlobRecord, reason: str,
                           stored_at: float, skip_same: bool = False) -> RunFileVersion | None:
        def add(conn: sqlite3.Connection) -> RunFileVersion | None:
            last = conn.execute("SELECT version, blob_key FROM run_files WHERE run = ? AND name = ?"
                                " ORDER BY version DESC LIMIT 1", (pk, name)).fetchone()
            if skip_same and last is not None and last[1] == blob.key:
                return None
            version = (last[0] if last is not None else 0) + 1
            conn.execute("INSERT OR IGNORE INTO blobs(blob_key, md5, size, created_at)"
                         " VALUES (?, ?, ?, ?)", (blob.key, blob.md5, blob.size, time.time()))
            conn.execute(f"INSERT INTO run_files(run, {_VERSION_COLUMNS})"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (pk, name, version, blob.key, blob.md5, blob.size, stored_at, reason))
            return RunFileVersion(name, version, blob.key, blob.md5, blob.size, stored_at,
                                  reason)

        return await self._write(add)  # type: ignore[no-any-return]

    async def list_run_files(self, pk: int, names: Sequence[str] = (),
                             versions: bool = False) -> list[RunFileInfo]:
        wanted = set(names)

        def read(conn: sqlite3.Connection) -> list[RunFileInfo]:
            rows = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM run_files WHERE run = ?"
                                " ORDER BY name, version", (pk,)).fetchall()
            by_name: dict[str, list[RunFileVersion]] = {}
            for r in rows:
                if not wanted or r[0] in wanted:
                    by_name.setdefault(r[0], []).append(_version(r))
            return [RunFileInfo(vs[-1], len(vs), vs if versions else [])
                    for vs in by_name.values()]

        return await self._read(read)  # type: ignore[no-any-return]

    async def get_run_file(self, pk: int, name: str, version: int = 0) -> RunFileVersion | None:
        if version > 0:
            sql, args = "AND version = ?", (pk, name, version)
        else:
            sql, args = "ORDER BY version DESC LIMIT 1", (pk, name)  # type: ignore[assignment]
        row = await self._read(lambda c: c.execute(
            f"SELECT {_VERSION_COLUMNS} FROM run_files WHERE run = ? AND name = ? {sql}",
            args).fetchone())
        return None if row is None else _version(row)

    async def delete_run_files(self, pk: int, names: Sequence[str]) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            gone = 0
            for name in dict.fromkeys(names):
                gone += conn.execute("DELETE FROM run_files WHERE run = ? AND name = ?",
                                     (pk, name)).rowcount
                conn.execute("DELETE FROM run_file_specs WHERE run = ? AND name = ?", (pk, name))
            return gone

        return await self._write(delete)  # type: ignore[no-any-return]

    async def put_file_specs(self, pk: int, specs: Sequence[FileSpec]) -> None:
        await self._write(lambda c: c.executemany(
            "INSERT OR REPLACE INTO run_file_specs(run, name, path, policy, uid, gid)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(pk, s.name, s.path, s.policy, s.uid, s.gid) for s in specs]))

    async def file_specs(self, pk: int) -> list[FileSpec]:
        rows = await self._read(lambda c: c.execute(
            "SELECT name, path, policy, uid, gid FROM run_file_specs WHERE run = ? ORDER BY name",
            (pk,)).fetchall())
        return [FileSpec(*r) for r in rows]

    # -- console -------------------------------------------------------------------------------

    async def console_parts(self, pk: int) -> list[ConsolePart]:
        rows = await self._read(lambda c: c.execute(
            "SELECT part, bytes, lines FROM console_parts WHERE run = ? ORDER BY part",
            (pk,)).fetchall())
        return [ConsolePart(*r) for r in rows]

    async def read_console(self, pk: int, offset: int, limit: int,
                           part: int | None = None) -> list[ConsoleLine]:
        where, args = ("AND part = ?", [pk, part]) if part is not None else ("", [pk])
        rows = await self._read(lambda c: c.execute(
            f"SELECT stream, line, ts, text, writer FROM console_lines WHERE run = ? {where}"
            f" {_CONSOLE_ORDER} LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall())
        return [ConsoleLine(*r) for r in rows]

    # -- system metrics ------------------------------------------------------------------------

    async def put_sampler(self, pk: int, spec: SamplerSpec) -> None:
        await self._write(lambda c: c.execute(
            "INSERT OR REPLACE INTO run_samplers(run, writer, pid, interval, uid, trusted)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (pk, spec.writer, spec.pid, spec.interval, spec.uid, int(spec.trusted))))

    async def samplers(self, pk: int) -> list[SamplerSpec]:
        rows = await self._read(lambda c: c.execute(
            "SELECT writer, pid, interval, uid, trusted FROM run_samplers WHERE run = ?"
            " ORDER BY writer", (pk,)).fetchall())
        return [SamplerSpec(w, pid, interval, uid, bool(t)) for w, pid, interval, uid, t in rows]

    async def append_system_metrics(self, samples: Sequence[SystemSample]) -> None:
        if not samples:
            return
        # A sample taken just before its run was deleted is dropped, not kept under a pk a
        # new run may be given.
        await self._write(lambda c: c.executemany(
            "INSERT OR IGNORE INTO system_metrics(run, writer, ts, row) SELECT ?, ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)",
            [(s.pk, s.writer, s.timestamp, msgpack.packb(s.values, use_bin_type=True), s.pk)
             for s in samples]))

    async def scan_system_metrics(self, pk: int, offset: int, limit: int) -> list[SystemSample]:
        rows = await self._read(lambda c: c.execute(
            "SELECT writer, ts, row FROM system_metrics WHERE run = ? ORDER BY ts, writer"
            " LIMIT ? OFFSET ?", (pk, limit, offset)).fetchall())
        return [SystemSample(pk, w, ts, msgpack.unpackb(row, raw=False)) for w, ts, row in rows]

    async def count_system_metrics(self, pk: int) -> int:
        row = await self._read(lambda c: c.execute(
            "SELECT COUNT(*) FROM system_metrics WHERE run = ?", (pk,)).fetchone())
        return int(row[0])

    def _system_columns(self, conn: sqlite3.Connection, pk: int
                        ) -> tuple[float, dict[str, tuple[list[float], list[float]]]]:
        """(run start, chart key -> (timestamps, values)) of every sample (worker thread)."""
        start = conn.execute("SELECT start_time, created_at FROM runs WHERE id = ?",
                             (pk,)).fetchone()
        base = (start[0] or start[1]) if start is not None else 0.0
        cols: dict[str, tuple[list[float], list[float]]] = {}
        for writer, ts, blob in conn.execute(
                "SELECT writer, ts, row FROM system_metrics WHERE run = ? ORDER BY ts", (pk,)):
            for k, v in msgpack.unpackb(blob, raw=False).items():
                if type(v) not in (int, float):
                    continue
                key = f"{k}@{writer}" if writer else k
                xs, ys = cols.setdefault(key, ([], []))
                xs.append(ts)
                ys.append(float(v))
        return base, cols

    async def system_metric_keys(self, pk: int) -> dict[str, int]:
        _, cols = await self._read(lambda c: self._system_columns(c, pk))
        return {k: len(xs) for k, (xs, _) in sorted(cols.items())}

    async def system_series(self, pk: int, keys: Sequence[str], x_key: str,
                            x_min: float | None, x_max: float | None,
                            buckets: int) -> dict[str, Series]:
        check_buckets(buckets)

        def series(conn: sqlite3.Connection) -> dict[str, Series]:  # worker thread: numpy too
            import numpy as np  # loaded for charts (see trackd_daemon.store.series)

            base, cols = self._system_columns(conn, pk)
            out: dict[str, Series] = {}
            for key in dict.fromkeys(keys):
                xs, ys = cols.get(key, ([], []))
                x = np.asarray(xs, dtype=np.float64)
                if x_key != "_timestamp":
                    x = x - base
                out[key] = bucketize(key, x, np.asarray(ys, dtype=np.float64), x_min, x_max,
                                     buckets)
            return out

        return await self._read(series)  # type: ignore[no-any-return]
