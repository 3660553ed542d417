"""The embedded store: SQLite in WAL mode.

One write connection, used by one worker thread at a time (a capacity limiter of 1), so writes
are serialised without blocking the event loop; writes queued while another runs are committed
together, one SAVEPOINT each (``group_commit.py``); reads use a small pool of read connections in
worker threads. History rows are MessagePack blobs; run metadata, config and summary are JSON
text (NaN and infinities as the ``NaN``/``Infinity`` tokens Python's json module reads back).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import anyio
import anyio.to_thread

from trackd_daemon.errors import RunAlreadyExistsError, RunNotFoundError
from trackd_daemon.store.group_commit import GroupCommit
from trackd_daemon.store.models import (
    RUNNING,
    NewRun,
    RunChanges,
    RunCursor,
    RunInfo,
    RunKey,
)
from trackd_daemon.store.names import generate_name
from trackd_daemon.store.row_codec import stored_row, unpack_plain
from trackd_daemon.store.series import STEP, Series, check_buckets, downsample
from trackd_daemon.store.series_index import SeriesIndex
from trackd_daemon.store.shared_runs import SharedState, settle
from trackd_daemon.store.sqlite_alerts import SqliteAlerts
from trackd_daemon.store.sqlite_artifact_changes import SqliteArtifactChanges
from trackd_daemon.store.sqlite_artifacts import SqliteArtifactLog
from trackd_daemon.store.sqlite_blobs import SqliteBlobs
from trackd_daemon.store.sqlite_checkpoint import WRITER_AUTOCHECKPOINT, Checkpointer
from trackd_daemon.store.sqlite_insert import insert_many
from trackd_daemon.store.sqlite_run_data import SqliteRunData, apply_console
from trackd_daemon.store.sqlite_run_edits import SqliteRunEdits
from trackd_daemon.store.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from trackd_daemon.store.sqlite_sweeps import SqliteSweeps, project_clauses
from trackd_daemon.store.sqlite_workspace import SqliteWorkspace

T = TypeVar("T")

#: Read connections: enough for the CLI, the API and a dashboard to read while ingest writes.
READ_POOL_SIZE = 4

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
_first, _second = itemgetter(0), itemgetter(1)


# History rows are MessagePack: binary float64 (NaN and infinities exact), 64-bit integers,
# and several times faster than JSON for the wide rows metrics produce.
def _history_columns(rows: list[tuple[int, dict[str, Any] | bytearray]]
                     ) -> tuple[list[int], list[bytes | bytearray]]:
    """The steps of ``(step, row)`` rows and their stored encodings, in two lists (most rows
    are stored encodings already: the daemon's rows that stay packed, bytearrays)."""
    steps = list(map(_first, rows))
    blobs = [row if type(row) is bytearray else stored_row(row) for row in map(_second, rows)]
    return steps, blobs


def _unpack_row(blob: bytes) -> dict[str, Any]:
    return unpack_plain(blob)  # type: ignore[no-any-return]


def _every_step(c: sqlite3.Connection, pk: int, lo: int, hi: int) -> range | None:
    """The steps from ``lo`` to ``hi`` (inclusive) that the run has, when it has every step
    from 0 to its last (most runs: then its row count is its last step + 1), without reading
    its rows; None when it may have gaps."""
    found = c.execute("SELECT history_rows, last_step FROM runs WHERE id = ?", (pk,)).fetchone()
    if found is None or found[0] != found[1] + 1:
        return None
    return range(max(lo, 0), min(hi, found[1]) + 1)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _run_from_row(r: tuple[Any, ...]) -> RunInfo:
    return RunInfo(
        pk=r[0], key=RunKey(r[1], r[2], r[3]), name=r[4], notes=r[5], tags=_loads(r[6]),
        group=r[7], job_type=r[8], state=r[9], exit_code=r[10], created_at=r[11],
        updated_at=r[12], finished_at=r[13], config=_loads(r[14]), summary=_loads(r[15]),
        metrics=_loads(r[16]), history_rows=r[17], last_step=r[18], host=r[19], program=r[20],
        start_time=r[21], sweep_id=r[22], request_id=r[23], ingested_seq=r[24],
        fork_run_id=r[25], fork_step=r[26], writer_seqs=_loads(r[27]), owner_uid=r[28],
        crash_grace=r[29], http_proxy=r[30], https_proxy=r[31], shared=bool(r[32]),
        owner_name=r[33],
    )


def _shared_state(conn: sqlite3.Connection, pk: int) -> SharedState:
    """A shared run's stored state, read in the write transaction (the only writer)."""
    last_step, seq, seqs, summary, config, metrics = conn.execute(
        "SELECT last_step, ingested_seq, writer_seqs, summary, config, metrics FROM runs"
        " WHERE id = ?", (pk,)).fetchone()
    return SharedState(last_step, seq, _loads(seqs), _loads(summary), _loads(config),
                       _loads(metrics))


class SqliteStore(SqliteAlerts, SqliteArtifactLog, SqliteArtifactChanges, SqliteBlobs,
                  SqliteRunData, SqliteRunEdits, SqliteSweeps, SqliteWorkspace):
    """:class:`~trackd_daemon.store.base.MetadataStore` on one SQLite file (artifacts, blob
    records and run data in the mixins' modules)."""

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self._path = path
        self._writer = _connect(path)
        # Checkpoints run beside the writes (see sqlite_checkpoint); this one is a backstop.
        self._writer.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT}")
        self._checkpoints = Checkpointer(path)
        self._write_limiter = anyio.CapacityLimiter(1)
        self._commits = GroupCommit(self._writer, path, self._write_limiter)
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for _ in range(READ_POOL_SIZE):
            self._readers.put(_connect(path))
        self._read_limiter = anyio.CapacityLimiter(READ_POOL_SIZE)
        self._closed = False
        self._series: SeriesIndex | None = None  # opened on first use
        self._series_lock = threading.Lock()

    @classmethod
    async def open(cls, url: str) -> SqliteStore:
        """Open (creating the file and schema when needed) the database named by ``url``."""
        parsed = urlparse(url)
        path = unquote(parsed.path)
        if parsed.netloc:  # sqlite://relative/path
            path = parsed.netloc + path
        elif path.startswith("//"):  # sqlite:////abs/path
            path = "/" + path.lstrip("/")
        if not path:
            raise ValueError(f"sqlite URL without a path: {url!r}")

        def _open() -> SqliteStore:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path)
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    fresh = conn.execute(
                        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0] == 0
                    for stmt in SCHEMA:
                        conn.execute(stmt)
                    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                    version = SCHEMA_VERSION if fresh or row[0] is None else row[0]
                    for target in sorted(v for v in MIGRATIONS if v > version):
                        for stmt in MIGRATIONS[target]:
                            if callable(stmt):
                                stmt(conn)
                            else:
                                conn.execute(stmt)
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            finally:
                conn.close()
            return cls(url, path)

        return await anyio.to_thread.run_sync(_open)

    # -- plumbing ------------------------------------------------------------------------------

    async def _write(self, fn: Callable[[sqlite3.Connection], T], *, urgent: bool = False) -> T:
        """``fn(conn)`` in a write transaction, committed when this returns; it may share the
        transaction with other writes (each in its own savepoint). ``urgent``: someone waits
        on it interactively; it goes before queued bulk writes.

        :raises ResourceExhaustedError: the disk is full.
        """
        result = await self._commits.write(fn, urgent=urgent)
        self._checkpoints.written()
        return result

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            conn = self._readers.get()
            try:
                return fn(conn)
            finally:
                self._readers.put(conn)

        return await anyio.to_thread.run_sync(run, limiter=self._read_limiter)

    # -- runs ----------------------------------------------------------------------------------

    async def create_run(self, new: NewRun) -> RunInfo:
        def create(conn: sqlite3.Connection) -> RunInfo:
            pk = insert(conn)
            # Read back on the write connection, in the same transaction: no second round trip.
            return _run_from_row(conn.execute(f"{_RUN_SELECT} WHERE r.id = ?", (pk,)).fetchone())

        def insert(conn: sqlite3.Connection) -> int:
            key = new.key
            now = new.created_at or time.time()
            conn.execute(
                "INSERT OR IGNORE INTO projects(entity, name, created_at) VALUES (?, ?, ?)",
                (key.entity, key.project, now),
            )
            project_id, count = conn.execute(
                "SELECT id, run_count FROM projects WHERE entity = ? AND name = ?",
                (key.entity, key.project),
            ).fetchone()
            existing = conn.execute(
                "SELECT id, request_id FROM runs WHERE project_id = ? AND run_id = ?",
                (project_id, key.run_id),
            ).fetchone()
            if existing is not None:
                if new.request_id and existing[1] == new.request_id:
                    return int(existing[0])
                raise RunAlreadyExistsError(f"run {key} already exists", run=str(key))
            count += 1
            conn.execute("UPDATE projects SET run_count = ? WHERE id = ?", (count, project_id))
            cur = conn.execute(
                "INSERT INTO runs(project_id, run_id, name, notes, tags, group_name, job_type,"
                " state, created_at, updated_at, config, host, program, start_time, sweep_id,"
                " request_id, fork_run_id, fork_step, owner_uid, crash_grace, http_proxy,"
                " https_proxy, shared, owner_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    project_id, key.run_id, new.name or generate_name(count), new.notes,
                    _dumps(new.tags), new.group, new.job_type, RUNNING, now, now,
                    _dumps(new.config), new.host, new.program, new.start_time, new.sweep_id,
                    new.request_id, new.fork_run_id, new.fork_step, new.owner_uid,
                    new.crash_grace, new.http_proxy, new.https_proxy, int(new.shared),
                    new.owner_name,
                ),
            )
            return int(cur.lastrowid or 0)

        return await self._write(create, urgent=True)  # init() is waiting

    async def get_run(self, key: RunKey) -> RunInfo:
        row = await self._read(
            lambda c: c.execute(
                f"{_RUN_SELECT} WHERE p.entity = ? AND p.name = ? AND r.run_id = ?",
                (key.entity, key.project, key.run_id),
            ).fetchone()
        )
        if row is None:
            raise RunNotFoundError(f"run {key} not found", run=str(key))
        return _run_from_row(row)

    async def list_runs(self, entity: str = "", project: str = "") -> list[RunInfo]:
        clauses, args = project_clauses(entity, project)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._read(
            lambda c: c.execute(f"{_RUN_SELECT}{where} ORDER BY r.created_at DESC, r.id DESC", args)
            .fetchall()
        )
        return [_run_from_row(r) for r in rows]

    async def list_runs_page(
        self, entity: str, project: str, after: RunCursor | None, limit: int, max_bytes: int,
    ) -> tuple[list[RunInfo], RunCursor | None]:
        clauses, args = project_clauses(entity, project)
        if after is not None:
            clauses.append("(r.created_at, r.id) < (?, ?)")
            args += [after.created_at, after.pk]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        # Within a project the planner reads runs_listing; across projects, a CROSS JOIN
        # makes it walk runs_created in order instead of sorting every run of the entity.
        select = _RUN_SELECT if project else (
            f"SELECT {_RUN_COLUMNS} FROM runs r CROSS JOIN projects p ON p.id = r.project_id")
        sql = f"{select}{where} ORDER BY r.created_at DESC, r.id DESC LIMIT ?"

        def page(c: sqlite3.Connection) -> tuple[list[RunInfo], bool]:
            runs: list[RunInfo] = []
            size = 0
            for row in c.execute(sql, [*args, limit]):  # row by row: stops at the budget
                runs.append(_run_from_row(row))
                size += sum(len(v) for v in row if type(v) is str)
                if size >= max_bytes:
                    return runs, True
            return runs, len(runs) == limit

        runs, more = await self._read(page)
        last = runs[-1] if runs and more else None
        return runs, RunCursor(last.created_at, last.pk) if last else None

    async def list_runs_in_state(self, state: str) -> list[RunInfo]:
        rows = await self._read(
            lambda c: c.execute(f"{_RUN_SELECT} WHERE r.state = ? ORDER BY r.id", (state,)).fetchall()
        )
        return [_run_from_row(r) for r in rows]

    # -- ingest --------------------------------------------------------------------------------

    async def apply(self, changes: list[RunChanges]) -> None:
        if not changes:
            return

        def apply(conn: sqlite3.Connection) -> None:
            for ch in changes:
                if ch.shared is not None:
                    settled = settle(ch, ch.shared, _shared_state(conn, ch.pk))
                    if settled is None:
                        continue  # stored already (see store/shared_runs.py)
                    ch = settled
                inserted = 0
                rewound = ch.rewind_after is not None
                if rewound:
                    conn.execute(
                        "INSERT OR REPLACE INTO rewound_history(run, step, row)"
                        " SELECT run, step, row FROM history WHERE run = ? AND step > ?",
                        (ch.pk, ch.rewind_after),
                    )
                    conn.execute("DELETE FROM history WHERE run = ? AND step > ?",
                                 (ch.pk, ch.rewind_after))
                if ch.purge_rewound:
                    conn.execute("DELETE FROM rewound_history WHERE run = ?", (ch.pk,))
                if ch.alerts:
                    conn.executemany(
                        "INSERT OR IGNORE INTO alerts(run, seq, title, text, level, timestamp,"
                        " wait_ms, suppressed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(ch.pk, a.seq, a.title, a.text, a.level, a.timestamp, a.wait_ms,
                          int(a.suppressed)) for a in ch.alerts],
                    )
                if ch.console:
                    apply_console(conn, ch.pk, ch.console, self.console_part_bytes)
                if ch.rows:
                    before = conn.total_changes
                    steps, blobs = _history_columns(ch.rows)
                    insert_many(conn, "INSERT OR IGNORE INTO history(run, step, row)",
                                ([ch.pk] * len(steps), steps, blobs),
                                sum(map(len, blobs)) // len(blobs))
                    inserted = conn.total_changes - before
                sets = ["ingested_seq = MAX(ingested_seq, ?)", "updated_at = ?"]
                args: list[Any] = [ch.ingested_seq, ch.updated_at or time.time()]
                if rewound:
                    sets.append("history_rows = (SELECT COUNT(*) FROM history WHERE run = ?)")
                    sets.append("last_step = (SELECT COALESCE(MAX(step), -1) FROM history"
                                " WHERE run = ?)")
                    args += [ch.pk, ch.pk]
                elif ch.rows:
                    sets.append("history_rows = history_rows + ?")
                    args.append(inserted)
                    sets.append("last_step = MAX(last_step, ?)")
                    args.append(max(steps))
                for column, value in (
                    ("summary", ch.summary), ("config", ch.config), ("metrics", ch.metrics),
                    ("tags", ch.tags),
                ):
                    if value is not None:
                        sets.append(f"{column} = ?")
                        args.append(_dumps(value))
                for column, value in (
                    ("name", ch.name), ("notes", ch.notes), ("group_name", ch.group),
                    ("job_type", ch.job_type), ("state", ch.state), ("exit_code", ch.exit_code),
                    ("finished_at", ch.finished_at), ("crash_grace", ch.crash_grace),
                    ("http_proxy", ch.http_proxy), ("https_proxy", ch.https_proxy),
                ):
                    if value is not None:
                        sets.append(f"{column} = ?")
                        args.append(value)
                if ch.shared is not None:
                    sets.append("shared = 1")
                if ch.writer_seqs:
                    (stored,) = conn.execute("SELECT writer_seqs FROM runs WHERE id = ?",
                                             (ch.pk,)).fetchone()
                    seqs = _loads(stored)
                    for w, seq in ch.writer_seqs.items():
                        seqs[w] = max(seqs.get(w, 0), seq)
                    sets.append("writer_seqs = ?")
                    args.append(_dumps(seqs))
                args.append(ch.pk)
                conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", args)

        await self._write(apply)

    async def scan_history(
        self, pk: int, min_step: int | None, max_step: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        sql = "SELECT step, row FROM history WHERE run = ? AND step >= ?"
        args: list[int] = [pk, -(2**63) if min_step is None else min_step]
        if max_step is not None:  # no upper bound otherwise: a row at step 2**63-1 counts too
            sql += " AND step < ?"
            args.append(max_step)
        rows = await self._read(
            lambda c: c.execute(f"{sql} ORDER BY step LIMIT ?", (*args, limit)).fetchall()
        )
        return [(step, _unpack_row(blob)) for step, blob in rows]

    async def sample_history(
        self, pk: int, n: int, min_step: int | None = None, max_step: int | None = None,
        keys: Sequence[str] = (),
    ) -> list[tuple[int, bytes]]:
        lo = -(2**63) if min_step is None else min_step
        hi = 2**63 - 1 if max_step is None else max_step
        bound = "step >= ? AND " + ("step <= ?" if max_step is None else "step < ?")

        def sample(c: sqlite3.Connection) -> list[tuple[int, bytes]]:
            if keys:  # only rows holding every key count (each row is read to know)
                # A row whose bytes lack a key's UTF-8 name cannot hold it: most rows are
                # ruled out without being unpacked.
                names = [k.encode() for k in keys]
                steps = [st for st, blob in c.execute(
                    f"SELECT step, row FROM history WHERE run = ? AND {bound} ORDER BY step",
                    (pk, lo, hi)) if all(n in blob for n in names)
                    and all(k in _unpack_row(blob) for k in keys)]
            else:
                steps = _every_step(c, pk, lo, hi if max_step is None else hi - 1)
                if steps is None:  # steps with gaps: read them (a pass over the run's rows)
                    steps = [r[0] for r in c.execute(
                        f"SELECT step FROM history WHERE run = ? AND {bound} ORDER BY step",
                        (pk, lo, hi))]
            if len(steps) > n:
                last = len(steps) - 1
                steps = sorted({steps[(i * last) // (n - 1)] for i in range(n)})
            rows: list[tuple[int, bytes]] = []
            for i in range(0, len(steps), 500):  # stay below SQLite's variable limit
                chunk = steps[i:i + 500]
                rows += c.execute(
                    f"SELECT step, row FROM history WHERE run = ? AND step IN"
                    f" ({','.join('?' * len(chunk))}) ORDER BY step", (pk, *chunk)).fetchall()
            return rows

        return await self._read(sample)

    # -- charts: the series index (store/series_index.py) follows the history ------------------

    def _series_index(self) -> SeriesIndex:
        with self._series_lock:
            if self._series is None:
                self._series = SeriesIndex(self._path)
            return self._series

    async def _indexed(self, pk: int) -> SeriesIndex:
        def catch_up(c: sqlite3.Connection) -> SeriesIndex:
            index = self._series_index()
            index.catch_up(pk, c)
            return index

        return await self._read(catch_up)

    async def history_keys(self, pk: int) -> dict[str, int]:
        index = await self._indexed(pk)
        return await anyio.to_thread.run_sync(index.keys, pk, limiter=self._read_limiter)

    async def downsample_history(
        self, pk: int, keys: Sequence[str], x_key: str = STEP, x_min: float | None = None,
        x_max: float | None = None, buckets: int = 1000,
    ) -> dict[str, Series]:
        check_buckets(buckets)
        index = await self._indexed(pk)
        return await anyio.to_thread.run_sync(
            lambda: downsample(lambda k: index.load(pk, k), keys, x_key, x_min, x_max, buckets),
            limiter=self._read_limiter)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close() -> None:
            self._checkpoints.close()
            self._writer.close()
            if self._series is not None:
                self._series.close()
            while True:
                try:
                    self._readers.get_nowait().close()
                except queue.Empty:
                    break

        await anyio.to_thread.run_sync(close, limiter=self._write_limiter)
