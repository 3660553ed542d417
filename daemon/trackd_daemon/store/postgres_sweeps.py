"""PostgreSQL sweeps: a sweep's row and the runs it proposed (a mixin of
:class:`~trackd_daemon.store.postgres.PostgresStore`; the interface is ``sweep_base.py``).

A sweep run is keyed by (sweep, run id) and joined with its run by the sweep's project and the
run id, so what the run logs (state, summary, config) is read from the run's own row. Adding
runs locks the sweep's row, so two daemons adding runs to one sweep number them in turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from trackd_daemon.errors import InvalidArgumentError, SweepNotFoundError
from trackd_daemon.store.postgres_sql import Conn, project_clauses, project_id, row, rows, run
from trackd_daemon.store.sweep_models import (
    SWEEP_RUNNING,
    NewSweep,
    NewSweepRun,
    SweepInfo,
    SweepRunInfo,
)

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


async def _must_sweep(conn: Conn, sweep_id: str, lock: bool = False) -> tuple[int, int]:
    """The sweep's pk and project id (its row locked with ``lock``)."""
    found = await row(conn, "SELECT id, project_id FROM sweeps WHERE sweep_id = %s"
                      + (" FOR UPDATE" if lock else ""), (sweep_id,))
    if found is None:
        raise SweepNotFoundError(f"no sweep {sweep_id!r}", sweep_id=sweep_id)
    return int(found[0]), int(found[1])


async def _load_sweep(conn: Conn, sweep_id: str) -> SweepInfo:
    found = await row(conn, f"{_SWEEP_SELECT} WHERE s.sweep_id = %s", (sweep_id,))
    if found is None:
        raise SweepNotFoundError(f"no sweep {sweep_id!r}", sweep_id=sweep_id)
    return _sweep(found)


