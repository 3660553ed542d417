"""The artifact pages (W&B's paths): ``/{entity}/{project}/artifacts`` (the project's
collections by type, and its portfolios), ``.../artifacts/{type}/{name}`` (a collection's
versions, or a portfolio's links) and ``.../artifacts/{type}/{name}/{selector}`` (a version:
its aliases and tags, editable; metadata, files with previews, who logged and used it, and its
lineage graph). Rendered by ``pages.Pages`` from the same reads as the API
(``api.py``); the version page's scripts are ``artifacts.js`` and ``lineage.js``.
"""

from __future__ import annotations

from aiohttp import web

from trackd_daemon.web.artifacts.api import ArtifactsApi
from trackd_daemon.web.pages import Pages


class ArtifactPages:
    """The artifact page handlers, rendered by the dashboard's ``Pages``."""

    def __init__(self, pages: Pages, api: ArtifactsApi) -> None:
        self._pages = pages
        self._api = api

    def routes(self) -> list[web.RouteDef]:
        base = "/{entity}/{project}/artifacts"
        return [
            web.get(base, self.project),
            web.get(base + "/{type}/{name}", self.collection),
            web.get(base + "/{type}/{name}/{selector}", self.version),
        ]

    async def project(self, request: web.Request) -> web.Response:
        m = request.match_info
        listing = await self._api.project_artifacts(request, m["entity"], m["project"])
        return self._pages.render(request, "artifacts.html", entity=m["entity"],
                                  project=m["project"], listing=listing)

    async def collection(self, request: web.Request) -> web.Response:
        m = request.match_info
        detail = await self._api.collection_detail(request)
        return self._pages.render(request, "artifact_collection.html", entity=m["entity"],
                                  project=m["project"], detail=detail, c=detail["collection"])

    async def version(self, request: web.Request) -> web.Response:
        m = request.match_info
        detail = await self._api.version_detail(request)
        return self._pages.render(request, "artifact.html", entity=m["entity"],
                                  project=m["project"], v=detail,
                                  number=(detail["link"] or detail)["version"],
                                  data={"version": detail})
