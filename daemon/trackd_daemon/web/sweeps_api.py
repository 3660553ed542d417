"""The sweeps part of the JSON API (``openapi.yaml``): a project's sweeps, a sweep with its
runs, its parameter importance, and its controls.

- ``GET /api/v1/projects/{entity}/{project}/sweeps``: the project's sweeps, newest first, each
  with its runs by state and its best run.
- ``GET /api/v1/sweeps/{entity}/{project}/{sweep_id}``: the sweep page's data
  (``sweep_view.sweep_detail``).
- ``GET /api/v1/sweeps/{entity}/{project}/{sweep_id}/importance``: each parameter's
  correlation with the metric and its random-forest importance (``sweeps/importance.py``),
  fitted in a worker thread, one sweep at a time, and kept until the sweep's runs or metrics
  change.
- ``POST /api/v1/sweeps/{entity}/{project}/{sweep_id}/state`` with ``{"action": "pause" |
  "resume" | "finish" | "cancel"}``: through the daemon's sweep controller, which wakes the
  agents waiting on the sweep (the same-origin rule of ``security.py`` refuses it from pages of
  other sites, as every request that changes state).

Reads are scoped as the runs' are (``scope.py``): a sweep the request may not see is answered
404, as one that does not exist.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any, Protocol

import anyio
import anyio.to_thread
from aiohttp import web

from trackd_daemon.actors.sweeps import ACTIONS
from trackd_daemon.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    SweepNotFoundError,
)
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.sweep_models import SweepInfo
from trackd_daemon.sweeps.importance import parameter_importance
from trackd_daemon.web.api import json_response
from trackd_daemon.web.scope import may_edit, may_see_sweep, visible_sweeps
from trackd_daemon.web.sweep_view import (
    importance_input,
    metric_spec,
    sweep_detail,
    sweep_json,
    sweep_summary,
)

#: Sweeps whose importance is kept (the most recently asked for): one entry is a few hundred
#: numbers, and a page asks again on every refresh while its sweep runs.
IMPORTANCE_CACHE = 64
#: The longest state request body read (``{"action": "resume"}`` is 20 bytes).
MAX_BODY = 1024


class SweepControls(Protocol):
    """What the dashboard needs of the daemon's sweep controller (``actors/sweeps.py``)."""

    async def set_state(self, sweep_id: str, action: str) -> SweepInfo:
        """Pause, resume, finish or cancel a sweep, waking the agents waiting on it.

        :raises SweepNotFoundError: no such sweep.
        :raises FailedPreconditionError: the sweep cannot take the action (a finished or
            canceled sweep cannot be resumed).
        """
        ...


class NoSweepControls:
    """The controls of a dashboard served without the daemon's sweep controller (an
    application made on its own, as tests do): every action is refused, saying so."""

    async def set_state(self, sweep_id: str, action: str) -> SweepInfo:
        raise FailedPreconditionError(
            f"this dashboard has no sweep controller: {action} the sweep with "
            f"`trackd sweep --{action} {sweep_id}`")


