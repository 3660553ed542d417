"""The workspace part of the store interface (:class:`WorkspaceStore`; ``MetadataStore``
includes it): the dashboard's saved layouts of a project's workspace, as named *views*.

A view is JSON text the dashboard writes and reads back whole (its panels, sections, settings,
hidden runs, grouping); the store checks only that it is a JSON object within
:data:`MAX_VIEW_BYTES`, and keeps at most :data:`MAX_VIEWS` views per project. The view the
workspace opens with is named :data:`DEFAULT_VIEW`. Contract tests:
``tests/daemon/store/contract_workspace.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from trackd_daemon.errors import InvalidArgumentError, WorkspaceViewTooLargeError

#: The view a project's workspace shows unless the user switches to another.
DEFAULT_VIEW = "default"
#: Bytes of a view's JSON text (UTF-8), at most.
MAX_VIEW_BYTES = 256 * 1024
#: Views of one project, at most.
MAX_VIEWS = 100
#: Characters of a view's name, at most.
MAX_VIEW_NAME = 100


@dataclass(frozen=True)
class WorkspaceView:
    """A saved layout of a project's workspace: ``spec`` is its JSON text (an object)."""

    entity: str
    project: str
    name: str
    spec: str
    updated_at: float


def check_view(name: str, spec: str) -> None:
    """:raises InvalidArgumentError: an empty or over-long name, or ``spec`` not the JSON text
        of an object.
    :raises WorkspaceViewTooLargeError: ``spec`` over :data:`MAX_VIEW_BYTES`.
    """
    if not name.strip() or len(name) > MAX_VIEW_NAME:
        raise InvalidArgumentError(
            f"a view's name must be 1 to {MAX_VIEW_NAME} characters, got {len(name)}")
    size = len(spec.encode())
    if size > MAX_VIEW_BYTES:
        raise WorkspaceViewTooLargeError(size, MAX_VIEW_BYTES)
    try:
        value = json.loads(spec)
    except ValueError as exc:
        raise InvalidArgumentError(f"a view must be JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError("a view must be a JSON object")


class WorkspaceStore(Protocol):
    async def put_workspace_view(self, entity: str, project: str, name: str, spec: str,
                                 at: float) -> WorkspaceView:
        """Save (create or replace) the view ``name`` of a project (made on first use).

        :raises InvalidArgumentError: see :func:`check_view`; or the project has
            :data:`MAX_VIEWS` views already and ``name`` is a new one.
        :raises WorkspaceViewTooLargeError: ``spec`` over :data:`MAX_VIEW_BYTES`.
        """
        ...

    async def get_workspace_view(self, entity: str, project: str,
                                 name: str) -> WorkspaceView | None:
        """The view ``name`` of a project, or None when it has none of that name."""
        ...

    async def list_workspace_views(self, entity: str, project: str) -> list[WorkspaceView]:
        """A project's views, by name."""
        ...

    async def delete_workspace_view(self, entity: str, project: str, name: str) -> bool:
        """Delete a view; False when there was none of that name."""
        ...
