"""SQLite workspace views: a project's saved dashboard layouts (a mixin of
:class:`~trackd_daemon.store.sqlite.SqliteStore`; the interface is ``workspace_base.py``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.workspace_base import MAX_VIEWS, WorkspaceView, check_view

WORKSPACE_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS workspace_views (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (project_id, name)
    )
    """,
]

_VIEW_SELECT = (
    "SELECT p.entity, p.name, v.name, v.spec, v.updated_at FROM workspace_views v"
    " JOIN projects p ON p.id = v.project_id WHERE p.entity = ? AND p.name = ?"
)


def _view(r: tuple[Any, ...]) -> WorkspaceView:
    return WorkspaceView(entity=r[0], project=r[1], name=r[2], spec=r[3], updated_at=r[4])


class SqliteWorkspace:
    """Workspace views (mixed into ``SqliteStore``)."""

    _write: Any
    _read: Any

    async def put_workspace_view(self, entity: str, project: str, name: str, spec: str,
                                 at: float) -> WorkspaceView:
        check_view(name, spec)

        def put(conn: sqlite3.Connection) -> WorkspaceView:
            conn.execute(
                "INSERT OR IGNORE INTO projects(entity, name, created_at) VALUES (?, ?, ?)",
                (entity, project, at))
            (project_id,) = conn.execute(
                "SELECT id FROM projects WHERE entity = ? AND name = ?",
                (entity, project)).fetchone()
            exists = conn.execute(
                "SELECT 1 FROM workspace_views WHERE project_id = ? AND name = ?",
                (project_id, name)).fetchone()
            if not exists:
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM workspace_views WHERE project_id = ?",
                    (project_id,)).fetchone()
                if count >= MAX_VIEWS:
                    raise InvalidArgumentError(
                        f"project {entity}/{project} has {count} views, the most it may keep; "
                        "delete one first")
            conn.execute(
                "INSERT INTO workspace_views(project_id, name, spec, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (project_id, name)"
                " DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
                (project_id, name, spec, at))
            return WorkspaceView(entity, project, name, spec, at)

        return await self._write(put, urgent=True)  # type: ignore[no-any-return]

    async def get_workspace_view(self, entity: str, project: str,
                                 name: str) -> WorkspaceView | None:
        def get(conn: sqlite3.Connection) -> WorkspaceView | None:
            r = conn.execute(f"{_VIEW_SELECT} AND v.name = ?",
                             (entity, project, name)).fetchone()
            return _view(r) if r is not None else None

        return await self._read(get)  # type: ignore[no-any-return]

    async def list_workspace_views(self, entity: str, project: str) -> list[WorkspaceView]:
        return await self._read(lambda c: [  # type: ignore[no-any-return]
            _view(r) for r in c.execute(f"{_VIEW_SELECT} ORDER BY v.name", (entity, project))])

    async def delete_workspace_view(self, entity: str, project: str, name: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM workspace_views WHERE name = ? AND project_id ="
                " (SELECT id FROM projects WHERE entity = ? AND name = ?)",
                (name, entity, project))
            return cur.rowcount > 0

        return await self._write(delete, urgent=True)  # type: ignore[no-any-return]
