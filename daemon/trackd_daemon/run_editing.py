"""Editing stored runs: rename, notes and tags, moving a run to another project of its entity,
deleting it with everything it holds. One service for every way in: the gRPC RunService
(``rpc/run_edits.py``) and the dashboard's JSON API (``web/edit_api.py``).

Each caller decides who may write what and says so through ``allow`` (the RPC asks the access
policy for the connection's uid, the dashboard asks ``web/scope.py``); the editor asks it for
the run, and for each artifact version a deletion would take with it, before it changes
anything.

A run with a live session (records still arriving, or a client attached) is neither moved nor
deleted: the registry is asked first. A move is refused by the store too if the run is marked
running in the same transaction; a delete goes through the registry (``Remove``), which serves
it like a create of the key (a resume or attach of the run waits behind it) and deletes the
run's write-ahead log with it. The bytes of the run's files go back to the blob store's
garbage collector (``actors/artifact_gc.py``): its next round frees those no other run or
artifact holds, and keeps the shared ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trackd_daemon.access import Owned
from trackd_daemon.actors.registry import Lookup, Remove, RunRegistry
from trackd_daemon.errors import (
    ArtifactNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
)
from trackd_daemon.run_limits import check_fields
from trackd_daemon.store.artifact_models import COMMITTED, LOGGED
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo, RunKey

#: ``allow(thing, noun)`` returns when the caller may write ``thing`` (a run, ``noun`` "run",
#: or an artifact version, "artifact") and raises ``PermissionDeniedError`` when it may not.
Allow = Callable[[Owned, str], None]
#: The longest project name (as any part of a run reference).
MAX_NAME = 128


@dataclass(frozen=True)
class Deleted:
    """What deleting a run did."""

    key: RunKey
    #: Distinct blobs the run's files named (freed by the collector unless held elsewhere).
    blobs_released: int
    #: Artifact versions the run logged that were deleted with it.
    artifacts_deleted: int


def project_problem(project: str) -> str:
    """Why ``project`` cannot name a project ('' when it can)."""
    if not project:
        return "a project name cannot be empty"
    if project != project.strip() or len(project) > MAX_NAME:
        return f"invalid project {project!r}"
    if "/" in project:
        return "a project name may not contain '/'"
    return ""


def check_edit(name: str | None, notes: str | None, tags: Sequence[str] | None) -> None:
    """The new name, notes and tags (None: unchanged) of an update.

    :raises InvalidArgumentError: an empty name or tag, or one over its limit.
    """
    if name is not None and not name.strip():
        raise InvalidArgumentError("a run's name cannot be empty", field="name")
    if tags is not None and any(not t.strip() for t in tags):
        raise InvalidArgumentError("a tag cannot be empty", field="tags")
    check_fields({"name": name or "", "notes": notes or "", "tags": list(tags or [])})


class RunEditor:
    """Edits stored runs through the store, and the registry for what is live."""

    def __init__(self, registry: RunRegistry, store: MetadataStore) -> None:
        self._registry = registry
        self._store = store

    async def is_live(self, key: RunKey) -> bool:
        """Whether the run has a live session on this daemon."""
        return await self._registry.ask(lambda r: Lookup(key, r)) is not None

    async def writable(self, key: RunKey, allow: Allow, doing: str = "") -> RunInfo:
        """The run, once ``allow`` lets the caller write it (and, with ``doing``: "moved" or
        "deleted", once it is known not to be live).

        :raises RunNotFoundError: no such run.
        :raises PermissionDeniedError: from ``allow``.
        :raises FailedPreconditionError: the run is live and ``doing`` was given.
        """
        info = await self._store.get_run(key)
        allow(info, "run")
        if doing and await self.is_live(key):
            raise FailedPreconditionError(f"run {key} is running; it can be {doing} once it "
                                          "has finished")
        return info

    async def update(self, key: RunKey, allow: Allow, *, name: str | None = None,
                     notes: str | None = None, tags: Sequence[str] | None = None) -> RunInfo:
        """Set the fields given (None: unchanged; a live run may be renamed too) and return
        the run.

        :raises InvalidArgumentError: see :func:`check_edit`; nothing is changed.
        """
        info = await self.writable(key, allow)
        check_edit(name, notes, tags)
        return await self._store.update_run_fields(
            info.key, name=name, notes=notes, tags=None if tags is None else list(tags))

    async def move(self, key: RunKey, project: str, allow: Allow) -> RunInfo:
        """Move the run to ``project`` of its entity; returns it under its new key.

        :raises InvalidArgumentError: ``project`` is not a valid project name.
        :raises FailedPreconditionError: the run is live (or belongs to a sweep).
        :raises RunAlreadyExistsError: ``project`` has a run of that id.
        """
        info = await self.writable(key, allow, "moved")
        problem = project_problem(project)
        if problem:
            raise InvalidArgumentError(problem, field="project")
        return await self._store.move_run(info.key, project)

    async def delete(self, key: RunKey, allow: Allow, *,
                     delete_artifacts: bool = False) -> Deleted:
        """Delete the run with its history, files, media, console log and system metrics
        (and, with ``delete_artifacts``, the committed artifact versions it logged, each once
        ``allow`` lets the caller write it; none is deleted unless all may be).

        :raises FailedPreconditionError: the run is live.
        """
        info = await self.writable(key, allow, "deleted")
        deleted = await self._delete_artifacts(info.key, allow) if delete_artifacts else 0
        released = await self._registry.ask(lambda r: Remove(info.key, r))
        return Deleted(info.key, released, deleted)

    async def _delete_artifacts(self, key: RunKey, allow: Allow) -> int:
        versions = [v for v in await self._store.run_versions(key, LOGGED)
                    if v.state == COMMITTED]
        for v in versions:
            allow(v, "artifact")
        deleted = 0
        for v in versions:
            try:
                await self._store.delete_version(v.id, delete_aliases=True)
            except ArtifactNotFoundError:
                continue  # deleted meanwhile
            deleted += 1
        return deleted
