"""What a dashboard request may see: the one place that decides it.

The dashboard acts as the daemon's own user, who may read every run of the store, so today
every run is visible. Per-user visibility plugs in here (every page and API call goes through
these two functions).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from trackd_daemon.store.models import RunInfo


def visible_runs(request: web.Request, runs: Iterable[RunInfo]) -> list[RunInfo]:
    """The runs of ``runs`` that ``request`` may see."""
    return list(runs)


def may_see(request: web.Request, run: RunInfo) -> bool:
    """Whether ``request`` may see ``run`` (a run it may not see is answered 404)."""
    return bool(visible_runs(request, [run]))
