"""The dashboard's HTML pages: rendered on the server (jinja2, autoescaped), each with a small
script that draws charts and tables from the JSON API.

Pages and their paths follow W&B's: ``/`` (projects), ``/{entity}/{project}`` (runs table),
``/{entity}/{project}/runs/{id}`` (a run), ``/{entity}/{project}/sweeps/{id}`` (a sweep: its
state, configuration, runs, charts, parameter importance and controls; its runs in the runs
table at ``.../sweeps/{id}/runs``) and ``/{entity}/{project}/compare?runs=a,b`` (runs side by
side), and the login page (``auth.py``); the artifact pages are ``artifacts/pages.py``'s,
under ``/{entity}/{project}/artifacts``. Every page of a project links to its runs and
artifacts. The data a page starts with is embedded in it, so the first view needs no second
round trip; it never holds the token (a notebook view's holds its session id, see ``auth.py``).
Pages run no inline script (``security.py``'s policy forbids it): each loads its scripts from
``/static/``.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Any
from urllib.parse import quote

import anyio.to_thread
import jinja2
from aiohttp import web

from trackd._version import __version__
from trackd_daemon.errors import (
    InvalidArgumentError,
    RunNotFoundError,
    SweepNotFoundError,
    TrackdError,
)
from trackd_daemon.store.artifact_models import LOGGED, USED
from trackd_daemon.web.api import Api, Handler, error_status, run_detail, run_key
from trackd_daemon.web.artifact_view import artifact_row, size_text
from trackd_daemon.web.assets import TEMPLATES_DIR, Assets
from trackd_daemon.web.auth import EMBEDDED_SESSION, LOGIN_PATH, SESSION
from trackd_daemon.web.run_files import read_environment
from trackd_daemon.web.runs_table import flatten
from trackd_daemon.web.scope import may_see_artifact
from trackd_daemon.web.sweeps_api import ACTIONS, SweepsApi

#: Sweeps a project's page lists (the newest; the API lists them all): each costs a read of
#: its runs.
PROJECT_SWEEPS = 50


def _when(ts: float) -> str:
    if not ts:
        return "-"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def _value(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return f"{v:.6g}"
    if v is None:
        return "null"
    return str(v)


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(when=_when, span=_span, value=_value, size=size_text,
                       q=lambda s: quote(str(s), safe=""))
    return env


class Pages:
    """Page handlers over the API (the same reads, as HTML)."""

    def __init__(self, api: Api, sweeps: SweepsApi, assets: Assets) -> None:
        self._api = api
        self._sweeps = sweeps
        self._assets = assets
        self._env = make_env()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.projects),
            web.get("/{entity}/{project}", self.runs),
            web.get("/{entity}/{project}/sweeps/{sweep_id}", self.sweep),
            web.get("/{entity}/{project}/sweeps/{sweep_id}/runs", self.sweep_runs),
            web.get("/{entity}/{project}/runs/{run_id}", self.run),
            web.get("/{entity}/{project}/compare", self.compare),
        ]

    def render(self, request: web.Request, template: str, status: int = 200,
               **context: Any) -> web.Response:
        assets = dict(self._assets.url)
        data = {"plotly": assets["plotly"], **context.pop("data", {})}
        if request.get(EMBEDDED_SESSION):
            data["session"] = request[EMBEDDED_SESSION]
        m = request.match_info  # a project's pages link to its runs and artifacts (base.html)
        html = self._env.get_template(template).render(
            nav_entity=m.get("entity", ""), nav_project=m.get("project", ""), assets=assets,
            media_scripts=self._assets.media_scripts, version=__version__, now=time.time(),
            data=data,
            embedded=request.query.get("jupyter") == "true",
            logged_in=bool(request.get(SESSION)), **context)
        return web.Response(text=html, status=status, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    def login(self, request: web.Request, status: int, problem: str, target: str,
              reload: bool) -> web.Response:
        """The login page (``auth.LoginRenderer``)."""
        return self.render(request, "login.html", status=status, problem=problem,
                           target=target, reload=reload, action=LOGIN_PATH)

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Domain errors of pages as a short page with their HTTP status."""
        try:
            return await handler(request)
        except TrackdError as exc:
            if request.path.startswith("/api/"):
                raise
            return self.render(request, "message.html", status=error_status(exc),
                               title="Not found" if error_status(exc) == 404 else "Error",
                               message=exc.message)

    async def projects(self, request: web.Request) -> web.Response:
        return self.render(request, "projects.html",
                           projects=await self._api.project_list(request))

    async def runs(self, request: web.Request, sweep: str | None = None) -> web.Response:
        m = request.match_info
        defaults = {"sweep": sweep} if sweep else None
        sweeps, sweep_count = ([], 0) if sweep else await self._sweeps.sweep_list(
            request, m["entity"], m["project"], PROJECT_SWEEPS)
        query_error = ""
        try:
            try:
                table = await self._api.runs_table(request, m["entity"], m["project"], defaults)
            except InvalidArgumentError as bad:  # a URL with a query that cannot be read:
                query_error = bad.message  # the page says so where the runs would be
                table = await self._api.runs_table(request, m["entity"], m["project"],
                                                   defaults, use_query=False)
        except RunNotFoundError:
            if not sweeps:
                raise
            table = None  # a project whose sweeps have no run yet: its sweeps
        data = {"entity": m["entity"], "project": m["project"], "sweep": sweep, "table": table,
                "query_error": query_error}
        return self.render(request, "runs.html", entity=m["entity"], project=m["project"],
                           sweep=sweep, sweeps=sweeps, sweep_count=sweep_count, table=table,
                           data=data)

    async def sweep(self, request: web.Request) -> web.Response:
        m = request.match_info
        try:
            sweep = await self._sweeps.detail(request, m["entity"], m["project"],
                                              m["sweep_id"])
        except SweepNotFoundError as missing:
            # Runs that name a sweep this daemon does not hold: the runs table of that sweep.
            try:
                table = await self._api.runs_table(request, m["entity"], m["project"],
                                                   {"sweep": m["sweep_id"]})
            except RunNotFoundError:
                raise missing from None
            if not table["total"]:
                raise
            return await self.runs(request, sweep=m["sweep_id"])
        return self.render(request, "sweep.html", entity=m["entity"], project=m["project"],
                           sweep=sweep, actions=ACTIONS, data={
                               "entity": m["entity"], "project": m["project"],
                               "sweep": sweep})

    async def sweep_runs(self, request: web.Request) -> web.Response:
        return await self.runs(request, sweep=request.match_info["sweep_id"])

    async def run(self, request: web.Request) -> web.Response:
        run = await self._api.visible_run(request, run_key(request))
        color = await self._api.run_color(request, run)
        detail = await anyio.to_thread.run_sync(run_detail, run, color)  # NSS may block
        env = await read_environment(self._api.store, self._api.blobs, run)
        artifacts = {kind: [artifact_row(v) for v in await self._api.store.run_versions(
            run.key, kind) if may_see_artifact(request, v)] for kind in (LOGGED, USED)}
        return self.render(
            request, "run.html", run=detail, env=env, artifacts=artifacts,
            config=flatten(run.config),
            summary=flatten(run.summary), data={"run": {
                k: detail[k] for k in ("entity", "project", "id", "name", "state",
                                       "history_rows", "metrics", "color", "notes",
                                       "tags")}})

    async def compare(self, request: web.Request) -> web.Response:
        m = request.match_info
        ids = [i for v in request.query.getall("runs", []) for i in v.split(",") if i]
        table = await self._api.runs_table(request, m["entity"], m["project"],
                                           {"ids": ",".join(ids)} if ids else None)
        return self.render(request, "compare.html", entity=m["entity"], project=m["project"],
                           ids=ids, table=table, data={
                               "entity": m["entity"], "project": m["project"], "ids": ids,
                               "runs": table.get("runs", [])})
