"""SQLite run edits: a run's name, notes and tags changed, the run moved to another project of
its entity, or deleted with everything it holds (a mixin of
:class:`~trackd_daemon.store.sqlite.SqliteStore`; the interface is ``run_edit_base.py``).

A deleted run's file versions go with it; the blobs they named stay recorded until the garbage
collector (``actors/artifact_gc.py``) finds that nothing else (another run's file, an artifact's
manifest) holds them, so shared bytes are never freed early.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import anyio.to_thread

from trackd_daemon.errors import FailedPreconditionError, RunAlreadyExistsError
from trackd_daemon.store.models import RUNNING, RunInfo, RunKey
from trackd_daemon.store.sqlite_artifact_rows import run_pk

#: Tables whose rows belong to one run (each names the run's pk in its ``run`` column).
_RUN_TABLES = (
    "history", "rewound_history", "alerts", "run_files", "run_file_specs", "console_lines",
    "console_parts", "run_samplers", "system_metrics",
)


def _editable(conn: sqlite3.Connection, key: RunKey, doing: str) -> tuple[int, str]:
    """The run's pk and sweep id, once it is known not to be running.

    :raises RunNotFoundError: no such run.
    :raises FailedPreconditionError: the run is running.
    """
    pk = run_pk(conn, key)
    state, sweep_id = conn.execute("SELECT state, sweep_id FROM runs WHERE id = ?",
                                   (pk,)).fetchone()
    if state == RUNNING:
        raise FailedPreconditionError(f"run {key} is running; it can be {doing} once it has "
                                      "finished")
    return pk, sweep_id


class SqliteRunEdits:
    """Run edits (mixed into ``SqliteStore``)."""

    _write: Any
    _series_index: Any
    get_run: Any

    async def update_run_fields(self, key: RunKey, name: str | None = None,
                                notes: str | None = None,
                                tags: Sequence[str] | None = None) -> RunInfo:
        sets: list[str] = []
        args: list[Any] = []
        for column, value in (("name", name), ("notes", notes)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if tags is not None:
            sets.append("tags = ?")
            args.append(json.dumps(list(dict.fromkeys(tags))))

        def update(conn: sqlite3.Connection) -> None:
            pk = run_pk(conn, key)
            if sets:
                conn.execute(f"UPDATE runs SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                             (*args, time.time(), pk))

        await self._write(update)
        return await self.get_run(key)

    async def move_run(self, key: RunKey, project: str) -> RunInfo:
        def move(conn: sqlite3.Connection) -> None:
            pk, sweep_id = _editable(conn, key, "moved")
            if sweep_id:
                raise FailedPreconditionError(f"run {key} belongs to sweep {sweep_id!r} of its "
                                              "project and cannot be moved")
            conn.execute("INSERT OR IGNORE INTO projects(entity, name, created_at)"
                         " VALUES (?, ?, ?)", (key.entity, project, time.time()))
            (target,) = conn.execute("SELECT id FROM projects WHERE entity = ? AND name = ?",
                                     (key.entity, project)).fetchone()
            moved = RunKey(key.entity, project, key.run_id)
            if conn.execute("SELECT 1 FROM runs WHERE project_id = ? AND run_id = ?",
                            (target, key.run_id)).fetchone() is not None:
                raise RunAlreadyExistsError(f"run {moved} already exists", run=str(moved))
            conn.execute("UPDATE projects SET run_count = run_count + 1 WHERE id = ?", (target,))
            conn.execute("UPDATE runs SET project_id = ?, updated_at = ? WHERE id = ?",
                         (target, time.time(), pk))

        if project != key.project:
            await self._write(move)
        return await self.get_run(RunKey(key.entity, project, key.run_id))

    async def delete_run(self, key: RunKey) -> int:
        def delete(conn: sqlite3.Connection) -> tuple[int, int]:
            pk, _ = _editable(conn, key, "deleted")
            released = conn.execute("SELECT COUNT(DISTINCT blob_key) FROM run_files"
                                    " WHERE run = ?", (pk,)).fetchone()[0]
            for table in _RUN_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run = ?", (pk,))
            # Artifacts the run logged stay (W&B's delete_artifacts=False), owned by no run;
            # what it used is forgotten.
            conn.execute("UPDATE artifact_versions SET run_id = NULL WHERE run_id = ?", (pk,))
            conn.execute("DELETE FROM artifact_runs WHERE run_id = ?", (pk,))
            conn.execute("DELETE FROM runs WHERE id = ?", (pk,))
            return int(released), pk

        released, pk = await self._write(delete)
        # The chart index of that pk is stale now (SQLite may give the pk to a new run).
        await anyio.to_thread.run_sync(self._series_index().forget, pk)
        return released
