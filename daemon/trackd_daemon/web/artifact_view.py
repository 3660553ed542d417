"""What the artifact pages show, from the store's records (pure; ``api.py`` reads the
store): versions and collections as JSON, a folder of a version's files, and how a file is
previewed (text, image, table or none) and its preview read.

Paths of the pages and the API: ``/{entity}/{project}/artifacts`` (the project's artifacts),
``.../artifacts/{type}/{name}`` (a collection or portfolio), ``.../{type}/{name}/{selector}``
(a version by ``vN``, alias or digest); the API's are the same under
``/api/v1/artifacts/{entity}/{project}/`` (``/api/v1/projects/{entity}/{project}/artifacts``
for the list).
"""

from __future__ import annotations

import json
import math
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from trackd_daemon.store.artifact_models import (
    CollectionInfo,
    CollectionKey,
    Entry,
    LinkInfo,
    VersionInfo,
)
from trackd_daemon.store.models import RunKey
from trackd_daemon.web.user_content import IMAGE_TYPES, TEXT_SUFFIXES

#: Bytes of a text file a preview shows.
TEXT_PREVIEW_BYTES = 256 << 10
#: Largest table file (W&B's ``.table.json``) a preview parses, and the rows it shows.
TABLE_PREVIEW_BYTES = 16 << 20
TABLE_PREVIEW_ROWS = 500
TABLE_SUFFIX = ".table.json"


def size_text(n: int) -> str:
    """Bytes for people: ``512 B``, ``1.5 KiB``, ``20 MiB``; ``-`` when unknown."""
    if n < 0:
        return "-"
    if n < 1024:
        return f"{n} B"
    units = ("KiB", "MiB", "GiB", "TiB")
    value, i = n / 1024, 0
    while value >= 1024 and i < len(units) - 1:
        value, i = value / 1024, i + 1
    return f"{value:.1f} {units[i]}" if value < 10 else f"{value:.0f} {units[i]}"


def q(part: str) -> str:
    return quote(part, safe="")


def run_href(run: RunKey) -> str:
    return f"/{q(run.entity)}/{q(run.project)}/runs/{q(run.run_id)}"


def artifacts_href(entity: str, project: str) -> str:
    return f"/{q(entity)}/{q(project)}/artifacts"


def collection_href(key: CollectionKey, type_: str) -> str:
    return f"{artifacts_href(key.entity, key.project)}/{q(type_)}/{q(key.name)}"


def version_href(key: CollectionKey, type_: str, version: str) -> str:
    return f"{collection_href(key, type_)}/{q(version)}"


def api_path(href: str) -> str:
    """The API path of a collection's or version's page path."""
    _, entity, project, _, rest = href.split("/", 4)  # "", entity, project, "artifacts", rest
    return f"/api/v1/artifacts/{entity}/{project}/{rest}"


def run_json(run: RunKey | None, names: dict[RunKey, tuple[str, str]] | None = None,
             ) -> dict[str, Any] | None:
    """A run a version names: its key, link, and (``names``: by key) name and state; a run
    ``names`` lacks was deleted or is not visible: shown by id without a link."""
    if run is None:
        return None
    name, state = (names or {}).get(run, ("", ""))
    known = names is None or run in names
    return {"entity": run.entity, "project": run.project, "id": run.run_id,
            "name": name or run.run_id, "state": state, "href": run_href(run) if known else ""}


def link_json(link: LinkInfo, type_: str) -> dict[str, Any]:
    version = f"v{link.version_index}"
    return {"portfolio": link.portfolio.name, "entity": link.portfolio.entity,
            "project": link.portfolio.project, "version": version,
            "aliases": list(link.aliases), "created_at": link.created_at,
            "href": version_href(link.portfolio, type_, version)}


def version_json(v: VersionInfo, names: dict[RunKey, tuple[str, str]] | None = None,
                 ) -> dict[str, Any]:
    """A version (seen through a link: the link's number and aliases, ``link`` set)."""
    source_href = version_href(v.key, v.type, v.version)
    out = {
        "id": v.id, "entity": v.key.entity, "project": v.key.project, "name": v.key.name,
        "type": v.type, "version": v.version, "state": v.state, "digest": v.digest,
        "description": v.description, "metadata": _jsonable(v.metadata),
        "aliases": list(v.aliases), "tags": list(v.tags), "size": v.size,
        "file_count": v.file_count, "created_at": v.created_at, "updated_at": v.updated_at,
        "ttl_seconds": v.ttl_seconds, "expires_at": v.expires_at,
        "logged_by": run_json(v.logged_by, names), "href": source_href,
        "links": [link_json(link, v.type) for link in v.links], "link": None,
    }
    if v.link is not None:
        out["link"] = link_json(v.link, v.type)
        out["href"] = out["link"]["href"]
    return out


