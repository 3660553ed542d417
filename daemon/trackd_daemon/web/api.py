"""The JSON API under ``/api/v1/`` (documented in ``openapi.yaml`` beside this module, served at
``/api/v1/openapi.yaml``). The dashboard's pages use exactly this API.

Handlers decode the request, ask the store (whose calls run in worker threads) and encode the
answer; anything CPU-heavy (the runs table over thousands of runs) runs in a worker thread too,
so the daemon's event loop never waits on it. Errors are JSON ``{"error": {"code", "message"}}``
with the HTTP status of the domain error (see ``errors_middleware``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio.to_thread
from aiohttp import web

from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import (
    ArtifactHasAliasesError,
    ArtifactNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    RunAlreadyExistsError,
    RunFileNotFoundError,
    RunNotFoundError,
    SweepNotFoundError,
    TrackdError,
)
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo, RunKey
from trackd_daemon.store.series import STEP
from trackd_daemon.web import charts
from trackd_daemon.web.colors import PALETTE, run_colors
from trackd_daemon.web.runs_table import (
    RowCache,
    duration,
    jsonable,
    parse_query,
    run_query,
    run_user,
)
from trackd_daemon.web.scope import may_see, visible_runs

OPENAPI_FILE = Path(__file__).parent / "openapi.yaml"
#: Keys one series request may ask for.
MAX_SERIES_KEYS = 200
#: Buckets a series request gets unless it asks (a chart asks for about its width in pixels).
DEFAULT_BUCKETS = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS = {InvalidArgumentError: 400, RunNotFoundError: 404, RunFileNotFoundError: 404,
           SweepNotFoundError: 404, ArtifactNotFoundError: 404, FailedPreconditionError: 409,
           ArtifactHasAliasesError: 409, RunAlreadyExistsError: 409, PermissionDeniedError: 403}
_CODES = {400: "invalid_argument", 403: "permission_denied", 404: "not_found",
          409: "failed_precondition"}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def error_status(exc: TrackdError) -> int:
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status
    return 500


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors of API calls as JSON with their HTTP status."""
    try:
        return await handler(request)
    except TrackdError as exc:
        if not request.path.startswith("/api/"):
            raise
        status = error_status(exc)
        return json_response({"error": {"code": _CODES.get(status, "internal"),
                                        "message": exc.message}}, status)


def run_key(request: web.Request) -> RunKey:
    m = request.match_info
    return RunKey(m["entity"], m["project"], m["run_id"])


def run_detail(run: RunInfo, color: str = PALETTE[0]) -> dict[str, Any]:
    """A run as the API shows it (config and summary as logged; NaN and infinities as the
    strings ``NaN``, ``Infinity`` and ``-Infinity``; ``color``: its colour on every chart,
    see ``colors.py``)."""
    return {
        "entity": run.key.entity, "project": run.key.project, "id": run.key.run_id,
        "name": run.name, "state": run.state, "notes": run.notes, "tags": list(run.tags),
        "group": run.group, "job_type": run.job_type, "host": run.host, "program": run.program,
        "user": run_user(run), "created_at": run.created_at,
        "start_time": run.start_time, "updated_at": run.updated_at,
        "finished_at": run.finished_at, "duration": duration(run, time.time()),
        "exit_code": run.exit_code, "history_rows": run.history_rows,
        "last_step": run.last_step, "sweep_id": run.sweep_id, "fork_run_id": run.fork_run_id,
        "fork_step": run.fork_step, "config": jsonable(run.config),
        "summary": jsonable(run.summary), "metrics": run.metrics, "color": color,
    }


def finite_param(request: web.Request, name: str) -> float | None:
    """The query parameter ``name`` as a finite number (None when absent).

    :raises InvalidArgumentError: not a finite number.
    """
    raw = request.query.get(name, "")
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be a finite number, got {raw!r}")
    return value


