"""The run page's media panels, as JSON API handlers under
``/api/v1/runs/{entity}/{project}/{run_id}/``:

- ``media``: the run's media keys (history keys whose values are W&B's media dicts: images,
  tables, histograms, video, audio, Html, 3D objects, plotly charts, model graphs), found in
  the run's summary (which holds each key's last value; a model graph, kept only there, comes
  with its value), the class labels of image masks and boxes kept in the
  run config, and its custom charts (``trackd.plot``: config
  ``_wandb.visualize``, each drawn from the table its history key ``<key>_table`` holds);
- ``media/values?key=K``: that key's values at up to ``limit`` steps spread evenly over the run
  (the first and the last included), with their steps, for a panel's step slider or heat map
  (``media_index.py`` keeps them per run, read once);
- ``html/{name}``: a logged Html file, the one kind of user content shown as a page — only in
  a sandbox of its own (``user_content.html_headers``): an opaque origin, which can neither read
  the dashboard's cookie nor call its API.

The bytes of every other media file are the run's files (``files/{name}`` in ``run_files.py``),
served as user content: images inline, video and audio inline as themselves, JSON as text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import anyio.to_thread
from aiohttp import web

from trackd._shared.run_files import name_problem
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import InvalidArgumentError, RunFileNotFoundError
from trackd_daemon.web import user_content
from trackd_daemon.web.api import Api, json_response, run_key
from trackd_daemon.web.media_index import SUMMARY_TYPES, MediaIndex, dig, media_paths
from trackd_daemon.web.runs_table import jsonable

#: Steps one values request returns at most (a slider or heat map needs no more; a panel asks
#: for fewer).
MAX_VALUES = 1000
DEFAULT_VALUES = 500
#: Custom chart key suffix (W&B's): ``trackd.plot`` logs its table under ``<key>_table``.
TABLE_SUFFIX = "_table"
CHUNK = 1 << 20


def version(value: Any) -> str:
    """A short digest of a key's last value: it changes when a new value is logged, so that a
    page redraws the panel."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _table_key(key: str, panel_config: Mapping[str, Any]) -> str:
    """The history key of a custom chart's table: the ``tableKey`` argument of its query
    (W&B's ``userQuery``), else ``<key>_table``."""
    stack: list[Any] = [panel_config.get("userQuery")]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("name") == "tableKey" and isinstance(item.get("value"), str):
                return str(item["value"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return key + TABLE_SUFFIX


def wandb_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config's ``_wandb`` entry (empty when there is none)."""
    wandb_cfg = config.get("_wandb")
    if isinstance(wandb_cfg, dict) and isinstance(wandb_cfg.get("value"), dict):
        wandb_cfg = wandb_cfg["value"]  # W&B's config.yaml shape
    return wandb_cfg if isinstance(wandb_cfg, dict) else {}


def class_labels(config: Mapping[str, Any]) -> dict[str, Any]:
    """Class labels of image masks and boxes kept in the run config, as W&B keeps them
    (``_wandb`` ``mask/class_labels`` and ``bounding_box/class_labels``, by
    ``<key>_wandb_delimeter_<set>``)."""
    cfg = wandb_config(config)
    out = {}
    for name, entry in (("masks", "mask/class_labels"), ("boxes", "bounding_box/class_labels")):
        value = cfg.get(entry)
        out[name] = value if isinstance(value, dict) else {}
    return out


def custom_charts(config: Mapping[str, Any], summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's custom charts (config ``_wandb.visualize``), each with its table's latest
    value (``None`` until its table is logged)."""
    visualize = wandb_config(config).get("visualize")
    if not isinstance(visualize, dict):
        return []
    out = []
    for key in sorted(visualize):
        spec = visualize[key]
        if not isinstance(spec, dict) or not isinstance(spec.get("panel_config"), dict):
            continue
        panel = spec["panel_config"]
        table_key = _table_key(key, panel)
        table = summary.get(table_key)
        if table is None:
            table = summary.get(f"Custom Chart Tables/{table_key}")
        out.append({"key": key, "panel_type": spec.get("panel_type"), "panel_config": panel,
                    "table_key": table_key, "version": version([spec, table]),
                    "table": table if isinstance(table, dict)
                    and table.get("_type") == "table-file" else None})
    return out


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "")
    if raw == "":
        return DEFAULT_VALUES
    try:
        n = int(raw)
    except ValueError:
        raise InvalidArgumentError(f"limit must be a whole number, got {raw!r}") from None
    if not 2 <= n <= MAX_VALUES:
        raise InvalidArgumentError(f"limit must be between 2 and {MAX_VALUES}, got {n}")
    return n


class MediaApi:
    """Handlers over the API's store and the blob store."""

    def __init__(self, api: Api, blobs: BlobStore | None) -> None:
        self._api = api
        self._store = api.store
        self._blobs = blobs
        self._index = MediaIndex(api.store)

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/runs/{entity}/{project}/{run_id}"
        return [
            web.get(base + "/media", self.media),
            web.get(base + "/media/values", self.values),
            web.get(base + "/html/{name:.+}", self.html),
        ]

    async def media(self, request: web.Request) -> web.Response:
        run = await self._api.visible_run(request, run_key(request))
        summary = jsonable(run.summary)
        keys = [{"key": ".".join(path), "path": list(path), "type": kind,
                 "version": version(dig(summary, path)),
                 **({"value": dig(summary, path)} if kind in SUMMARY_TYPES else {})}
                for path, kind in media_paths(summary)]
        keys.sort(key=lambda k: str(k["key"]))
        config = jsonable(run.config)
        return json_response({"keys": keys, "charts": custom_charts(config, summary),
                              "class_labels": class_labels(config)})

    async def values(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        if not key:
            raise InvalidArgumentError("name the media key with the 'key' parameter")
        limit = _limit(request)
        run = await self._api.visible_run(request, run_key(request))
        got = await self._index.values(run, key, limit)
        if got is None:
            raise RunFileNotFoundError(f"run {run.key} has no media key {key!r}")
        return json_response({"key": key, "steps": [step for step, _ in got],
                              "values": jsonable([value for _, value in got])})

    async def html(self, request: web.Request) -> web.StreamResponse:
        """A logged Html file as a page in a sandbox of its own (see the module doc)."""
        run = await self._api.visible_run(request, run_key(request))
        name = request.match_info["name"]
        problem = name_problem(name)
        if problem:
            raise InvalidArgumentError(problem)
        if PurePosixPath(name).suffix.lower() not in user_content.HTML_SUFFIXES:
            raise InvalidArgumentError(
                f"only Html files ({', '.join(sorted(user_content.HTML_SUFFIXES))}) are shown "
                f"as pages; {name!r} is served by files/{name}")
        v = await self._store.get_run_file(run.pk, name)
        if v is None or self._blobs is None:
            raise RunFileNotFoundError(f"run {run.key} has no file {name!r}")
        f = await anyio.to_thread.run_sync(self._blobs.open, v.key)

        async def blob() -> AsyncIterator[bytes]:
            while chunk := await anyio.to_thread.run_sync(f.read, CHUNK):
                yield chunk

        try:
            return await user_content.send(request, name, blob(), v.size,
                                           labels=user_content.html_headers(name))
        finally:
            await anyio.to_thread.run_sync(f.close)
