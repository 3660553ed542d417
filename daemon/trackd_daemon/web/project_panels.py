"""The data of the project workspace's panels that the browser cannot compute from the runs
table alone (``openapi.yaml``):

- ``GET /api/v1/projects/{entity}/{project}/importance?metric=KEY``: the parameter importance of
  the project's config keys for one summary metric, as W&B's parameter importance panel shows
  it: per config key (a categorical one per value), its correlation with the metric and its
  importance in a random forest predicting the metric (the sweeps engine's
  ``sweeps/importance.py``, as a sweep's page has it). The runs are those of the runs table
  under the same filter parameters (``q``, ``state``, ``tag``, ``group``, ``sweep``, ``ids``,
  ``filter``), so that the panel follows the table; runs without a finite value of the metric
  are left out. The forest is fitted in a worker thread, one at a time, and the answer is kept
  while its runs' parameters and metrics stay the same.

Runs are read as the runs table's are (``scope.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread
from aiohttp import web

from trackd_daemon.errors import InvalidArgumentError, RunNotFoundError
from trackd_daemon.sweeps.importance import parameter_importance
from trackd_daemon.web.api import Api, json_response
from trackd_daemon.web.runs_table import Query, Row, parse_query, select
from trackd_daemon.web.scope import visible_runs

#: Answers kept (the most recently asked for): one is a few hundred numbers.
IMPORTANCE_CACHE = 64


def metric_key(raw: str) -> str:
    """The summary key a ``metric`` parameter names (``acc`` or ``summary.acc``).

    :raises InvalidArgumentError: none named.
    """
    key = raw.strip()
    if key.startswith("summary."):
        key = key[len("summary."):]
    if not key:
        raise InvalidArgumentError(
            "name the metric with the 'metric' parameter, a summary key such as 'val/loss'")
    return key


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def importance_input(rows: Sequence[Row], query: Query, metric: str) -> tuple[
        list[dict[str, Any]], list[float]]:
    """Each chosen run's config (by dotted key) and metric, for runs with a finite metric.

    :raises InvalidArgumentError: no run of the project has the metric.
    """
    if not any(metric in r.summary for r in rows):
        raise InvalidArgumentError(
            f"unknown metric {metric!r}: no run of this project has it in its summary")
    params: list[dict[str, Any]] = []
    metrics: list[float] = []
    # Oldest first: the engine keeps the newest runs past its limit.
    for r in sorted(select(rows, query), key=lambda r: (r.run.created_at, r.run.pk)):
        value = _finite(r.summary.get(metric))
        if value is not None:
            params.append(dict(r.config))
            metrics.append(value)
    return params, metrics


def fingerprint(params: list[dict[str, Any]], metrics: list[float]) -> str:
    """What an importance was computed from, in a few bytes."""
    text = json.dumps([params, metrics], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ProjectPanelsApi:
    """The workspace panels' handlers, over the runs table's store and row cache."""

    def __init__(self, api: Api) -> None:
        self._api = api
        #: By what the answer was computed from (and the metric): the answer.
        self._importance: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # One forest at a time: a fit takes a core, and the daemon has runs to serve.
        self._fitting = anyio.CapacityLimiter(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/projects/{entity}/{project}/importance", self.importance)]

    async def importance(self, request: web.Request) -> web.Response:
        m = request.match_info
        metric = metric_key(request.query.get("metric", ""))
        multi = {k: request.query.getall(k) for k in request.query}
        query = parse_query(request.query, multi)
        runs = visible_runs(request, await self._api.store.list_runs(m["entity"],
                                                                      m["project"]))
        if not runs:
            raise RunNotFoundError(
                f"project {m['entity']}/{m['project']} has no runs (or does not exist)",
                run=f"{m['entity']}/{m['project']}")
        rows = await anyio.to_thread.run_sync(self._api.rows.rows, runs)
        params, metrics = await anyio.to_thread.run_sync(importance_input, rows, query,
                                                              metric)
        key = metric + "\0" + await anyio.to_thread.run_sync(fingerprint, params, metrics)
        answer = self._importance.get(key)
        if answer is None:
            found = await anyio.to_thread.run_sync(parameter_importance, params, metrics,
                                                   limiter=self._fitting)
            answer = {"metric": metric, "runs": len(params),
                      "params": [f.to_json() for f in found]}
            self._importance[key] = answer
            while len(self._importance) > IMPORTANCE_CACHE:
                self._importance.popitem(last=False)
        else:
            self._importance.move_to_end(key)
        return json_response(answer)
