"""SQLite sweeps: a sweep's row and the runs it proposed (a mixin of
:class:`~trackd_daemon.store.sqlite.SqliteStore`; the interface is ``sweep_base.py``).

A sweep run is keyed by (sweep, run id) and joined with its run by the sweep's project and the
run id, so what the run logs (state, summary, config) is read from the run's own row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from trackd_daemon.errors import InvalidArgumentError, SweepNotFoundError
from trackd_daemon.store.sweep_models import (
    SWEEP_RUNNING,
    NewSweep,
    NewSweepRun,
    SweepInfo,
    SweepRunInfo,
)

SWEEP_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS sweeps (
        id INTEGER PRIMARY KEY,
        sweep_id TEXT NOT NULL UNIQUE,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        owner_uid INTEGER NOT NULL DEFAULT -1
    )
    """,
    "CREATE INDEX IF NOT EXISTS sweeps_listing ON sweeps(project_id, created_at)",
    """
    CREATE TABLE IF NOT EXISTS sweep_runs (
        sweep INTEGER NOT NULL REFERENCES sweeps(id),
        seq INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        params TEXT NOT NULL,
        agent_id TEXT NOT NULL DEFAULT '',
        request_id TEXT NOT NULL DEFAULT '',
        prior INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        stopped_early INTEGER NOT NULL DEFAULT 0,
        agent_exit_code INTEGER,
        PRIMARY KEY (sweep, run_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS sweep_runs_order ON sweep_runs(sweep, seq)",
    "CREATE INDEX IF NOT EXISTS sweep_runs_claim ON sweep_runs(sweep, agent_id, request_id)",
]

_SWEEP_SELECT = (
    "SELECT s.id, s.sweep_id, p.entity, p.name, s.name, s.config, s.state, s.created_at,"
    " s.updated_at, s.owner_uid, (SELECT COUNT(*) FROM sweep_runs sr WHERE sr.sweep = s.id)"
    " FROM sweeps s JOIN projects p ON p.id = s.project_id"
)
_SWEEP_RUN_SELECT = (
    "SELECT sr.sweep, sr.run_id, sr.params, sr.agent_id, sr.request_id, sr.prior, sr.created_at,"
    " sr.stopped_early, sr.agent_exit_code, COALESCE(r.id, 0), COALESCE(r.state, ''),"
    " COALESCE(r.name, ''), COALESCE(r.summary, '{}'), COALESCE(r.config, '{}'),"
    " COALESCE(r.created_at, 0), COALESCE(r.finished_at, 0)"
    " FROM sweep_runs sr JOIN sweeps s ON s.id = sr.sweep"
    " LEFT JOIN runs r ON r.project_id = s.project_id AND r.run_id = sr.run_id"
)


def _sweep(r: tuple[Any, ...]) -> SweepInfo:
    return SweepInfo(pk=r[0], sweep_id=r[1], entity=r[2], project=r[3], name=r[4],
                     config=json.loads(r[5]), state=r[6], created_at=r[7], updated_at=r[8],
                     owner_uid=r[9], run_count=r[10])


def _sweep_run(r: tuple[Any, ...]) -> SweepRunInfo:
    return SweepRunInfo(
        sweep_pk=r[0], run_id=r[1], params=json.loads(r[2]), agent_id=r[3], request_id=r[4],
        prior=bool(r[5]), created_at=r[6], stopped_early=bool(r[7]), agent_exit_code=r[8],
        run_pk=r[9], run_state=r[10], run_name=r[11], run_summary=json.loads(r[12]),
        run_config=json.loads(r[13]), run_created_at=r[14], run_finished_at=r[15])


def _must_sweep(conn: sqlite3.Connection, sweep_id: str) -> tuple[int, int]:
    """The sweep's pk and project id."""
    row = conn.execute("SELECT id, project_id FROM sweeps WHERE sweep_id = ?",
                       (sweep_id,)).fetchone()
    if row is None:
        raise SweepNotFoundError(f"no sweep {sweep_id!r}", sweep_id=sweep_id)
    return int(row[0]), int(row[1])


def _load_sweep(conn: sqlite3.Connection, sweep_id: str) -> SweepInfo:
    row = conn.execute(f"{_SWEEP_SELECT} WHERE s.sweep_id = ?", (sweep_id,)).fetchone()
    if row is None:
        raise SweepNotFoundError(f"no sweep {sweep_id!r}", sweep_id=sweep_id)
    return _sweep(row)


