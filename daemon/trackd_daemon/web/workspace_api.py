"""The project workspace's JSON API: the charts a project's runs offer, their series for many
runs in one request, and the workspace's saved views (its layout, see ``workspace_base.py``).

``GET  /api/v1/projects/{e}/{p}/metrics``            charts of the project's history keys
``GET  /api/v1/projects/{e}/{p}/series``             one or a few keys of many runs at once
``GET  /api/v1/projects/{e}/{p}/views``              the saved views (name, updated_at)
``GET  /api/v1/projects/{e}/{p}/views/{name}``       one view (its spec)
``POST /api/v1/projects/{e}/{p}/views/{name}``       save a view (the body is its spec)
``POST /api/v1/projects/{e}/{p}/views/{name}/delete`` delete a view

A workspace chart asks for its key over every visible run in one request; each run's series is
downsampled by the store (``downsample_history``) to about the chart's width. Downsampled
series are kept, as JSON text, in a bounded cache keyed by the run's version (its rows and last
change), and so are each run's chartable keys, so a second look at a finished project reads
and encodes nothing again; group means and bands are computed by the
page from these series (it has them already, and regrouping then costs no request).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import anyio
from aiohttp import web

from trackd_daemon.errors import InvalidArgumentError, PermissionDeniedError, RunNotFoundError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RUNNING, RunInfo
from trackd_daemon.store.series import STEP, Series, check_buckets
from trackd_daemon.web import charts
from trackd_daemon.web.api import DEFAULT_BUCKETS, dumps, finite_param, json_response
from trackd_daemon.web.scope import may_edit_workspace, visible_runs

#: Runs one series request may name (a workspace draws at most this many).
MAX_SERIES_RUNS = 1000
#: Keys one project series request may name.
MAX_PROJECT_KEYS = 20
#: Runs read at once while a request gathers series or keys.
FAN_OUT = 8
#: Bytes of encoded series the cache keeps.
CACHE_BYTES = 64 * 1024 * 1024
#: Runs whose chartable keys the cache keeps.
CACHE_KEY_SETS = 20_000


class SeriesCache:
    """Encoded downsampled series by (run, its rows and last change, key, x, range, buckets),
    least recently used first out, at most :data:`CACHE_BYTES` of text. A run that logs more
    rows (or changes otherwise) has a new key, so its old entries are never read again (and
    age out)."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self._items: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._bytes = 0
        self._limit = limit

    def get(self, key: tuple[Any, ...]) -> str | None:
        text = self._items.get(key)
        if text is not None:
            self._items.move_to_end(key)
        return text

    def put(self, key: tuple[Any, ...], text: str) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._items[key] = text
        self._bytes += len(text)
        while self._bytes > self._limit and self._items:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= len(dropped)


def run_version(run: RunInfo) -> tuple[Any, ...]:
    """A run at one version of its history (a deleted run's pk may be reused)."""
    return (run.pk, run.key.run_id, run.created_at, run.history_rows, run.updated_at)


def _ids(request: web.Request) -> list[str]:
    return [i for v in request.query.getall("runs", []) for i in v.split(",") if i]


