"""What a dashboard request may see and edit: the one place that decides it.

A request acts as the daemon's own user (the token, and sessions logged in with it or a ticket
made from it: ``auth.py``), who may read and write every run of the store; or for another user
of the machine (a session logged in with a ticket the daemon minted for that user), who may see
what the access policy (``trackd_daemon.access``) lets them read: their own runs and the runs of
the projects a grant gives them (by user name on a team store), the artifact collections and
versions likewise, and the sweeps of the projects they may read or that they started. Editing
(renaming, tagging, moving or deleting a run, the artifact versions a deletion takes with it; an
artifact's aliases and tags; a workspace's saved views) needs write access. Every page and API
call goes through these functions; what a request may not see is answered 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from trackd_daemon.access import AccessPolicy, Caller, Mode, Owned
from trackd_daemon.store.artifact_models import CollectionInfo, CollectionKey, VersionInfo
from trackd_daemon.store.models import RunInfo
from trackd_daemon.store.sweep_models import SweepInfo

#: Request key: the policy and the user a request acts for (absent: the daemon's user).
_ACTING = "trackd.acting_for"


def act_as(request: web.Request, policy: AccessPolicy, caller: Caller) -> None:
    """Make ``request`` act for ``caller`` under ``policy`` (the auth middleware's call)."""
    request[_ACTING] = (policy, caller)


def acting_for(request: web.Request) -> Caller | None:
    """The user ``request`` acts for; None: the daemon's user (full access)."""
    found = request.get(_ACTING)
    return None if found is None else found[1]


def _allows(request: web.Request, thing: Owned, mode: Mode) -> bool:
    found = request.get(_ACTING)
    if found is None:
        return True
    policy, caller = found
    return policy.allows(caller, thing, mode)


@dataclass(frozen=True)
class _ArtifactOwner:
    """What the policy decides on for an artifact version: its collection and owner (for a
    view through a link, the link's portfolio and linker)."""

    key: CollectionKey
    owner_uid: int
    owner_name: str = ""


def _version_owner(v: VersionInfo) -> _ArtifactOwner:
    if v.link is not None:
        return _ArtifactOwner(v.link.portfolio, v.link.owner_uid, v.link.owner_name)
    return _ArtifactOwner(v.key, v.owner_uid, v.owner_name)


def visible_runs(request: web.Request, runs: Iterable[RunInfo]) -> list[RunInfo]:
    """The runs of ``runs`` that ``request`` may see."""
    return [r for r in runs if _allows(request, r, "read")]


def may_see(request: web.Request, run: RunInfo) -> bool:
    """Whether ``request`` may see ``run`` (a run it may not see is answered 404)."""
    return bool(visible_runs(request, [run]))


def visible_sweeps(request: web.Request, sweeps: Iterable[SweepInfo]) -> list[SweepInfo]:
    """The sweeps of ``sweeps`` that ``request`` may see: those of a project it may read, or
    that its user started."""
    return [s for s in sweeps if _allows(request, s, "read")]


def may_see_sweep(request: web.Request, sweep: SweepInfo) -> bool:
    """Whether ``request`` may see ``sweep`` (one it may not see is answered 404)."""
    return bool(visible_sweeps(request, [sweep]))


def visible_collections(request: web.Request,
                        collections: Iterable[CollectionInfo]) -> list[CollectionInfo]:
    """The artifact collections and portfolios of ``collections`` that ``request`` may see."""
    return [c for c in collections if _allows(request, c, "read")]


def may_see_artifact(request: web.Request, version: VersionInfo) -> bool:
    """Whether ``request`` may see an artifact version (one it may not see is answered 404)."""
    return _allows(request, _version_owner(version), "read")


def may_edit(request: web.Request, thing: Owned) -> bool:
    """Whether ``request`` may change ``thing`` (rename, tag, move or delete a run; delete an
    artifact version with the run that logged it; edit a version's aliases and tags; pause,
    resume or stop a sweep): write access to it."""
    if isinstance(thing, (RunInfo, SweepInfo)):
        return _allows(request, thing, "write")
    if isinstance(thing, VersionInfo):
        return _allows(request, _version_owner(thing), "write")
    return False


def may_edit_workspace(request: web.Request, project_runs: Iterable[RunInfo]) -> bool:
    """Whether ``request`` may save or delete the saved views (layouts) of the workspace of a
    project with ``project_runs``: one it may write a run of."""
    return any(_allows(request, r, "write") for r in project_runs)
