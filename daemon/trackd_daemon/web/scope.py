"""What a dashboard request may see and edit: the one place that decides it.

The dashboard acts as the daemon's own user, who may read and write every run of the store, so
today every run is visible, and every sweep and artifact. Editing needs the same token and the
same rights as reading: a request may change what it may see (renaming, tagging, moving or
deleting a run, the artifact versions a deletion takes with it; an artifact's aliases and
tags). Per-user visibility plugs in here (every page and API call goes through these
functions; a sweep is visible where the runs of its project are).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from trackd_daemon.access import Owned
from trackd_daemon.store.artifact_models import CollectionInfo, VersionInfo
from trackd_daemon.store.models import RunInfo
from trackd_daemon.store.sweep_models import SweepInfo


def visible_runs(request: web.Request, runs: Iterable[RunInfo]) -> list[RunInfo]:
    """The runs of ``runs`` that ``request`` may see."""
    return list(runs)


def may_see(request: web.Request, run: RunInfo) -> bool:
    """Whether ``request`` may see ``run`` (a run it may not see is answered 404)."""
    return bool(visible_runs(request, [run]))


def visible_sweeps(request: web.Request, sweeps: Iterable[SweepInfo]) -> list[SweepInfo]:
    """The sweeps of ``sweeps`` that ``request`` may see."""
    return list(sweeps)


def may_see_sweep(request: web.Request, sweep: SweepInfo) -> bool:
    """Whether ``request`` may see ``sweep`` (one it may not see is answered 404)."""
    return bool(visible_sweeps(request, [sweep]))


def visible_collections(request: web.Request,
                        collections: Iterable[CollectionInfo]) -> list[CollectionInfo]:
    """The artifact collections and portfolios of ``collections`` that ``request`` may see."""
    return list(collections)


def may_see_artifact(request: web.Request, version: VersionInfo) -> bool:
    """Whether ``request`` may see (and edit the aliases and tags of) an artifact version (one
    it may not see is answered 404)."""
    return True


def may_edit(request: web.Request, thing: Owned) -> bool:
    """Whether ``request`` may change ``thing`` (rename, tag, move or delete a run; delete an
    artifact version with the run that logged it): what it may see."""
    if isinstance(thing, RunInfo):
        return may_see(request, thing)
    if isinstance(thing, VersionInfo):
        return may_see_artifact(request, thing)
    return False


def may_edit_workspace(request: web.Request, project_runs: Iterable[RunInfo]) -> bool:
    """Whether ``request`` may save or delete the saved views (layouts) of the workspace of a
    project with ``project_runs``: one it may see a run of."""
    return bool(visible_runs(request, project_runs))