def merged_metrics(runs: Sequence[RunInfo]) -> list[dict[str, Any]]:
    """The runs' define_metric definitions, the first of each name (newest run first)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in runs:
        for d in r.metrics:
            seen.setdefault(str(d.get("name", "")), d)
    return list(seen.values())


def line_json(s: Series) -> str:
    """A series as a workspace line draws it: x and the last value of each bucket (to 7
    significant digits, finer than a chart shows), its point count and whether it was
    bucketed; a third of the text of the whole series, which hundreds of runs make count."""
    ys = ",".join("null" if v is None else f"{v:.7g}" for v in s.last)
    return (f'{{"x":{dumps(s.x)},"last":[{ys}],"total":{s.total},'
            f'"sampled":{"true" if s.sampled else "false"}}}')


def _refuse(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


class WorkspaceApi:
    """The handlers (see the module doc) over one store."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        self.cache = SeriesCache()
        self.keys: OrderedDict[tuple[Any, ...], dict[str, int]] = OrderedDict()
        self.system_keys: OrderedDict[tuple[Any, ...], dict[str, int]] = OrderedDict()

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/projects/{entity}/{project}"
        return [
            web.get(f"{base}/metrics", self.metrics),
            web.get(f"{base}/series", self.series),
            web.get(f"{base}/views", self.views),
            web.get(f"{base}/views/{{name}}", self.view),
            web.post(f"{base}/views/{{name}}", self.save_view),
            web.post(f"{base}/views/{{name}}/delete", self.delete_view),
        ]

    async def project_runs(self, request: web.Request) -> list[RunInfo]:
        """The project's runs that ``request`` may see.

        :raises RunNotFoundError: none (no such project, or none of its runs visible).
        """
        m = request.match_info
        runs = visible_runs(request, await self.store.list_runs(m["entity"], m["project"]))
        if not runs:
            raise RunNotFoundError(f"project {m['entity']}/{m['project']} has no runs (or does "
                                   "not exist)", run=f"{m['entity']}/{m['project']}")
        return runs

    async def metrics(self, request: web.Request) -> web.Response:
        """The charts of the project's history keys, sectioned, and a System section last (the
        runs' system metrics, against the time since each run started)."""
        runs = await self.project_runs(request)
        counts: dict[str, int] = {}
        system: dict[str, int] = {}
        limiter = anyio.CapacityLimiter(FAN_OUT)

        async def cached(cache: OrderedDict[tuple[Any, ...], dict[str, int]], run: RunInfo,
                         read: Any, into: dict[str, int], reuse: bool = True) -> None:
            version = run_version(run)
            got = cache.get(version) if reuse else None
            if got is None:
                async with limiter:
                    got = await read(run.pk)
                cache[version] = got
                while len(cache) > CACHE_KEY_SETS:
                    cache.popitem(last=False)
            else:
                cache.move_to_end(version)
            for k, n in got.items():
                into[k] = into.get(k, 0) + n

        async with anyio.create_task_group() as tg:
            for run in runs:
                if run.history_rows:
                    tg.start_soon(cached, self.keys, run, self.store.history_keys, counts)
                # A running run's system samples arrive without changing its version.
                tg.start_soon(cached, self.system_keys, run, self.store.system_metric_keys,
                              system, run.state != RUNNING)
        out = charts.layout(counts, merged_metrics(runs))
        section = charts.system_section(system)
        if section is not None:
            out["sections"].append(section)
        return json_response(out)

    async def series(self, request: web.Request) -> web.Response:
        keys = request.query.getall("key", [])
        if not keys or len(keys) > MAX_PROJECT_KEYS:
            raise InvalidArgumentError(
                f"name 1 to {MAX_PROJECT_KEYS} keys with 'key' parameters")
        ids = _ids(request)
        if not ids or len(ids) > MAX_SERIES_RUNS:
            raise InvalidArgumentError(f"name 1 to {MAX_SERIES_RUNS} runs in 'runs' (ids "
                                       "separated by commas)")
        raw = request.query.get("buckets", str(DEFAULT_BUCKETS))
        try:
            buckets = int(raw)
        except ValueError:
            raise InvalidArgumentError(f"buckets must be a whole number, got {raw!r}") from None
        check_buckets(buckets)
        x_key = request.query.get("x", STEP)
        x_min, x_max = finite_param(request, "x_min"), finite_param(request, "x_max")
        by_id = {r.key.run_id: r for r in await self.project_runs(request)}
        out: dict[str, str] = {}
        limiter = anyio.CapacityLimiter(FAN_OUT)

        async def one(run: RunInfo) -> None:
            base = (*run_version(run), x_key, x_min, x_max, buckets)
            # A running run's system samples arrive without changing its version: no cache.
            parts = {k: None if run.state == RUNNING and charts.is_system_key(k) else
                     self.cache.get((*base, k)) for k in keys}
            missing = [k for k, v in parts.items() if v is None]
            history = [k for k in missing if not charts.is_system_key(k)]
            system = [k for k in missing if charts.is_system_key(k)]
            got: dict[str, Series] = {}
            async with limiter:
                if history and run.history_rows:
                    got.update(await self.store.downsample_history(
                        run.pk, history, x_key, x_min, x_max, buckets))
                if system:
                    got.update(await self.store.system_series(run.pk, system, x_key, x_min,
                                                              x_max, buckets))
            for k in missing:
                if k in got:
                    parts[k] = line_json(got[k])
                    self.cache.put((*base, k), parts[k])  # type: ignore[arg-type]
            out[run.key.run_id] = "{" + ",".join(
                f"{json.dumps(k)}:{v}" for k, v in parts.items() if v is not None) + "}"

        async with anyio.create_task_group() as tg:
            for i in dict.fromkeys(ids):
                if i in by_id:
                    tg.start_soon(one, by_id[i])
        body = ",".join(f"{json.dumps(i)}:{out[i]}" for i in dict.fromkeys(ids) if i in out)
        missing_ids = [i for i in dict.fromkeys(ids) if i not in by_id]
        text = (f'{{"x":{json.dumps(x_key)},"keys":{dumps(keys)},"runs":{{{body}}},'
                f'"missing":{dumps(missing_ids)}}}')
        return web.Response(text=text, content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    # -- views -------------------------------------------------------------------------------

    async def editable_project(self, request: web.Request) -> None:
        """:raises RunNotFoundError: the request sees no run of the project.
        :raises PermissionDeniedError: it may read the project but not change its views."""
        m = request.match_info
        if not may_edit_workspace(request, await self.project_runs(request)):
            raise PermissionDeniedError(f"this dashboard may not change the saved views of "
                                        f"{m['entity']}/{m['project']} (read access only)",
                                        run=f"{m['entity']}/{m['project']}")

    async def views(self, request: web.Request) -> web.Response:
        await self.project_runs(request)
        m = request.match_info
        got = await self.store.list_workspace_views(m["entity"], m["project"])
        return json_response({"views": [{"name": v.name, "updated_at": v.updated_at}
                                        for v in got]})

    async def view(self, request: web.Request) -> web.Response:
        await self.project_runs(request)
        m = request.match_info
        got = await self.store.get_workspace_view(m["entity"], m["project"], m["name"])
        if got is None:
            return json_response({"error": {"code": "not_found", "message": (
                f"project {m['entity']}/{m['project']} has no view {m['name']!r}")}}, 404)
        return web.Response(
            text=f'{{"name":{json.dumps(got.name)},"updated_at":{dumps(got.updated_at)},'
                 f'"spec":{got.spec}}}',
            content_type="application/json", headers={"Cache-Control": "no-store"})

    async def save_view(self, request: web.Request) -> web.Response:
        await self.editable_project(request)
        m = request.match_info
        raw = await request.read()  # bounded by the server's body limit (client_max_size)
        try:
            spec = json.loads(raw, parse_constant=_refuse)
        except ValueError as exc:
            raise InvalidArgumentError(f"the body must be a JSON object: {exc}") from None
        if not isinstance(spec, dict):
            raise InvalidArgumentError("the body must be a JSON object")
        saved = await self.store.put_workspace_view(
            m["entity"], m["project"], m["name"], dumps(spec), time.time())
        return json_response({"name": saved.name, "updated_at": saved.updated_at})

    async def delete_view(self, request: web.Request) -> web.Response:
        await self.editable_project(request)
        m = request.match_info
        deleted = await self.store.delete_workspace_view(m["entity"], m["project"], m["name"])
        return json_response({"deleted": deleted})
