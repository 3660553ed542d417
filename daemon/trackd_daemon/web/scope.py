"""What a dashboard request may see: the one place that decides it.

The dashboard acts as the daemon's own user, who may read every run of the store, so today
every run is visible, and every sweep and artifact. Per-user visibility plugs in here (every
page and API call goes through these functions; a sweep is visible where the runs of its
project are). Changing an artifact's aliases and tags needs the rights reading it needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

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