class Api:
    """The ``/api/v1`` handlers over one store (and the blob store, for run files)."""

    def __init__(self, store: MetadataStore, blobs: BlobStore | None = None) -> None:
        self.store = store
        self.blobs = blobs
        self.rows = RowCache()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/openapi.yaml", self.openapi),
            web.get("/api/v1/projects", self.projects),
            web.get("/api/v1/projects/{entity}/{project}/runs", self.runs),
            web.get("/api/v1/runs/{entity}/{project}/{run_id}", self.run),
            web.get("/api/v1/runs/{entity}/{project}/{run_id}/metrics", self.metrics),
            web.get("/api/v1/runs/{entity}/{project}/{run_id}/series", self.series),
        ]

    # -- reads shared with the pages -----------------------------------------------------

    async def visible_run(self, request: web.Request, key: RunKey) -> RunInfo:
        """:raises RunNotFoundError: no such run, or one the request may not see."""
        run = await self.store.get_run(key)
        if not may_see(request, run):
            raise RunNotFoundError(f"run {key} not found", run=str(key))
        return run

    async def run_color(self, request: web.Request, run: RunInfo) -> str:
        """``run``'s colour among the runs of its project that ``request`` may see."""
        peers = visible_runs(request, await self.store.list_runs(run.key.entity,
                                                                 run.key.project))
        return run_colors(peers).get(run.key.run_id, PALETTE[0])

    async def project_list(self, request: web.Request) -> list[dict[str, Any]]:
        runs = visible_runs(request, await self.store.list_runs())

        def summarize() -> list[dict[str, Any]]:
            projects: dict[tuple[str, str], dict[str, Any]] = {}
            for r in runs:
                p = projects.setdefault((r.key.entity, r.key.project), {
                    "entity": r.key.entity, "project": r.key.project, "runs": 0, "running": 0,
                    "last_activity": 0.0})
                p["runs"] += 1
                p["running"] += r.state == "running"
                p["last_activity"] = max(p["last_activity"], r.updated_at)
            return sorted(projects.values(), key=lambda p: -p["last_activity"])

        return await anyio.to_thread.run_sync(summarize)

    async def runs_table(self, request: web.Request, entity: str, project: str,
                         defaults: dict[str, str] | None = None,
                         use_query: bool = True) -> dict[str, Any]:
        """The runs table of the project for the request's query (``use_query=False``: for
        ``defaults`` alone).

        :raises InvalidArgumentError: a query that cannot be read (a filter, a column...).
        :raises RunNotFoundError: no run of the project is visible.
        """
        query = request.query if use_query else {}
        params = {**(defaults or {}), **query}
        multi = {k: request.query.getall(k) for k in query}
        for k, v in (defaults or {}).items():
            multi.setdefault(k, [v])
        query = parse_query(params, multi)
        runs = visible_runs(request, await self.store.list_runs(entity, project))
        if not runs:
            raise RunNotFoundError(f"project {entity}/{project} has no runs (or does not exist)",
                                   run=f"{entity}/{project}")
        return await anyio.to_thread.run_sync(lambda: run_query(self.rows.rows(runs), query))

    async def chart_layout(self, run: RunInfo) -> dict[str, Any]:
        keys = await self.store.history_keys(run.pk)
        out = charts.layout(keys, run.metrics)
        system = charts.system_section(await self.store.system_metric_keys(run.pk))
        if system is not None:
            out["sections"].append(system)
        return out

    # -- handlers --------------------------------------------------------------------------

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(OPENAPI_FILE, headers={"Content-Type": "application/yaml"})

    async def projects(self, request: web.Request) -> web.Response:
        return json_response({"projects": await self.project_list(request)})

    async def runs(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response(await self.runs_table(request, m["entity"], m["project"]))

    async def run(self, request: web.Request) -> web.Response:
        run = await self.visible_run(request, run_key(request))
        color = await self.run_color(request, run)
        # In a thread: the owner's user name may come from NSS, which can block.
        return json_response(await anyio.to_thread.run_sync(run_detail, run, color))

    async def metrics(self, request: web.Request) -> web.Response:
        run = await self.visible_run(request, run_key(request))
        return json_response(await self.chart_layout(run))

    async def series(self, request: web.Request) -> web.Response:
        keys = request.query.getall("key", [])
        if not keys:
            raise InvalidArgumentError("name the series with one or more 'key' parameters")
        if len(keys) > MAX_SERIES_KEYS:
            raise InvalidArgumentError(
                f"at most {MAX_SERIES_KEYS} keys per request, got {len(keys)}")
        raw_buckets = request.query.get("buckets", str(DEFAULT_BUCKETS))
        try:
            buckets = int(raw_buckets)
        except ValueError:
            raise InvalidArgumentError(
                f"buckets must be a whole number, got {raw_buckets!r}") from None
        x_key = request.query.get("x", STEP)
        x_min, x_max = finite_param(request, "x_min"), finite_param(request, "x_max")
        run = await self.visible_run(request, run_key(request))
        system = [k for k in keys if charts.is_system_key(k)]
        history = [k for k in keys if not charts.is_system_key(k)]
        got = await self.store.downsample_history(run.pk, history, x_key, x_min, x_max,
                                                  buckets) if history else {}
        if system:
            got.update(await self.store.system_series(run.pk, system, x_key, x_min, x_max,
                                                      buckets))
        return json_response({
            "x": x_key, "history_rows": run.history_rows, "state": run.state,
            "series": {k: {**asdict(s), "x_key": charts.series_x(k, x_key)}
                       for k, s in got.items()},
        })