def artifact_row(v: VersionInfo) -> dict[str, Any]:
    """A version as a run page's Artifacts tab lists it (logged or used by the run)."""
    return {"type": v.type, "name": f"{v.key.name}:{v.version}", "aliases": list(v.aliases),
            "size": v.size, "files": v.file_count, "state": v.state,
            "project": v.key.project, "href": version_href(v.key, v.type, v.version)}


def collection_json(c: CollectionInfo, latest: VersionInfo | None) -> dict[str, Any]:
    """A collection or portfolio with its newest version (or link)."""
    return {
        "name": c.key.name, "type": c.type, "portfolio": c.is_portfolio,
        "versions": c.version_count, "aliases": list(c.aliases), "created_at": c.created_at,
        "updated_at": c.updated_at, "href": collection_href(c.key, c.type),
        "latest": None if latest is None else {
            "version": latest.version, "aliases": list(latest.aliases), "size": latest.size,
            "created_at": latest.created_at, "href": version_href(c.key, c.type, latest.version),
            **({"source": f"{latest.key.name}:v{latest.version_index}"} if c.is_portfolio
               else {})},
    }


def by_type(collections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collections (not portfolios) grouped by type, types and names in order."""
    types: dict[str, list[dict[str, Any]]] = {}
    for c in collections:
        if not c["portfolio"]:
            types.setdefault(c["type"], []).append(c)
    return [{"type": t, "collections": sorted(types[t], key=lambda c: c["name"])}
            for t in sorted(types)]


def folder(entries: list[Entry], directory: str) -> dict[str, Any]:
    """The children of ``directory`` ("" for the root) among ``entries`` (all under it):
    its folders (with how many files and bytes they hold) and its files."""
    prefix = directory + "/" if directory else ""
    folders: dict[str, dict[str, Any]] = {}
    files: list[dict[str, Any]] = []
    for e in entries:
        if not e.path.startswith(prefix):
            continue
        rest = e.path[len(prefix):]
        head, sep, _ = rest.partition("/")
        if sep:
            f = folders.setdefault(head, {"name": head, "path": prefix + head, "files": 0,
                                          "size": 0})
            f["files"] += 1
            f["size"] += max(e.size, 0)
        else:
            files.append({"name": rest, "path": e.path, "size": e.size, "digest": e.digest,
                          "ref": e.ref, "preview": preview_kind(e)})
    return {"dir": directory, "folders": sorted(folders.values(), key=lambda f: f["name"]),
            "files": files}


def preview_kind(e: Entry) -> str:
    """How a file is previewed: "text", "image", "table", "reference" (bytes held elsewhere)
    or "none" (a download only: anything that could run script, SVG and HTML included)."""
    if e.ref and not e.blob_key:
        return "reference"
    name = e.path.lower()
    if name.endswith(TABLE_SUFFIX):
        return "table"
    suffix = PurePosixPath(name).suffix
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return "none"


def text_preview(head: bytes, size: int) -> dict[str, Any]:
    """The first bytes of a text file as text (a character cut at the end dropped; bytes that
    are not UTF-8 replaced)."""
    truncated = size > len(head)
    text = head.decode("utf-8", errors="replace")
    if truncated and text.endswith("\ufffd"):
        text = text.rstrip("\ufffd")
    return {"kind": "text", "text": text, "truncated": truncated, "size": size}


def _cell(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict) and value.get("_type"):
        return f"<{value['_type']}{': ' + str(value['path']) if value.get('path') else ''}>"
    return json.dumps(value, separators=(",", ":"), default=str)[:1000]


def table_preview(raw: bytes, size: int) -> dict[str, Any]:
    """A W&B table file (``{"columns": [...], "data": [[...], ...]}``) as its columns and
    first rows; media cells (``{"_type": ...}``) named by their type and path.

    :raises ValueError: it is not such a table.
    """
    value = json.loads(raw)
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list) \
            or not isinstance(value.get("data"), list):
        raise ValueError("not a table: a JSON object with 'columns' and 'data' lists")
    columns = [str(c) for c in value["columns"]]
    rows = [[_cell(c) for c in row] if isinstance(row, list) else [_cell(row)]
            for row in value["data"][:TABLE_PREVIEW_ROWS]]
    return {"kind": "table", "columns": columns, "rows": rows, "total_rows": len(value["data"]),
            "truncated": len(value["data"]) > TABLE_PREVIEW_ROWS, "size": size}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def edited(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """A list of aliases or tags after adding and removing some (order kept, new ones last)."""
    gone = set(remove)
    return list(dict.fromkeys([*(x for x in current if x not in gone), *add]))