class PgSweeps:
    """The sweep methods of the PostgreSQL store."""

    _write: Any
    _read: Any

    async def create_sweep(self, new: NewSweep) -> SweepInfo:
        async def create(conn: Conn) -> SweepInfo:
            now = new.created_at or time.time()
            pid = await project_id(conn, new.entity, new.project, create=True)
            made = await row(
                conn, "INSERT INTO sweeps(sweep_id, project_id, name, config, state, created_at,"
                " updated_at, owner_uid) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (sweep_id) DO NOTHING RETURNING id",
                (new.sweep_id, pid, new.name, json.dumps(new.config), SWEEP_RUNNING, now, now,
                 new.owner_uid))
            if made is None:
                raise InvalidArgumentError(f"sweep {new.sweep_id!r} exists")
            return await _load_sweep(conn, new.sweep_id)

        return await self._write(create)  # type: ignore[no-any-return]

    async def get_sweep(self, sweep_id: str) -> SweepInfo:
        return await self._read(lambda c: _load_sweep(c, sweep_id))  # type: ignore[no-any-return]

    async def list_sweeps(self, entity: str = "", project: str = "") -> list[SweepInfo]:
        clauses, args = project_clauses(entity, project)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        found = await self._read(lambda c: rows(
            c, f"{_SWEEP_SELECT}{where} ORDER BY s.created_at DESC, s.id DESC", args))
        return [_sweep(r) for r in found]

    async def set_sweep_state(self, sweep_id: str, state: str, at: float) -> SweepInfo:
        async def update(conn: Conn) -> SweepInfo:
            await _must_sweep(conn, sweep_id)
            await run(conn, "UPDATE sweeps SET state = %s, updated_at = %s WHERE sweep_id = %s",
                      (state, at, sweep_id))
            return await _load_sweep(conn, sweep_id)

        return await self._write(update)  # type: ignore[no-any-return]

    async def add_sweep_runs(self, sweep_id: str,
                             runs: Sequence[NewSweepRun]) -> list[SweepRunInfo]:
        async def add(conn: Conn) -> list[SweepRunInfo]:
            pk, pid = await _must_sweep(conn, sweep_id, lock=True)
            (seq,) = await row(conn, "SELECT COALESCE(MAX(seq), 0) FROM sweep_runs"
                               " WHERE sweep = %s", (pk,))  # type: ignore[misc]
            now = time.time()
            for r in runs:
                seq += 1
                await run(
                    conn, "INSERT INTO sweep_runs(sweep, seq, run_id, params, agent_id,"
                    " request_id, prior, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (sweep, run_id) DO NOTHING",
                    (pk, seq, r.run_id, json.dumps(r.params), r.agent_id, r.request_id,
                     int(r.prior), r.created_at or now))
                if r.prior:
                    await run(conn, "UPDATE runs SET sweep_id = %s WHERE project_id = %s AND"
                              " run_id = %s AND sweep_id = ''", (sweep_id, pid, r.run_id))
            await run(conn, "UPDATE sweeps SET updated_at = %s WHERE id = %s", (now, pk))
            found = await rows(conn, f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = %s AND"
                               " sr.run_id = ANY(%s) ORDER BY sr.seq",
                               (pk, [r.run_id for r in runs]))
            return [_sweep_run(r) for r in found]

        return await self._write(add)  # type: ignore[no-any-return]

    async def claim_sweep_run(self, sweep_id: str, run_id: str, agent_id: str,
                              request_id: str) -> SweepRunInfo:
        async def claim(conn: Conn) -> SweepRunInfo:
            pk, _ = await _must_sweep(conn, sweep_id)
            # Two agents (on two machines) claiming one run: the row lock lets one update it;
            # the other then finds it claimed.
            if await run(conn, "UPDATE sweep_runs SET agent_id = %s, request_id = %s WHERE"
                         " sweep = %s AND run_id = %s AND agent_id = ''",
                         (agent_id, request_id, pk, run_id)) != 1:
                raise SweepNotFoundError(f"sweep {sweep_id!r} has no queued run {run_id!r}",
                                         sweep_id=sweep_id)
            found = await row(conn, f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = %s AND"
                              " sr.run_id = %s", (pk, run_id))
            assert found is not None
            return _sweep_run(found)

        return await self._write(claim)  # type: ignore[no-any-return]

    async def find_sweep_claim(self, sweep_id: str, agent_id: str,
                               request_id: str) -> SweepRunInfo | None:
        async def find(conn: Conn) -> SweepRunInfo | None:
            pk, _ = await _must_sweep(conn, sweep_id)
            found = await row(conn, f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = %s AND"
                              " sr.agent_id = %s AND sr.request_id = %s",
                              (pk, agent_id, request_id))
            return None if found is None else _sweep_run(found)

        return await self._read(find)  # type: ignore[no-any-return]

    async def list_sweep_runs(self, sweep_id: str) -> list[SweepRunInfo]:
        async def list_(conn: Conn) -> list[SweepRunInfo]:
            pk, _ = await _must_sweep(conn, sweep_id)
            return [_sweep_run(r) for r in await rows(
                conn, f"{_SWEEP_RUN_SELECT} WHERE sr.sweep = %s ORDER BY sr.seq", (pk,))]

        return await self._read(list_)  # type: ignore[no-any-return]

    async def update_sweep_run(self, sweep_id: str, run_id: str, *,
                               stopped_early: bool | None = None,
                               agent_exit_code: int | None = None) -> None:
        async def update(conn: Conn) -> None:
            pk, _ = await _must_sweep(conn, sweep_id)
            sets: list[str] = []
            args: list[Any] = []
            if stopped_early is not None:
                sets.append("stopped_early = %s")
                args.append(int(stopped_early))
            if agent_exit_code is not None:
                sets.append("agent_exit_code = %s")
                args.append(agent_exit_code)
            if not sets:
                return
            if await run(conn, f"UPDATE sweep_runs SET {', '.join(sets)} WHERE sweep = %s AND"
                         " run_id = %s", (*args, pk, run_id)) != 1:
                raise SweepNotFoundError(f"sweep {sweep_id!r} has no run {run_id!r}",
                                         sweep_id=sweep_id)

        await self._write(update)
