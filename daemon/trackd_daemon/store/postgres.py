"""The team store: PostgreSQL, shared by every machine's daemon (``postgresql://...``).

Driver: psycopg 3 with psycopg_pool's ``AsyncConnectionPool``. It is asyncio-native (nothing
blocks the event loop, no worker threads) and built on libpq, so every connection setting a
team already uses with ``psql`` works unchanged: URL parameters, ``PG*`` environment variables,
service and password files, ``sslmode``/``sslrootcert``, several hosts. It has binary COPY,
which batch ingestion uses, and its pool checks a connection before lending it, so a restarted
server costs no failed write. asyncpg is faster per row in micro-benchmarks, but it
reimplements the protocol (libpq's service files and several of its parameters do not apply),
and for ingestion COPY's cost per row matters more than the driver's.

Each write is one transaction on a pooled connection. What two daemons could race on is made
safe by the database: a run is created under its project's row lock (so run ids and generated
names are unique), an artifact version is numbered under its collection's row lock (and a
unique index on the numbers backs it), and get-or-create rows use ``ON CONFLICT``. A
transaction that loses a race anyway (serialization failure, deadlock, a unique key taken
meanwhile) is retried with backoff.

History rows are MessagePack (BYTEA), stored a round at a time: a run's large round by binary
COPY, a small one by one multi-row INSERT (``unnest`` of arrays) that also updates the run's row
(psycopg's pipeline mode was measured too: slower here than plain statements). Charts come from
a per-daemon series index (``postgres_series.py``), a cache any daemon rebuilds from the
history, kept across restarts in the daemon's cache directory, named by the database's id. Other
tables, and their meaning, are those of the SQLite store (``postgres_schema.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from trackd_daemon.errors import (
    FailedPreconditionError,
    RunAlreadyExistsError,
    RunNotFoundError,
    StoreUnavailableError,
)
from trackd_daemon.store.models import (
    RUNNING,
    AlertInfo,
    NewRun,
    RunChanges,
    RunCursor,
    RunInfo,
    RunKey,
)
from trackd_daemon.store.names import generate_name
from trackd_daemon.store.postgres_artifact_changes import PgArtifactChanges
from trackd_daemon.store.postgres_artifacts import PgArtifactLog
from trackd_daemon.store.postgres_blobs import PgBlobs
from trackd_daemon.store.postgres_run_data import PgRunData, apply_console
from trackd_daemon.store.postgres_run_edits import PgRunEdits
from trackd_daemon.store.postgres_schema import migrate
from trackd_daemon.store.postgres_series import PgSeriesCache
from trackd_daemon.store.postgres_sql import Conn, project_clauses, row, rows, run
from trackd_daemon.store.postgres_sweeps import PgSweeps
from trackd_daemon.store.postgres_workspace import PgWorkspace
from trackd_daemon.store.row_codec import stored_row, unpack_plain
from trackd_daemon.store.series import STEP, Series, check_buckets
from trackd_daemon.store.shared_runs import SharedState, settle
from trackd_daemon.store.urls import display_url

T = TypeVar("T")

#: Connections per daemon: ingestion, a few API and dashboard reads, and the artifact actors
#: at once; a team of dozens of daemons stays well below PostgreSQL's default 100.
POOL_MAX = 8
#: Seconds to wait for the database when the store is opened.
OPEN_TIMEOUT = 30.0
#: Seconds a call waits for a connection (all in use, or the database unreachable) before it
#: fails with StoreUnavailableError.
WAIT_TIMEOUT = 30.0
#: Attempts of a transaction that lost a race (see the module doc) before its error is raised.
RETRIES = 8
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected,
              pg_errors.UniqueViolation)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Rows in a round (of the runs not rewound) from which they are stored by one COPY rather
#: than by each run's INSERT that updates the run's row too (measured: COPY costs more round
#: trips, and from about 50 rows of 10 floats its lower cost per row wins; at 2,000 rows it is
#: 4-5 times faster).
COPY_MIN_ROWS = 50
#: Rows from which MessagePack encoding or decoding moves to a worker thread (~1 ms of work).
OFF_LOOP_ROWS = 256

_RUN_COLUMNS = (
    "r.id, p.entity, p.name, r.run_id, r.name, r.notes, r.tags, r.group_name, r.job_type, r.state,"
    " r.exit_code, r.created_at, r.updated_at, r.finished_at, r.config, r.summary, r.metrics,"
    " r.history_rows, r.last_step, r.host, r.program, r.start_time, r.sweep_id, r.request_id,"
    " r.ingested_seq, r.fork_run_id, r.fork_step, r.writer_seqs, r.owner_uid, r.crash_grace,"
    " r.http_proxy, r.https_proxy, r.shared, r.owner_name"
)
_RUN_SELECT = f"SELECT {_RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id"

_dumps = json.dumps
_loads = json.loads


@contextlib.contextmanager
def _unavailable_as_error(url: str) -> Iterator[None]:
    """Raise a lost or refused connection as :class:`StoreUnavailableError` (a transaction that
    lost a race, also an OperationalError for psycopg, is raised as it is)."""
    try:
        yield
    except PoolTimeout:
        raise StoreUnavailableError(f"the PostgreSQL store {display_url(url)} cannot be "
                                    f"reached (no connection within {WAIT_TIMEOUT:.0f} s)"
                                    ) from None
    except pg_errors.OperationalError as exc:
        if isinstance(exc, pg_errors.TransactionRollback | pg_errors.DeadlockDetected
                      | pg_errors.QueryCanceled):
            raise
        raise StoreUnavailableError(f"the PostgreSQL store {display_url(url)} cannot be "
                                    f"reached: {str(exc).strip()}") from exc


async def _copy_rows(conn: Conn, runs: list[tuple[int, list[tuple[int, bytes]]]]) -> bool:
    """Store runs' rows, (pk, [(step, row)]) each, by one COPY (binary), several times as fast
    as INSERTs for large rounds, in a savepoint: when a step is stored already (a replayed
    round) nothing is stored and False is returned, for the INSERTs that skip stored steps to
    do it."""
    try:
        async with conn.transaction():
            async with conn.cursor().copy(
                    "COPY history(run, step, row) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "bytea"])
                for pk, rows_ in runs:
                    for step, blob in rows_:
                        await copy.write_row((pk, step, blob))
    except pg_errors.UniqueViolation:
        return False
    return True


async def _off_loop(fn: Callable[[], T], rows_: int) -> T:
    """``fn()`` (encoding or decoding rows), in a worker thread when there are enough rows
    for it to hold the event loop up noticeably."""
    if rows_ < OFF_LOOP_ROWS:
        return fn()
    return await anyio.to_thread.run_sync(fn)


def _pack_rows(rows: list[tuple[int, dict[str, Any] | bytes]]) -> list[tuple[int, bytes]]:
    """``(step, packed row)`` for each row."""
    return [(step, stored_row(r)) for step, r in rows]


def _unpack_row(blob: bytes) -> dict[str, Any]:
    return unpack_plain(blob)  # type: ignore[no-any-return]


def _run_from_row(r: tuple[Any, ...]) -> RunInfo:
    return RunInfo(
        pk=r[0], key=RunKey(r[1], r[2], r[3]), name=r[4], notes=r[5], tags=_loads(r[6]),
        group=r[7], job_type=r[8], state=r[9], exit_code=r[10], created_at=r[11],
        updated_at=r[12], finished_at=r[13], config=_loads(r[14]), summary=_loads(r[15]),
        metrics=_loads(r[16]), history_rows=r[17], last_step=r[18], host=r[19], program=r[20],
        start_time=r[21], sweep_id=r[22], request_id=r[23], ingested_seq=r[24],
        fork_run_id=r[25], fork_step=r[26], writer_seqs=_loads(r[27]), owner_uid=r[28],
        crash_grace=r[29], http_proxy=r[30], https_proxy=r[31], shared=r[32],
        owner_name=r[33],
    )


class PostgresStore(PgArtifactLog, PgArtifactChanges, PgBlobs, PgRunData, PgRunEdits, PgSweeps,
                    PgWorkspace):
    """:class:`~trackd_daemon.store.base.MetadataStore` on a PostgreSQL database (artifacts,
    blob records, run data, run edits, sweeps and workspace views in the mixins' modules)."""

    def __init__(self, url: str, pool: AsyncConnectionPool[Conn], series_path: str,
                 temporary_dir: str | None) -> None:
        self.url = url
        self._pool = pool
        self._series = PgSeriesCache(series_path)
        self._temporary_dir = temporary_dir  # removed on close
        self._closed = False

    @classmethod
    async def open(cls, url: str, cache_dir: Path | None = None) -> PostgresStore:
        """Connect to the database named by ``url`` (a libpq URL) and migrate its schema.
        ``cache_dir``: where this daemon keeps its series index of the database across
        restarts (None: a temporary directory, removed on close).

        :raises FailedPreconditionError: the database cannot be reached within
            :data:`OPEN_TIMEOUT`, or its schema is newer than this daemon's.
        """
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url, min_size=1, max_size=POOL_MAX, open=False, name="trackd", timeout=WAIT_TIMEOUT,
            kwargs={"autocommit": True}, check=AsyncConnectionPool.check_connection)
        try:
            await pool.open(wait=True, timeout=OPEN_TIMEOUT)
        except PoolTimeout:
            await pool.close()
            raise FailedPreconditionError(
                f"cannot connect to the PostgreSQL store {display_url(url)} within "
                f"{OPEN_TIMEOUT:.0f} s") from None
        try:
            async with pool.connection() as conn:
                await migrate(conn)
                found = await row(conn, "SELECT id FROM trackd_database")
            database_id = str(found[0]) if found else "unknown"

            def cache_path() -> tuple[str, str | None]:
                if cache_dir is None:
                    tmp = tempfile.mkdtemp(prefix="trackd-pg-cache-")
                    return os.path.join(tmp, "series"), tmp
                cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                return str(cache_dir / f"postgresql-{database_id}"), None

            series_path, temporary = await anyio.to_thread.run_sync(cache_path)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool, series_path, temporary)

    # -- plumbing ------------------------------------------------------------------------------

    async def _write(self, fn: Callable[[Conn], Awaitable[T]], *, urgent: bool = False) -> T:
        """``fn(conn)`` in one transaction, committed when this returns; retried from the start
        when it lost a race with another daemon (``fn`` must be safe to run again). ``urgent``
        is accepted for the SQLite store's signature: every write has its own connection.

        :raises StoreUnavailableError: the database cannot be reached.
        """
        del urgent
        with _unavailable_as_error(self.url):
            for attempt in range(RETRIES):
                try:
                    async with self._pool.connection() as conn:
                        async with conn.transaction():
                            return await fn(conn)
                except _RETRYABLE:
                    if attempt == RETRIES - 1:
                        raise
                    await anyio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """``fn(conn)`` in a transaction of its own.

        :raises StoreUnavailableError: the database cannot be reached.
        """
        with _unavailable_as_error(self.url):
            async with self._pool.connection() as conn:
                async with conn.transaction():
                    return await fn(conn)

    # -- runs ----------------------------------------------------------------------------------

    async def create_run(self, new: NewRun) -> RunInfo:
        key = new.key

        async def create(conn: Conn) -> RunInfo:
            now = new.created_at or time.time()
            await conn.execute(
                "INSERT INTO projects(entity, name, created_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (entity, name) DO NOTHING", (key.entity, key.project, now))
            # The project's row lock: another daemon creating a run in this project waits here,
            # so ids and the generated names' counter are never given twice.
            project_id, count = await row(
                conn, "SELECT id, run_count FROM projects WHERE entity = %s AND name = %s"
                " FOR UPDATE", (key.entity, key.project))  # type: ignore[misc]
            existing = await row(conn, "SELECT id, request_id FROM runs WHERE project_id = %s"
                                 " AND run_id = %s", (project_id, key.run_id))
            if existing is not None:
                if new.request_id and existing[1] == new.request_id:
                    return await self._load_run(conn, int(existing[0]))
                raise RunAlreadyExistsError(f"run {key} already exists", run=str(key))
            count += 1
            await run(conn, "UPDATE projects SET run_count = %s WHERE id = %s",
                      (count, project_id))
            (pk,) = await row(
                conn,
                "INSERT INTO runs(project_id, run_id, name, notes, tags, group_name, job_type,"
                " state, created_at, updated_at, config, host, program, start_time, sweep_id,"
                " request_id, fork_run_id, fork_step, owner_uid, crash_grace, http_proxy,"
                " https_proxy, shared, owner_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (project_id, key.run_id, new.name or generate_name(count), new.notes,
                 _dumps(new.tags), new.group, new.job_type, RUNNING, now, now,
                 _dumps(new.config), new.host, new.program, new.start_time, new.sweep_id,
                 new.request_id, new.fork_run_id, new.fork_step, new.owner_uid,
                 new.crash_grace, new.http_proxy, new.https_proxy, new.shared,
                 new.owner_name))  # type: ignore[misc]
            return await self._load_run(conn, int(pk))

        return await self._write(create)

    @staticmethod
    async def _load_run(conn: Conn, pk: int) -> RunInfo:
        found = await row(conn, f"{_RUN_SELECT} WHERE r.id = %s", (pk,))
        assert found is not None
        return _run_from_row(found)

    async def get_run(self, key: RunKey) -> RunInfo:
        found = await self._read(lambda c: row(
            c, f"{_RUN_SELECT} WHERE p.entity = %s AND p.name = %s AND r.run_id = %s",
            (key.entity, key.project, key.run_id)))
        if found is None:
            raise RunNotFoundError(f"run {key} not found", run=str(key))
        return _run_from_row(found)

    async def list_runs(self, entity: str = "", project: str = "") -> list[RunInfo]:
        clauses, args = project_clauses(entity, project)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        found = await self._read(lambda c: rows(
            c, f"{_RUN_SELECT}{where} ORDER BY r.created_at DESC, r.id DESC", args))
        return [_run_from_row(r) for r in found]

    async def list_runs_page(
        self, entity: str, project: str, after: RunCursor | None, limit: int, max_bytes: int,
    ) -> tuple[list[RunInfo], RunCursor | None]:
        clauses, args = project_clauses(entity, project)
        if after is not None:
            clauses.append("(r.created_at, r.id) < (%s, %s)")
            args += [after.created_at, after.pk]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_RUN_SELECT}{where} ORDER BY r.created_at DESC, r.id DESC LIMIT %s"

        async def page(conn: Conn) -> tuple[list[RunInfo], bool]:
            runs: list[RunInfo] = []
            size = 0
            # A server-side cursor, read a few runs at a time: stops at the byte budget
            # without the client holding the rest of the page.
            async with conn.cursor(name="runs_page") as cur:
                await cur.execute(sql, [*args, limit])
                while batch := await cur.fetchmany(16):
                    for r in batch:
                        runs.append(_run_from_row(r))
                        size += sum(len(v) for v in r if type(v) is str)
                        if size >= max_bytes:
                            return runs, True
            return runs, len(runs) == limit

        runs, more = await self._read(page)
        last = runs[-1] if runs and more else None
        return runs, RunCursor(last.created_at, last.pk) if last else None

    async def list_runs_in_state(self, state: str) -> list[RunInfo]:
        found = await self._read(lambda c: rows(
            c, f"{_RUN_SELECT} WHERE r.state = %s ORDER BY r.id", (state,)))
        return [_run_from_row(r) for r in found]

    # -- ingest --------------------------------------------------------------------------------

    async def apply(self, changes: list[RunChanges]) -> None:
        if not changes:
            return
        # A shared run's rows are packed once the store has given them their steps.
        packed = await _off_loop(
            lambda: [[] if ch.shared is not None else _pack_rows(ch.rows)
                     for ch in changes],
            sum(len(ch.rows) for ch in changes))

        # The rows of the round's runs (those not rewound) go in by one COPY when there are
        # COPY_MIN_ROWS of them or more; then each run's other changes (with its rows, when
        # they were not copied) in one statement or a few.
        copy = [i for i, ch in enumerate(changes) if packed[i] and ch.rewind_after is None]
        if sum(len(packed[i]) for i in copy) < COPY_MIN_ROWS:
            copy = []

        async def apply(conn: Conn) -> None:
            copied: dict[int, tuple[int, int]] = {}
            if copy and await _copy_rows(conn, [(changes[i].pk, packed[i]) for i in copy]):
                copied = {i: (len(packed[i]), max(step for step, _ in packed[i])) for i in copy}
            # In the order of the runs' ids: two daemons' rounds lock shared runs' rows alike.
            for i in sorted(range(len(changes)), key=lambda i: changes[i].pk):
                await self._apply_one(conn, changes[i], [] if i in copied else packed[i],
                                      copied.get(i))

        await self._write(apply)

    async def _apply_one(self, conn: Conn, ch: RunChanges, ch_rows: list[tuple[int, bytes]],
                         copied: tuple[int, int] | None) -> None:
        """Apply one run's changes; ``copied``: (rows, last step) of its rows stored by COPY
        already (``ch_rows`` then empty)."""
        if ch.shared is not None:
            found = await row(conn, "SELECT last_step, ingested_seq, writer_seqs, summary, config,"
                              " metrics FROM runs WHERE id = %s FOR UPDATE", (ch.pk,))
            if found is None:
                return  # deleted meanwhile
            settled = settle(ch, ch.shared, SharedState(
                found[0], found[1], _loads(found[2]), _loads(found[3]), _loads(found[4]),
                _loads(found[5])))
            if settled is None:
                return  # stored already (see store/shared_runs.py)
            ch = settled
            ch_rows = await _off_loop(lambda: _pack_rows(settled.rows),
                                      len(settled.rows))
        rewound = ch.rewind_after is not None
        if rewound:
            await run(conn, "INSERT INTO rewound_history(run, step, row) SELECT run, step, row"
                      " FROM history WHERE run = %s AND step > %s ON CONFLICT (run, step)"
                      " DO UPDATE SET row = excluded.row", (ch.pk, ch.rewind_after))
            await run(conn, "DELETE FROM history WHERE run = %s AND step > %s",
                      (ch.pk, ch.rewind_after))
        if ch.purge_rewound:
            await run(conn, "DELETE FROM rewound_history WHERE run = %s", (ch.pk,))
        if ch.alerts:
            await run(
                conn, "INSERT INTO alerts(run, seq, title, text, level, timestamp, wait_ms,"
                " suppressed) SELECT %s, * FROM unnest(%s::bigint[], %s::text[], %s::text[],"
                " %s::text[], %s::float8[], %s::bigint[], %s::smallint[])"
                " ON CONFLICT (run, seq) DO NOTHING",
                (ch.pk, [a.seq for a in ch.alerts], [a.title for a in ch.alerts],
                 [a.text for a in ch.alerts], [a.level for a in ch.alerts],
                 [a.timestamp for a in ch.alerts], [a.wait_ms for a in ch.alerts],
                 [int(a.suppressed) for a in ch.alerts]))
        if ch.console:
            await apply_console(conn, ch.pk, ch.console, self.console_part_bytes)
        prefix = ""
        sets = ["ingested_seq = GREATEST(ingested_seq, %s)", "updated_at = %s"]
        args: list[Any] = [ch.ingested_seq, ch.updated_at or time.time()]
        if ch_rows:
            # The round's rows as two arrays in one statement with the run's update: a step
            # stored already keeps its row (a replayed round inserts nothing, counts nothing).
            prefix = ("WITH ins AS (INSERT INTO history(run, step, row) SELECT %s, s, r"
                      " FROM unnest(%s::bigint[], %s::bytea[]) AS t(s, r)"
                      " ON CONFLICT (run, step) DO NOTHING RETURNING 1) ")
            args = [ch.pk, [s for s, _ in ch_rows], [b for _, b in ch_rows], *args]
        if rewound:  # counted from the rows (the statement sees them as they were before it)
            sets.append("history_rows = (SELECT COUNT(*) FROM history WHERE run = %s)"
                        " + (SELECT COUNT(*) FROM ins)" if ch_rows else
                        "history_rows = (SELECT COUNT(*) FROM history WHERE run = %s)")
            sets.append("last_step = GREATEST((SELECT COALESCE(MAX(step), -1) FROM history"
                        " WHERE run = %s), %s)")
            args += [ch.pk, ch.pk, max((s for s, _ in ch_rows), default=-1)]
        elif ch_rows:
            sets.append("history_rows = history_rows + (SELECT COUNT(*) FROM ins)")
            sets.append("last_step = GREATEST(last_step, %s)")
            args.append(max(step for step, _ in ch_rows))
        elif copied is not None:
            sets.append("history_rows = history_rows + %s")
            sets.append("last_step = GREATEST(last_step, %s)")
            args += list(copied)
        for column, value in (("summary", ch.summary), ("config", ch.config),
                              ("metrics", ch.metrics), ("tags", ch.tags)):
            if value is not None:
                sets.append(f"{column} = %s")
                args.append(_dumps(value))
        for column, value in (
            ("name", ch.name), ("notes", ch.notes), ("group_name", ch.group),
            ("job_type", ch.job_type), ("state", ch.state), ("exit_code", ch.exit_code),
            ("finished_at", ch.finished_at), ("crash_grace", ch.crash_grace),
            ("http_proxy", ch.http_proxy), ("https_proxy", ch.https_proxy),
        ):
            if value is not None:
                sets.append(f"{column} = %s")
                args.append(value)
        if ch.shared is not None:
            sets.append("shared = true")
        if ch.writer_seqs:
            stored = await row(conn, "SELECT writer_seqs FROM runs WHERE id = %s FOR UPDATE",
                               (ch.pk,))
            seqs = _loads(stored[0]) if stored is not None else {}
            for w, seq in ch.writer_seqs.items():
                seqs[w] = max(seqs.get(w, 0), seq)
            sets.append("writer_seqs = %s")
            args.append(_dumps(seqs))
        args.append(ch.pk)
        await run(conn, f"{prefix}UPDATE runs SET {', '.join(sets)} WHERE id = %s", args)

    async def scan_history(
        self, pk: int, min_step: int | None, max_step: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        sql = "SELECT step, row FROM history WHERE run = %s AND step >= %s"
        args: list[int] = [pk, INT64_MIN if min_step is None else min_step]
        if max_step is not None:
            sql += " AND step < %s"
            args.append(max_step)
        found = await self._read(lambda c: rows(c, f"{sql} ORDER BY step LIMIT %s",
                                                 (*args, limit), binary=True))
        return await _off_loop(lambda: [(step, _unpack_row(blob)) for step, blob in found],
                               len(found))

    async def sample_history(
        self, pk: int, n: int, min_step: int | None = None, max_step: int | None = None,
        keys: Sequence[str] = (),
    ) -> list[tuple[int, bytes]]:
        lo = INT64_MIN if min_step is None else min_step
        hi = INT64_MAX if max_step is None else max_step
        bound = "step >= %s AND " + ("step <= %s" if max_step is None else "step < %s")

        async def sample(conn: Conn) -> list[tuple[int, bytes]]:
            if keys:  # only rows holding every key count (each row is read to know)
                # A row whose bytes lack a key's UTF-8 name cannot hold it: the server rules
                # most rows out (they are not sent), the rest are unpacked to be sure.
                names = [k.encode() for k in keys]
                has = " AND ".join(["position(%s::bytea in row) > 0"] * len(names))
                every = await rows(conn, f"SELECT step, row FROM history WHERE run = %s AND"
                                   f" {bound} AND {has} ORDER BY step", (pk, lo, hi, *names),
                                   binary=True)
                steps = await _off_loop(lambda: [
                    st for st, blob in every if all(k in _unpack_row(blob) for k in keys)],
                    len(every))
            else:
                steps = [r[0] for r in await rows(
                    conn, f"SELECT step FROM history WHERE run = %s AND {bound} ORDER BY step",
                    (pk, lo, hi))]
            if len(steps) > n:
                last = len(steps) - 1
                steps = sorted({steps[(i * last) // (n - 1)] for i in range(n)})
            return await rows(conn, "SELECT step, row FROM history WHERE run = %s AND"
                              " step = ANY(%s::bigint[]) ORDER BY step", (pk, steps),
                              binary=True)

        return await self._read(sample)

    # -- charts: the per-daemon series index follows the history --------------------------------

    async def history_keys(self, pk: int) -> dict[str, int]:
        with _unavailable_as_error(self.url):
            await self._series.catch_up(pk, self._pool)
        return await self._series.keys(pk)

    async def downsample_history(
        self, pk: int, keys: Sequence[str], x_key: str = STEP, x_min: float | None = None,
        x_max: float | None = None, buckets: int = 1000,
    ) -> dict[str, Series]:
        check_buckets(buckets)
        with _unavailable_as_error(self.url):
            await self._series.catch_up(pk, self._pool)
        return await self._series.downsample(pk, keys, x_key, x_min, x_max, buckets)

    # -- alerts --------------------------------------------------------------------------------

    _ALERT_SELECT = (
        "SELECT a.id, p.entity, p.name, r.run_id, r.name, a.title, a.text, a.level, a.timestamp,"
        " a.suppressed, a.delivered_at, r.http_proxy, r.https_proxy"
        " FROM alerts a JOIN runs r ON r.id = a.run"
        " JOIN projects p ON p.id = r.project_id"
    )

    @staticmethod
    def _alert(r: tuple[Any, ...]) -> AlertInfo:
        return AlertInfo(id=r[0], run=RunKey(r[1], r[2], r[3]), run_name=r[4], title=r[5],
                         text=r[6], level=r[7], timestamp=r[8], suppressed=bool(r[9]),
                         delivered_at=r[10], http_proxy=r[11], https_proxy=r[12])

    async def list_alerts(
        self, entity: str = "", project: str = "", run_id: str = "", limit: int = 100
    ) -> list[AlertInfo]:
        clauses, args = [], []
        for column, value in (("p.entity", entity), ("p.name", project), ("r.run_id", run_id)):
            if value:
                clauses.append(f"{column} = %s")
                args.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        found = await self._read(lambda c: rows(
            c, f"{self._ALERT_SELECT}{where} ORDER BY a.timestamp DESC, a.id DESC LIMIT %s",
            [*args, limit]))
        return [self._alert(r) for r in found]

    async def pending_alerts(self) -> list[AlertInfo]:
        found = await self._read(lambda c: rows(
            c, f"{self._ALERT_SELECT} WHERE a.delivered_at = 0 AND a.suppressed = 0"
            " ORDER BY a.id"))
        return [self._alert(r) for r in found]

    async def mark_alert_delivered(self, alert_id: int, at: float) -> None:
        await self._write(lambda c: run(c, "UPDATE alerts SET delivered_at = %s WHERE id = %s",
                                        (at, alert_id)))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pool.close()
        await self._series.close()
        if self._temporary_dir is not None:
            tmp = self._temporary_dir
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(tmp, ignore_errors=True))


__all__ = ["PostgresStore"]