class SqliteSweeps:
    """The sweep methods of the SQLite store."""

    _write: Any
    _read: Any

    async def create_sweep(self, new: NewSweep) -> SweepInfo:
        def create(conn: sqlite3.Connection) -> SweepInfo:
            now = new.created_at or time.time()
            conn.execute(
                "INSERT OR IGNORE INTO projects(entity, name, created_at) VALUES (?, ?, ?)",
                (new.entity, new.project, now))
            (project_id,) = conn.execute(
                "SELECT id FROM projects WHERE entity = ? AND name = ?",
                (new.entity, new.project)).fetchone()
            try:
                conn.execute(
                    "INSERT INTO sweeps(sweep_id, project_id, name, config, state, created_at,"
                    " updated_at, owner_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (new.sweep_id, project_id, new.name, json.dumps(new.config), SWEEP_RUNNING,
                     now, now, new.owner_uid))
            except sqlite3.IntegrityError:
                raise InvalidArgumentError(f"sweep {new.sweep_id!r} exists") from None
            return _load_sweep(conn, new.sweep_id)

        return await self._write(create, urgent=True)

    async def get_sweep(self, sweep_id: str) -> SweepInfo:
        return await self._read(lambda c: _load_sweep(c, sweep_id))

    async def list_sweeps(self, entity: str = "", project: str = "") -> list[SweepInfo]:
        clauses, args = [], []
        if entity:
            clauses.append("p.entity = ?")
            args.append(entity)
        if project:
            clauses.append("p.name = ?")
            args.append(project)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_SWEEP_SELECT}{where} ORDER BY s.created_at DESC, s.id DESC"
        return await self._read(lambda c: [_sweep(r) for r in c.execute(sql, args)])

    async def set_sweep_state(self, sweep_id: str, state: str, at: float) -> SweepInfo:
        def update(conn: sqlite3.Connection) -> SweepInfo:
            _must_sweep(conn, sweep_id)
            conn.execute("UPDATE sweeps SET state = ?, updated_at = ? WHERE sweep_id = ?",
                         (state, at, sweep_id))
            return _load_sweep(conn, sweep_id)

        return await self._write(update, urgent=True)

    async def add_sweep_runs(self, sweep_id: str,
                             runs: Sequence[NewSweepRun]) -> list[SweepRunInfo]:
        def add(conn: sqlite3.Connection) -> list[SweepRunInfo]:
            pk, project_id = _must_sweep(conn, sweep_id)
            (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM sweep_runs WHERE sweep = ?",
                                  (pk,)).fetchone()
            now = time.time()
            for run in runs:
                seq += 1
                conn.execute(
                    "INSERT OR IGNORE INTO sweep_runs(sweep, seq, run_id, params, agent_id,"
                    " request_id, prior, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (pk, seq, run.run_id, json.dumps(run.params), run.agent_id, run.request_id,
                     int(run.prior), run.created_at or now))
                if run.prior:
                    conn.execute("UPDATE runs SET sweep_id = ? WHERE project_id = ? AND"
                                 " run_id = ? AND sweep_id = ''",
                                 (sweep_id, project_id, run.run_id))
            conn.execute("UPDATE sweeps SET updated_at = ? WHERE id = ?", (now, pk))
            ids = [r.run_id for r in runs]
            marks = ",".join("?" * len(ids))
            rows = conn.execute(f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = ? AND sr.run_id IN"
                                f" ({marks}) ORDER BY sr.seq", (pk, *ids)).fetchall()
            return [_sweep_run(r) for r in rows]

        return await self._write(add, urgent=True)

    async def claim_sweep_run(self, sweep_id: str, run_id: str, agent_id: str,
                              request_id: str) -> SweepRunInfo:
        def claim(conn: sqlite3.Connection) -> SweepRunInfo:
            pk, _ = _must_sweep(conn, sweep_id)
            cur = conn.execute("UPDATE sweep_runs SET agent_id = ?, request_id = ? WHERE"
                               " sweep = ? AND run_id = ? AND agent_id = ''",
                               (agent_id, request_id, pk, run_id))
            if cur.rowcount != 1:
                raise SweepNotFoundError(f"sweep {sweep_id!r} has no queued run {run_id!r}",
                                         sweep_id=sweep_id)
            row = conn.execute(f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = ? AND sr.run_id = ?",
                               (pk, run_id)).fetchone()
            return _sweep_run(row)

        return await self._write(claim, urgent=True)

    async def find_sweep_claim(self, sweep_id: str, agent_id: str,
                               request_id: str) -> SweepRunInfo | None:
        def find(conn: sqlite3.Connection) -> SweepRunInfo | None:
            pk, _ = _must_sweep(conn, sweep_id)
            row = conn.execute(f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = ? AND sr.agent_id = ? AND"
                               " sr.request_id = ?", (pk, agent_id, request_id)).fetchone()
            return None if row is None else _sweep_run(row)

        return await self._read(find)

    async def list_sweep_runs(self, sweep_id: str) -> list[SweepRunInfo]:
        def runs(conn: sqlite3.Connection) -> list[SweepRunInfo]:
            pk, _ = _must_sweep(conn, sweep_id)
            return [_sweep_run(r) for r in conn.execute(
                f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = ? ORDER BY sr.seq", (pk,))]

        return await self._read(runs)

    async def update_sweep_run(self, sweep_id: str, run_id: str, *,
                               stopped_early: bool | None = None,
                               agent_exit_code: int | None = None) -> None:
        def update(conn: sqlite3.Connection) -> None:
            pk, _ = _must_sweep(conn, sweep_id)
            sets, args = [], []
            if stopped_early is not None:
                sets.append("stopped_early = ?")
                args.append(int(stopped_early))
            if agent_exit_code is not None:
                sets.append("agent_exit_code = ?")
                args.append(agent_exit_code)
            if not sets:
                return
            cur = conn.execute(f"UPDATE sweep_runs SET {', '.join(sets)} WHERE sweep = ? AND"
                               " run_id = ?", (*args, pk, run_id))
            if cur.rowcount != 1:
                raise SweepNotFoundError(f"sweep {sweep_id!r} has no run {run_id!r}",
                                         sweep_id=sweep_id)

        await self._write(update, urgent=True)
