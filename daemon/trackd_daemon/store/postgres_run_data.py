"""PostgreSQL run data: saved files, the console log and system metrics (a mixin of
:class:`~trackd_daemon.store.postgres.PostgresStore`; the interface is ``run_data_base.py``).

Console lines arrive with the run's records and are written inside ``apply``'s transaction
(:func:`apply_console`): the lines of a round already stored are read in one query, the new
ones inserted in one pipelined batch. System-metric samples are MessagePack maps like history
rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
import msgpack

from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.postgres_sql import Conn, many, row, rows, run
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
from trackd_daemon.store.sqlite_run_data import CONSOLE_PART_BYTES

_VERSION_COLUMNS = "name, version, blob_key, md5, size, stored_at, reason"
_CONSOLE_ORDER = "ORDER BY part, ts, writer, stream, line"


def _version(r: tuple[Any, ...]) -> RunFileVersion:
    return RunFileVersion(r[0], r[1], r[2], r[3], r[4], r[5], r[6])


def _line_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) + 1  # and its newline


async def apply_console(conn: Conn, pk: int, lines: Sequence[ConsoleLine],
                        part_bytes: int) -> None:
    """Write console lines of run ``pk`` (inside the caller's transaction): a known line is
    replaced in its part; a new line goes into the last part, or starts a new one when the
    last is full."""
    last = await row(conn, "SELECT part, bytes FROM console_parts WHERE run = %s"
                     " ORDER BY part DESC LIMIT 1", (pk,))
    part, used = (int(last[0]), int(last[1])) if last is not None else (0, 0)
    # The lines of this round already stored (a replay, or a line rewritten by \r).
    known: dict[tuple[str, int, int], list[Any]] = {
        (w, s, ln): [p, text] for w, s, ln, p, text in await rows(
            conn, "SELECT c.writer, c.stream, c.line, c.part, c.text FROM console_lines c"
            " JOIN unnest(%s::text[], %s::bigint[], %s::bigint[]) AS k(writer, stream, line)"
            " ON c.writer = k.writer AND c.stream = k.stream AND c.line = k.line"
            " WHERE c.run = %s",
            ([ln.writer for ln in lines], [ln.stream for ln in lines],
             [ln.line for ln in lines], pk))}
    inserts: dict[tuple[str, int, int], list[Any]] = {}
    updates: dict[tuple[str, int, int], str] = {}
    sizes: dict[int, list[int]] = {}  # part -> [bytes delta, lines delta]
    for ln in lines:
        key = (ln.writer, ln.stream, ln.line)
        size = _line_bytes(ln.text)
        old = known.get(key)
        if old is not None:
            if old[1] == ln.text:
                continue
            sizes.setdefault(old[0], [0, 0])[0] += size - _line_bytes(old[1])
            if old[0] == part:
                used += size - _line_bytes(old[1])
            old[1] = ln.text
            if key in inserts:
                inserts[key][6] = ln.text
            else:
                updates[key] = ln.text
            continue
        if used and used + size > part_bytes:
            part, used = part + 1, 0
        inserts[key] = [pk, ln.writer, ln.stream, ln.line, part, ln.timestamp, ln.text]
        known[key] = [part, ln.text]
        delta = sizes.setdefault(part, [0, 0])
        delta[0] += size
        delta[1] += 1
        used += size
    await many(conn, "UPDATE console_lines SET text = %s WHERE run = %s AND writer = %s"
               " AND stream = %s AND line = %s",
               [(text, pk, w, s, ln) for (w, s, ln), text in updates.items()])
    await many(conn, "INSERT INTO console_lines(run, writer, stream, line, part, ts, text)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s)", list(inserts.values()))
    await many(conn, "INSERT INTO console_parts(run, part, bytes, lines) VALUES (%s, %s, %s, %s)"
               " ON CONFLICT (run, part) DO UPDATE SET bytes = console_parts.bytes"
               " + excluded.bytes, lines = console_parts.lines + excluded.lines",
               [(pk, p, nbytes, nlines) for p, (nbytes, nlines) in sorted(sizes.items())])


class PgRunData:
    """Run files, console log and system metrics (mixed into ``PostgresStore``)."""

    _write: Any
    _read: Any
    console_part_bytes: int = CONSOLE_PART_BYTES

    # -- files ---------------------------------------------------------------------------------

    async def add_run_file(self, pk: int, name: str, blob: BlobRecord, reason: str,
                           stored_at: float, skip_same: bool = False) -> RunFileVersion | None:
        async def add(conn: Conn) -> RunFileVersion | None:
            last = await row(conn, "SELECT version, blob_key FROM run_files WHERE run = %s AND"
                             " name = %s ORDER BY version DESC LIMIT 1", (pk, name))
            if skip_same and last is not None and last[1] == blob.key:
                return None
            version = (int(last[0]) if last is not None else 0) + 1
            await run(conn, "INSERT INTO blobs(blob_key, md5, size, created_at)"
                      " VALUES (%s, %s, %s, %s) ON CONFLICT (blob_key) DO NOTHING",
                      (blob.key, blob.md5, blob.size, time.time()))
            # Two daemons adding a version at once: the key (run, name, version) refuses
            # the second, whose transaction is retried and takes the next number.
            await run(conn, f"INSERT INTO run_files(run, {_VERSION_COLUMNS})"
                      " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                      (pk, name, version, blob.key, blob.md5, blob.size, stored_at, reason))
            return RunFileVersion(name, version, blob.key, blob.md5, blob.size, stored_at,
                                  reason)

        return await self._write(add)  # type: ignore[no-any-return]

    async def list_run_files(self, pk: int, names: Sequence[str] = (),
                             versions: bool = False) -> list[RunFileInfo]:
        wanted = set(names)
        found = await self._read(lambda c: rows(
            c, f"SELECT {_VERSION_COLUMNS} FROM run_files WHERE run = %s ORDER BY name, version",
            (pk,)))
        by_name: dict[str, list[RunFileVersion]] = {}
        for r in found:
            if not wanted or r[0] in wanted:
                by_name.setdefault(r[0], []).append(_version(r))
        return [RunFileInfo(vs[-1], len(vs), vs if versions else []) for vs in by_name.values()]

    async def get_run_file(self, pk: int, name: str, version: int = 0) -> RunFileVersion | None:
        if version > 0:
            sql, args = "AND version = %s", (pk, name, version)
        else:
            sql, args = "ORDER BY version DESC LIMIT 1", (pk, name)  # type: ignore[assignment]
        found = await self._read(lambda c: row(
            c, f"SELECT {_VERSION_COLUMNS} FROM run_files WHERE run = %s AND name = %s {sql}",
            args))
        return None if found is None else _version(found)

    async def delete_run_files(self, pk: int, names: Sequence[str]) -> int:
        async def delete(conn: Conn) -> int:
            wanted = list(dict.fromkeys(names))
            gone = await run(conn, "DELETE FROM run_files WHERE run = %s AND name = ANY(%s)",
                             (pk, wanted))
            await run(conn, "DELETE FROM run_file_specs WHERE run = %s AND name = ANY(%s)",
                      (pk, wanted))
            return gone

        return await self._write(delete)  # type: ignore[no-any-return]

    async def put_file_specs(self, pk: int, specs: Sequence[FileSpec]) -> None:
        last = {s.name: s for s in specs}  # a name given twice: the later one
        await self._write(lambda c: many(
            c, "INSERT INTO run_file_specs(run, name, path, policy, uid, gid)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run, name) DO UPDATE SET"
            " path = excluded.path, policy = excluded.policy, uid = excluded.uid,"
            " gid = excluded.gid",
            [(pk, s.name, s.path, s.policy, s.uid, s.gid) for s in last.values()]))

    async def file_specs(self, pk: int) -> list[FileSpec]:
        found = await self._read(lambda c: rows(
            c, "SELECT name, path, policy, uid, gid FROM run_file_specs WHERE run = %s"
            " ORDER BY name", (pk,)))
        return [FileSpec(*r) for r in found]

    # -- console -------------------------------------------------------------------------------

    async def console_parts(self, pk: int) -> list[ConsolePart]:
        found = await self._read(lambda c: rows(
            c, "SELECT part, bytes, lines FROM console_parts WHERE run = %s ORDER BY part",
            (pk,)))
        return [ConsolePart(*r) for r in found]

    async def read_console(self, pk: int, offset: int, limit: int,
                           part: int | None = None) -> list[ConsoleLine]:
        where, args = ("AND part = %s", [pk, part]) if part is not None else ("", [pk])
        found = await self._read(lambda c: rows(
            c, f"SELECT stream, line, ts, text, writer FROM console_lines WHERE run = %s {where}"
            f" {_CONSOLE_ORDER} LIMIT %s OFFSET %s", [*args, limit, offset]))
        return [ConsoleLine(*r) for r in found]

    # -- system metrics ------------------------------------------------------------------------

    async def put_sampler(self, pk: int, spec: SamplerSpec) -> None:
        await self._write(lambda c: run(
            c, "INSERT INTO run_samplers(run, writer, pid, interval, uid, trusted)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run, writer) DO UPDATE SET"
            " pid = excluded.pid, interval = excluded.interval, uid = excluded.uid,"
            " trusted = excluded.trusted",
            (pk, spec.writer, spec.pid, spec.interval, spec.uid, int(spec.trusted))))

    async def samplers(self, pk: int) -> list[SamplerSpec]:
        found = await self._read(lambda c: rows(
            c, "SELECT writer, pid, interval, uid, trusted FROM run_samplers WHERE run = %s"
            " ORDER BY writer", (pk,)))
        return [SamplerSpec(w, pid, interval, uid, bool(t)) for w, pid, interval, uid, t in found]

    async def append_system_metrics(self, samples: Sequence[SystemSample]) -> None:
        if not samples:
            return
        # A sample taken just before its run was deleted is dropped.
        await self._write(lambda c: many(
            c, "INSERT INTO system_metrics(run, writer, ts, row) SELECT %s, %s, %s, %s"
            " WHERE EXISTS (SELECT 1 FROM runs WHERE id = %s)"
            " ON CONFLICT (run, ts, writer) DO NOTHING",
            [(s.pk, s.writer, s.timestamp, msgpack.packb(s.values, use_bin_type=True), s.pk)
             for s in samples]))

    async def scan_system_metrics(self, pk: int, offset: int, limit: int) -> list[SystemSample]:
        found = await self._read(lambda c: rows(
            c, "SELECT writer, ts, row FROM system_metrics WHERE run = %s ORDER BY ts, writer"
            " LIMIT %s OFFSET %s", (pk, limit, offset), binary=True))
        return [SystemSample(pk, w, ts, msgpack.unpackb(r, raw=False)) for w, ts, r in found]

    async def count_system_metrics(self, pk: int) -> int:
        found = await self._read(lambda c: row(
            c, "SELECT COUNT(*) FROM system_metrics WHERE run = %s", (pk,)))
        return int(found[0])

    async def _system_columns(self, pk: int
                              ) -> tuple[float, dict[str, tuple[list[float], list[float]]]]:
        """(run start, chart key -> (timestamps, values)) of every sample."""
        async def read(conn: Conn) -> tuple[Any, list[tuple[Any, ...]]]:
            start = await row(conn, "SELECT start_time, created_at FROM runs WHERE id = %s",
                              (pk,))
            return start, await rows(conn, "SELECT writer, ts, row FROM system_metrics"
                                     " WHERE run = %s ORDER BY ts", (pk,), binary=True)

        start, samples = await self._read(read)
        base = (start[0] or start[1]) if start is not None else 0.0

        def columns() -> dict[str, tuple[list[float], list[float]]]:
            cols: dict[str, tuple[list[float], list[float]]] = {}
            for writer, ts, blob in samples:
                for k, v in msgpack.unpackb(blob, raw=False).items():
                    if type(v) not in (int, float):
                        continue
                    key = f"{k}@{writer}" if writer else k
                    xs, ys = cols.setdefault(key, ([], []))
                    xs.append(ts)
                    ys.append(float(v))
            return cols

        return base, await anyio.to_thread.run_sync(columns)

    async def system_metric_keys(self, pk: int) -> dict[str, int]:
        _, cols = await self._system_columns(pk)
        return {k: len(xs) for k, (xs, _) in sorted(cols.items())}

    async def system_series(self, pk: int, keys: Sequence[str], x_key: str,
                            x_min: float | None, x_max: float | None,
                            buckets: int) -> dict[str, Series]:
        check_buckets(buckets)
        base, cols = await self._system_columns(pk)

        def series() -> dict[str, Series]:  # numpy: a worker thread
            import numpy as np  # loaded for charts (see trackd_daemon.store.series)

            out: dict[str, Series] = {}
            for key in dict.fromkeys(keys):
                xs, ys = cols.get(key, ([], []))
                x = np.asarray(xs, dtype=np.float64)
                if x_key != "_timestamp":
                    x = x - base
                out[key] = bucketize(key, x, np.asarray(ys, dtype=np.float64), x_min, x_max,
                                     buckets)
            return out

        return await anyio.to_thread.run_sync(series)
