"""The artifacts part of the JSON API (``openapi.yaml``), over the store's artifact records
(``store/artifact_base.py``) and the blob store; ``web/artifact_view.py`` shapes the answers and
``lineage.py`` builds the graph.

- ``GET /api/v1/projects/{entity}/{project}/artifacts``: the project's collections by type, and
  its portfolios (the model registry's ``link_artifact`` targets) with their linked versions;
- ``GET /api/v1/artifacts/{entity}/{project}/{type}/{name}``: a collection (or portfolio) and
  its versions (or links), newest first;
- ``GET .../{type}/{name}/{selector}``: a version by ``vN``, alias or digest, who logged it and
  who used it; ``.../files?dir=`` one folder of its files, ``.../files/{path}`` a file's bytes
  (as user content, ``user_content.py``), ``.../preview/{path}`` a file's preview (text,
  image, table), ``.../lineage?expand=NODE`` its lineage graph;
- ``POST .../{selector}/aliases`` and ``.../tags`` with ``{"add": [...], "remove": [...]}``:
  the store's update, with the SDK's rules (``artifacts/validate.py``; an alias held by another
  version of the collection moves here; "latest" follows the newest version and is moved, not
  removed). Through a portfolio, the link's aliases change; its tags are the source version's.
  The same-origin rule of ``security.py`` refuses these from pages of other sites.

What a request may see and change is decided in ``scope.py``: a collection it may not see is
answered 404, as one that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from aiohttp import web

from trackd_daemon.artifacts import validate
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import (
    ArtifactNotFoundError,
    InvalidArgumentError,
    PermissionDeniedError,
    RunNotFoundError,
)
from trackd_daemon.store.artifact_models import (
    LATEST,
    LOGGED,
    USED,
    CollectionInfo,
    CollectionKey,
    Entry,
    VersionChanges,
    VersionInfo,
)
from trackd_daemon.store.models import RunKey
from trackd_daemon.web import artifact_view as view
from trackd_daemon.web import user_content
from trackd_daemon.web.api import Api, json_response
from trackd_daemon.web.artifacts.lineage import (
    MAX_NEIGHBOURS,
    LineageGraph,
    Node,
    artifact_node_id,
    run_node_id,
)
from trackd_daemon.web.scope import may_edit, may_see, may_see_artifact, visible_collections

#: Versions a collection's page lists (the newest), and links a portfolio's entry lists.
MAX_VERSIONS = 500
PORTFOLIO_LINKS = 50
#: Collections of a project listed (by name).
MAX_COLLECTIONS = 1000
#: Manifest entries read for one folder of a version's files.
MAX_FOLDER_SCAN = 50_000
#: Nodes one lineage request may ask to expand.
MAX_EXPAND = 100
#: The longest edit body read.
MAX_BODY = 64 << 10
CHUNK = 1 << 20


def _key(request: web.Request) -> tuple[CollectionKey, str]:
    m = request.match_info
    return CollectionKey(m["entity"], m["project"], m["name"]), m["type"]


async def _body_lists(request: web.Request) -> tuple[list[str], list[str]]:
    raw = await request.read()  # read already, within the body deadline (security.py)
    try:
        body = json.loads(raw) if len(raw) <= MAX_BODY else None
    except ValueError:
        body = None
    lists = [body.get(k, []) if isinstance(body, dict) else None for k in ("add", "remove")]
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists):
        raise InvalidArgumentError('send a JSON object {"add": [names], "remove": [names]}')
    return lists[0], lists[1]  # type: ignore[return-value]


class ArtifactsApi:
    """The artifact handlers over the API's store and the blob store."""

    def __init__(self, api: Api, blobs: BlobStore | None) -> None:
        self._api = api
        self._store = api.store
        self._blobs = blobs

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/artifacts/{entity}/{project}/{type}/{name}"
        version = base + "/{selector}"
        return [
            web.get("/api/v1/projects/{entity}/{project}/artifacts", self.list),
            web.get(base, self.collection),
            web.get(version, self.version),
            web.get(version + "/files", self.files),
            web.get(version + "/files/{path:.+}", self.file),
            web.get(version + "/preview/{path:.+}", self.preview),
            web.get(version + "/lineage", self.lineage),
            web.post(version + "/aliases", self.edit_aliases),
            web.post(version + "/tags", self.edit_tags),
        ]

    # -- reads shared with the pages -----------------------------------------------------

    async def visible_collection(self, request: web.Request, key: CollectionKey,
                                 type_: str) -> CollectionInfo:
        """:raises ArtifactNotFoundError: no such collection of that type, or one the request
        may not see."""
        found = await self._store.get_collection(key)
        if found is None or found.type != type_ or not visible_collections(request, [found]):
            raise ArtifactNotFoundError(f"no artifact collection {key} of type {type_!r}",
                                        collection=str(key))
        return found

    async def target(self, request: web.Request) -> tuple[CollectionInfo, VersionInfo]:
        """The collection and version a request's path names.

        :raises ArtifactNotFoundError: none, or one the request may not see.
        """
        key, type_ = _key(request)
        collection = await self.visible_collection(request, key, type_)
        selector = request.match_info["selector"]
        v = await self._store.resolve_version(key, selector)
        if not may_see_artifact(request, v):
            raise ArtifactNotFoundError(f"no artifact {key}:{selector}", collection=str(key))
        return collection, v

    async def run_names(self, request: web.Request,
                        keys: list[RunKey]) -> dict[RunKey, tuple[str, str]]:
        """Name and state of each run of ``keys`` that exists and the request may see."""
        out: dict[RunKey, tuple[str, str]] = {}
        for key in dict.fromkeys(keys):
            try:
                run = await self._store.get_run(key)
            except RunNotFoundError:
                continue
            if may_see(request, run):
                out[key] = (run.name, run.state)
        return out

    async def project_artifacts(self, request: web.Request, entity: str,
                                project: str) -> dict[str, Any]:
        collections = visible_collections(
            request, await self._store.list_collections(entity, project))[:MAX_COLLECTIONS]
        shown = []
        portfolios = []
        for c in collections:
            newest = await self._store.list_versions(
                entity, project, c.key.name, limit=PORTFOLIO_LINKS if c.is_portfolio else 1)
            newest = [v for v in newest if may_see_artifact(request, v)]
            item = view.collection_json(c, newest[0] if newest else None)
            shown.append(item)
            if c.is_portfolio:
                portfolios.append({**item, "links": [
                    {**view.version_json(v), "source_version": await self._source_version(v)}
                    for v in newest]})
        return {"entity": entity, "project": project, "types": view.by_type(shown),
                "portfolios": portfolios, "total": len(shown)}

    async def _source_version(self, link_view: VersionInfo) -> dict[str, Any]:
        """The version a link points at, as its own collection numbers it."""
        source = await self._store.get_version(link_view.id)
        return {"name": source.key.name, "version": source.version,
                "entity": source.key.entity, "project": source.key.project,
                "href": view.version_href(source.key, source.type, source.version)}

    async def collection_detail(self, request: web.Request) -> dict[str, Any]:
        key, type_ = _key(request)
        c = await self.visible_collection(request, key, type_)
        versions = [v for v in await self._store.list_versions(
            key.entity, key.project, key.name, limit=MAX_VERSIONS) if may_see_artifact(request, v)]
        names = await self.run_names(request, [v.logged_by for v in versions if v.logged_by])
        out = []
        for v in versions:
            item = view.version_json(v, names)
            if c.is_portfolio:
                item["source_version"] = await self._source_version(v)
            out.append(item)
        return {"collection": view.collection_json(c, versions[0] if versions else None),
                "versions": out, "artifacts_href": view.artifacts_href(key.entity, key.project)}

    async def describe(self, request: web.Request, c: CollectionInfo,
                       v: VersionInfo) -> dict[str, Any]:
        """A version with who logged and used it (and, seen through a link, its source)."""
        logged, users = await self._store.lineage(v.id)
        names = await self.run_names(request, [*([logged] if logged else []), *users])
        out = view.version_json(v, names)
        out["used_by"] = [view.run_json(r, names) for r in users if r in names]
        out["collection"] = view.collection_json(c, None)
        out["api"] = view.api_path(out["href"])
        out["source_version"] = await self._source_version(v) if v.link is not None else None
        return out

    async def version_detail(self, request: web.Request) -> dict[str, Any]:
        c, v = await self.target(request)
        return await self.describe(request, c, v)

    async def entry(self, request: web.Request) -> tuple[VersionInfo, Entry]:
        """The version and the manifest entry a file request names.

        :raises ArtifactNotFoundError: no such file in the version.
        """
        _, v = await self.target(request)
        path = request.match_info["path"]
        found = await self._store.manifest(v.id, paths=[path], limit=1)
        if not found:
            raise ArtifactNotFoundError(f"artifact {v.key}:{v.version} has no file {path!r}",
                                        path=path)
        return v, found[0]

    # -- handlers --------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response(await self.project_artifacts(request, m["entity"], m["project"]))

    async def collection(self, request: web.Request) -> web.Response:
        return json_response(await self.collection_detail(request))

    async def version(self, request: web.Request) -> web.Response:
        return json_response(await self.version_detail(request))

    async def files(self, request: web.Request) -> web.Response:
        _, v = await self.target(request)
        directory = request.query.get("dir", "").strip("/")
        prefix = directory + "/" if directory else ""
        entries: list[Entry] = []
        after = ""
        while len(entries) < MAX_FOLDER_SCAN:
            page = await self._store.manifest(v.id, path_prefix=prefix, after=after, limit=1000)
            entries += page
            if len(page) < 1000:
                break
            after = page[-1].path
        out = await anyio.to_thread.run_sync(view.folder, entries, directory)
        out["truncated"] = len(entries) >= MAX_FOLDER_SCAN
        out["file_count"] = v.file_count
        return json_response(out)

    async def _open(self, e: Entry) -> Any:
        if not e.blob_key or self._blobs is None:
            where = f": its bytes are at {e.ref}" if e.ref else ""
            raise ArtifactNotFoundError(f"the daemon holds no bytes of {e.path!r}{where}",
                                        path=e.path)
        try:
            return await anyio.to_thread.run_sync(self._blobs.open, e.blob_key)
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"the bytes of {e.path!r} are missing from the blob "
                                        "store", path=e.path) from None

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A file's bytes, as user content (``user_content.py``: never run as a page)."""
        _, e = await self.entry(request)
        f = await self._open(e)

        async def blob() -> AsyncIterator[bytes]:
            while chunk := await anyio.to_thread.run_sync(f.read, CHUNK):
                yield chunk

        try:
            return await user_content.send(request, e.path, blob(), e.size if e.size >= 0
                                           else None)
        finally:
            await anyio.to_thread.run_sync(f.close)

    async def preview(self, request: web.Request) -> web.Response:
        _, e = await self.entry(request)
        kind = view.preview_kind(e)
        if kind == "reference":
            return json_response({"kind": kind, "ref": e.ref, "size": e.size})
        m = request.match_info
        url = "/".join(["/api/v1/artifacts", *(view.q(m[k]) for k in (
            "entity", "project", "type", "name", "selector")), "files",
            *(view.q(part) for part in e.path.split("/"))])
        if kind in ("none", "image"):
            return json_response({"kind": kind, "url": url, "size": e.size})
        f = await self._open(e)
        limit = view.TEXT_PREVIEW_BYTES if kind == "text" else view.TABLE_PREVIEW_BYTES
        try:
            head = await anyio.to_thread.run_sync(f.read, limit)
        finally:
            await anyio.to_thread.run_sync(f.close)
        size = e.size if e.size >= 0 else len(head)
        if kind == "table":
            if size > len(head):
                return json_response({"kind": "none", "url": url, "size": size,
                                      "reason": "too large to show as a table"})
            try:
                out = await anyio.to_thread.run_sync(view.table_preview, head, size)
            except ValueError:
                out = view.text_preview(head[:view.TEXT_PREVIEW_BYTES], size)
        else:
            out = view.text_preview(head, size)
        return json_response({**out, "url": url})

    async def lineage(self, request: web.Request) -> web.Response:
        c, v = await self.target(request)
        source = await self._store.get_version(v.id) if v.link is not None else v
        wanted = request.query.getall("expand", [])[:MAX_EXPAND]
        graph = LineageGraph(artifact_node_id(source.id))
        graph.add(self._artifact_node(source))
        cache: dict[RunKey, Node | None] = {}
        await self._expand(request, graph, graph.seed, cache)
        pending = [w for w in dict.fromkeys(wanted) if w != graph.seed]
        while pending and not graph.full():
            ready = [w for w in pending if w in graph.nodes]
            if not ready:
                break
            for node_id in ready:
                await self._expand(request, graph, node_id, cache)
            pending = [w for w in pending if w not in ready]
        return json_response(graph.to_json())

    # -- lineage ---------------------------------------------------------------------------

    def _artifact_node(self, v: VersionInfo) -> Node:
        return Node(artifact_node_id(v.id), "artifact", f"{v.key.name}:{v.version}", v.type,
                    view.version_href(v.key, v.type, v.version))

    async def _run_node(self, request: web.Request, key: RunKey,
                        cache: dict[RunKey, Node | None]) -> Node | None:
        if key not in cache:
            names = await self.run_names(request, [key])
            cache[key] = None if key not in names else Node(
                run_node_id(key.entity, key.project, key.run_id), "run",
                names[key][0] or key.run_id, names[key][1], view.run_href(key))
        return cache[key]

    async def _expand(self, request: web.Request, graph: LineageGraph, node_id: str,
                      cache: dict[RunKey, Node | None]) -> None:
        """Add a node's neighbours (its producer and consumers) to the graph."""
        node = graph.nodes[node_id]
        if node.expanded:
            return
        node.expanded = True
        kind, _, ident = node_id.partition(":")
        if kind == "artifact":
            logged, users = await self._store.lineage(ident)
            inputs = [n for n in [await self._run_node(request, r, cache)
                                  for r in ([logged] if logged else [])] if n]
            outputs: list[Node] = []
            considered = 0
            for r in users:
                if len(outputs) >= MAX_NEIGHBOURS:
                    break
                considered += 1
                found = await self._run_node(request, r, cache)
                if found:
                    outputs.append(found)
            node.more = len(users) - considered
        else:
            entity, project, run_id = ident.split("/", 2)
            key = RunKey(entity, project, run_id)
            used = [v for v in await self._store.run_versions(key, USED)
                    if may_see_artifact(request, v)]
            made = [v for v in await self._store.run_versions(key, LOGGED)
                    if may_see_artifact(request, v)]
            inputs = [self._artifact_node(v) for v in used[:MAX_NEIGHBOURS]]
            outputs = [self._artifact_node(v) for v in made[:MAX_NEIGHBOURS]]
            node.more = max(0, len(used) - MAX_NEIGHBOURS) + max(0, len(made) - MAX_NEIGHBOURS)
        for i, n in enumerate(inputs + outputs):
            if n.id not in graph.nodes and graph.full():
                node.more += len(inputs) + len(outputs) - i
                break
            n = graph.add(n)
            if i < len(inputs):
                graph.connect(n.id, node_id)
            else:
                graph.connect(node_id, n.id)

    # -- edits -----------------------------------------------------------------------------

    async def _edit(self, request: web.Request, field: str) -> web.Response:
        add, remove = await _body_lists(request)
        c, v = await self.target(request)
        if not may_edit(request, v):
            raise PermissionDeniedError(f"this dashboard may not change artifact {v.key}",
                                        artifact=str(v.key))
        portfolio = c.key if v.link is not None else None
        if field == "aliases":
            add = validate.aliases(add, "add")
            if LATEST in remove and LATEST in v.aliases:
                raise InvalidArgumentError(
                    "'latest' follows the newest version: add it to another version to move "
                    "it there", field="remove")
            changes = VersionChanges(aliases=view.edited(v.aliases, add, remove))
        else:
            if portfolio is not None:
                raise InvalidArgumentError(
                    f"a link's aliases are all that may change through it; edit the tags of "
                    f"the source version ({v.key}:{(await self._store.get_version(v.id)).version})",
                    field="tags")
            changes = VersionChanges(tags=view.edited(v.tags, validate.tags(add, "add"),
                                                      remove))
        got = await self._store.update_version(v.id, changes, portfolio)
        return json_response(await self.describe(request, c, got))

    async def edit_aliases(self, request: web.Request) -> web.Response:
        return await self._edit(request, "aliases")

    async def edit_tags(self, request: web.Request) -> web.Response:
        return await self._edit(request, "tags")
