"""PostgreSQL run edits: a run's name, notes and tags changed, the run moved to another project
of its entity, or deleted with everything it holds (a mixin of
:class:`~trackd_daemon.store.postgres.PostgresStore`; the interface is ``run_edit_base.py``).

The run's row is locked (``FOR UPDATE``) before it is checked, so another daemon's ingest or
edit of the same run waits for the edit instead of racing it. A deleted run's file versions go
with it; the blobs they named stay recorded until the garbage collector finds that nothing
else holds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from trackd_daemon.errors import FailedPreconditionError, RunAlreadyExistsError
from trackd_daemon.store.models import RUNNING, RunInfo, RunKey
from trackd_daemon.store.postgres_sql import Conn, project_id, row, run, run_pk

#: Tables whose rows belong to one run (each names the run's pk in its ``run`` column).
_RUN_TABLES = (
    "history", "rewound_history", "alerts", "run_files", "run_file_specs", "console_lines",
    "console_parts", "run_samplers", "system_metrics",
)


async def _editable(conn: Conn, key: RunKey, doing: str) -> tuple[int, str]:
    """The run's pk and sweep id (its row locked), once it is known not to be running.

    :raises RunNotFoundError: no such run.
    :raises FailedPreconditionError: the run is running.
    """
    pk = await run_pk(conn, key)
    state, sweep_id = await row(conn, "SELECT state, sweep_id FROM runs WHERE id = %s"
                                " FOR UPDATE", (pk,))  # type: ignore[misc]
    if state == RUNNING:
        raise FailedPreconditionError(f"run {key} is running; it can be {doing} once it has "
                                      "finished")
    return pk, sweep_id


class PgRunEdits:
    """Run edits (mixed into ``PostgresStore``)."""

    _write: Any
    _series: Any
    get_run: Any

    async def update_run_fields(self, key: RunKey, name: str | None = None,
                                notes: str | None = None,
                                tags: Sequence[str] | None = None) -> RunInfo:
        sets: list[str] = []
        args: list[Any] = []
        for column, value in (("name", name), ("notes", notes)):
            if value is not None:
                sets.append(f"{column} = %s")
                args.append(value)
        if tags is not None:
            sets.append("tags = %s")
            args.append(json.dumps(list(dict.fromkeys(tags))))

        async def update(conn: Conn) -> None:
            pk = await run_pk(conn, key)
            if sets:
                await run(conn, f"UPDATE runs SET {', '.join(sets)}, updated_at = %s"
                          " WHERE id = %s", (*args, time.time(), pk))

        await self._write(update)
        return await self.get_run(key)  # type: ignore[no-any-return]

    async def move_run(self, key: RunKey, project: str) -> RunInfo:
        async def move(conn: Conn) -> None:
            pk, sweep_id = await _editable(conn, key, "moved")
            if sweep_id:
                raise FailedPreconditionError(f"run {key} belongs to sweep {sweep_id!r} of its "
                                              "project and cannot be moved")
            target = await project_id(conn, key.entity, project, create=True)
            # The target project's row lock, as creating a run there takes it.
            await run(conn, "SELECT 1 FROM projects WHERE id = %s FOR UPDATE", (target,))
            moved = RunKey(key.entity, project, key.run_id)
            if await row(conn, "SELECT 1 FROM runs WHERE project_id = %s AND run_id = %s",
                         (target, key.run_id)) is not None:
                raise RunAlreadyExistsError(f"run {moved} already exists", run=str(moved))
            await run(conn, "UPDATE projects SET run_count = run_count + 1 WHERE id = %s",
                      (target,))
            await run(conn, "UPDATE runs SET project_id = %s, updated_at = %s WHERE id = %s",
                      (target, time.time(), pk))

        if project != key.project:
            await self._write(move)
        return await self.get_run(RunKey(key.entity, project, key.run_id))  # type: ignore[no-any-return]

    async def delete_run(self, key: RunKey) -> int:
        async def delete(conn: Conn) -> tuple[int, int]:
            pk, _ = await _editable(conn, key, "deleted")
            (released,) = await row(conn, "SELECT COUNT(DISTINCT blob_key) FROM run_files"
                                    " WHERE run = %s", (pk,))  # type: ignore[misc]
            for table in _RUN_TABLES:
                await run(conn, f"DELETE FROM {table} WHERE run = %s", (pk,))
            # Artifacts the run logged stay, owned by no run; what it used is forgotten.
            await run(conn, "UPDATE artifact_versions SET run_id = NULL WHERE run_id = %s", (pk,))
            await run(conn, "DELETE FROM artifact_runs WHERE run_id = %s", (pk,))
            await run(conn, "DELETE FROM runs WHERE id = %s", (pk,))
            return int(released), pk

        released, pk = await self._write(delete)
        await self._series.forget(pk)
        return released  # type: ignore[no-any-return]
