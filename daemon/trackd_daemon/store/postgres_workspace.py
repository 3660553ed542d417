"""PostgreSQL workspace views: a project's saved dashboard layouts (a mixin of
:class:`~trackd_daemon.store.postgres.PostgresStore`; the interface is ``workspace_base.py``).

Saving a new view locks the project's row first, so that two daemons saving views of one
project at once count its views one after the other and never keep more than
:data:`~trackd_daemon.store.workspace_base.MAX_VIEWS`.
"""

from __future__ import annotations

from typing import Any

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.postgres_sql import Conn, project_id, row, rows, run
from trackd_daemon.store.workspace_base import MAX_VIEWS, WorkspaceView, check_view

_VIEW_SELECT = (
    "SELECT p.entity, p.name, v.name, v.spec, v.updated_at FROM workspace_views v"
    " JOIN projects p ON p.id = v.project_id WHERE p.entity = %s AND p.name = %s"
)


def _view(r: tuple[Any, ...]) -> WorkspaceView:
    return WorkspaceView(entity=r[0], project=r[1], name=r[2], spec=r[3], updated_at=r[4])


class PgWorkspace:
    """Workspace views (mixed into ``PostgresStore``)."""

    _write: Any
    _read: Any

    async def put_workspace_view(self, entity: str, project: str, name: str, spec: str,
                                 at: float) -> WorkspaceView:
        check_view(name, spec)

        async def put(conn: Conn) -> WorkspaceView:
            pid = await project_id(conn, entity, project, create=True)
            await run(conn, "SELECT 1 FROM projects WHERE id = %s FOR UPDATE", (pid,))
            exists = await row(conn, "SELECT 1 FROM workspace_views WHERE project_id = %s"
                               " AND name = %s", (pid, name))
            if not exists:
                (count,) = await row(conn, "SELECT COUNT(*) FROM workspace_views"
                                     " WHERE project_id = %s", (pid,))  # type: ignore[misc]
                if count >= MAX_VIEWS:
                    raise InvalidArgumentError(
                        f"project {entity}/{project} has {count} views, the most it may keep; "
                        "delete one first")
            await run(conn, "INSERT INTO workspace_views(project_id, name, spec, updated_at)"
                      " VALUES (%s, %s, %s, %s) ON CONFLICT (project_id, name)"
                      " DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
                      (pid, name, spec, at))
            return WorkspaceView(entity, project, name, spec, at)

        return await self._write(put)  # type: ignore[no-any-return]

    async def get_workspace_view(self, entity: str, project: str,
                                 name: str) -> WorkspaceView | None:
        found = await self._read(lambda c: row(c, f"{_VIEW_SELECT} AND v.name = %s",
                                               (entity, project, name)))
        return _view(found) if found is not None else None

    async def list_workspace_views(self, entity: str, project: str) -> list[WorkspaceView]:
        found = await self._read(lambda c: rows(c, f"{_VIEW_SELECT} ORDER BY v.name",
                                                (entity, project)))
        return [_view(r) for r in found]

    async def delete_workspace_view(self, entity: str, project: str, name: str) -> bool:
        gone = await self._write(lambda c: run(
            c, "DELETE FROM workspace_views WHERE name = %s AND project_id ="
            " (SELECT id FROM projects WHERE entity = %s AND name = %s)",
            (name, entity, project)))
        return bool(gone)