def _fingerprint(rows: list[dict[str, Any]], metrics: list[float]) -> str:
    """What an importance was computed from, in a few bytes."""
    text = json.dumps([rows, metrics], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class SweepsApi:
    """The sweeps handlers over the store, and the controller for the state route."""

    def __init__(self, store: MetadataStore, controls: SweepControls | None = None) -> None:
        self.store = store
        self.controls: SweepControls = controls or NoSweepControls()
        #: By sweep id: what the importance was computed from, and the answer.
        self._importance: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        # One forest at a time: a fit takes a core, and the daemon has runs to serve.
        self._fitting = anyio.CapacityLimiter(1)

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/sweeps/{entity}/{project}/{sweep_id}"
        return [
            web.get("/api/v1/projects/{entity}/{project}/sweeps", self.list),
            web.get(base, self.get),
            web.get(base + "/importance", self.importance),
            web.post(base + "/state", self.set_state),
        ]

    # -- reads shared with the pages -----------------------------------------------------

    async def visible_sweep(self, request: web.Request, entity: str, project: str,
                            sweep_id: str) -> SweepInfo:
        """The sweep of that project.

        :raises SweepNotFoundError: no such sweep in the project, or one the request may not
            see.
        """
        missing = SweepNotFoundError(f"sweep {entity}/{project}/{sweep_id} not found",
                                     sweep_id=sweep_id)
        try:
            sweep = await self.store.get_sweep(sweep_id)
        except SweepNotFoundError:
            raise missing from None
        if (sweep.entity, sweep.project) != (entity, project) or not may_see_sweep(request,
                                                                                    sweep):
            raise missing
        return sweep

    async def sweep_list(self, request: web.Request, entity: str, project: str,
                         limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """The project's sweeps, newest first (the newest ``limit`` of them), each with its
        runs by state and its best run; and how many the project has."""
        sweeps = visible_sweeps(request, await self.store.list_sweeps(entity, project))
        out = []
        for sweep in sweeps[:limit]:
            runs = await self.store.list_sweep_runs(sweep.sweep_id)
            out.append(await anyio.to_thread.run_sync(sweep_summary, sweep, runs))
        return out, len(sweeps)

    async def detail(self, request: web.Request, entity: str, project: str,
                     sweep_id: str) -> dict[str, Any]:
        sweep = await self.visible_sweep(request, entity, project, sweep_id)
        runs = await self.store.list_sweep_runs(sweep_id)
        return await anyio.to_thread.run_sync(sweep_detail, sweep, runs)

    # -- handlers --------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        m = request.match_info
        sweeps, _ = await self.sweep_list(request, m["entity"], m["project"])
        return json_response({"sweeps": sweeps})

    async def get(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response(await self.detail(request, m["entity"], m["project"],
                                               m["sweep_id"]))

    async def importance(self, request: web.Request) -> web.Response:
        m = request.match_info
        sweep = await self.visible_sweep(request, m["entity"], m["project"], m["sweep_id"])
        metric, goal = metric_spec(sweep.config)
        runs = await self.store.list_sweep_runs(sweep.sweep_id)
        if not metric:
            return json_response({"metric": "", "goal": goal, "runs": 0, "params": []})
        rows, metrics = await anyio.to_thread.run_sync(importance_input, sweep.config, runs)
        key = await anyio.to_thread.run_sync(_fingerprint, rows, metrics)
        cached = self._importance.get(sweep.sweep_id)
        if cached is not None and cached[0] == key:
            self._importance.move_to_end(sweep.sweep_id)
            return json_response(cached[1])
        found = await anyio.to_thread.run_sync(parameter_importance, rows, metrics,
                                               limiter=self._fitting)
        answer = {"metric": metric, "goal": goal, "runs": len(rows),
                  "params": [f.to_json() for f in found]}
        self._importance[sweep.sweep_id] = (key, answer)
        while len(self._importance) > IMPORTANCE_CACHE:
            self._importance.popitem(last=False)
        return json_response(answer)

    async def set_state(self, request: web.Request) -> web.Response:
        m = request.match_info
        raw = await request.read()  # read already, within the body deadline (security.py)
        try:
            body = json.loads(raw) if len(raw) <= MAX_BODY else None
        except ValueError:
            body = None
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ACTIONS:
            raise InvalidArgumentError(
                f"send a JSON object {{\"action\": ...}} with one of {', '.join(ACTIONS)}")
        seen = await self.visible_sweep(request, m["entity"], m["project"], m["sweep_id"])
        if not may_edit(request, seen):
            raise PermissionDeniedError(f"this dashboard may not change sweep {seen.sweep_id}",
                                        sweep_id=seen.sweep_id)
        sweep = await self.controls.set_state(m["sweep_id"], str(action))
        return json_response(sweep_json(sweep))
