"""The run page's Files and Logs tabs, its System charts and its environment, as JSON API
handlers under ``/api/v1/runs/{entity}/{project}/{run_id}/``:

- ``files``: the run's files (saved files, the environment files, the console log);
- ``files/{name}``: a file's bytes (``?version=N`` for an older version), as user content
  (``user_content.py``);
- ``logs``: console lines with their stream and time, a page at a time;
- ``environment``: what the run recorded about its machine and code (``wandb-metadata.json``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from aiohttp import web

from trackd._shared.run_files import name_problem
from trackd_daemon import console_log
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import InvalidArgumentError, RunFileNotFoundError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo
from trackd_daemon.web import user_content
from trackd_daemon.web.api import Api, json_response, run_key

#: Console lines per page of the Logs tab.
MAX_LOG_LINES = 5000
#: The environment file (W&B's name).
METADATA_FILE = "wandb-metadata.json"
#: Largest environment file read for the run page.
MAX_METADATA_BYTES = 4 << 20
CHUNK = 1 << 20


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be a whole number, got {raw!r}") from None


async def read_environment(store: MetadataStore, blobs: BlobStore | None,
                           run: RunInfo) -> dict[str, Any]:
    """The run's recorded environment (empty when it recorded none)."""
    if blobs is None:
        return {}
    v = await store.get_run_file(run.pk, METADATA_FILE)
    if v is None or v.size > MAX_METADATA_BYTES:
        return {}

    def read() -> dict[str, Any]:
        with blobs.open(v.key) as f:
            try:
                data = json.loads(f.read())
            except ValueError:
                return {}
        return data if isinstance(data, dict) else {}

    return await anyio.to_thread.run_sync(read)


class RunFilesApi:
    """Handlers over the API's store and the blob store."""

    def __init__(self, api: Api, blobs: BlobStore | None) -> None:
        self._api = api
        self._store = api.store
        self._blobs = blobs

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/runs/{entity}/{project}/{run_id}"
        return [
            web.get(base + "/files", self.files),
            web.get(base + "/files/{name:.+}", self.file),
            web.get(base + "/logs", self.logs),
            web.get(base + "/environment", self.environment),
        ]

    async def files(self, request: web.Request) -> web.Response:
        run = await self._api.visible_run(request, run_key(request))
        out = [{"name": f.latest.name, "size": f.latest.size, "md5": f.latest.md5,
                "versions": f.versions, "stored_at": f.latest.stored_at,
                "reason": f.latest.reason}
               for f in await self._store.list_run_files(run.pk)]
        for name, _part, size in console_log.file_names(await self._store.console_parts(run.pk)):
            out.append({"name": name, "size": size, "md5": "", "versions": 1,
                        "stored_at": run.finished_at or run.updated_at, "reason": "console"})
        out.sort(key=lambda f: str(f["name"]))
        return json_response({"files": out})

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A file's bytes, as user content (``user_content.py``: never run as a page)."""
        run = await self._api.visible_run(request, run_key(request))
        name = request.match_info["name"]
        problem = name_problem(name)
        if problem:
            raise InvalidArgumentError(problem)
        found, part, _ = console_log.lookup(name, await self._store.console_parts(run.pk))
        if found:
            return await user_content.send(request, name,
                                           console_log.render(self._store, run.pk, part))
        v = await self._store.get_run_file(run.pk, name, _int(request, "version", 0))
        if v is None or self._blobs is None:
            raise RunFileNotFoundError(f"run {run.key} has no file {name!r}")
        blobs = self._blobs
        f = await anyio.to_thread.run_sync(blobs.open, v.key)

        async def blob() -> AsyncIterator[bytes]:
            while chunk := await anyio.to_thread.run_sync(f.read, CHUNK):
                yield chunk

        try:
            return await user_content.send(request, name, blob(), v.size)
        finally:
            await anyio.to_thread.run_sync(f.close)

    async def logs(self, request: web.Request) -> web.Response:
        run = await self._api.visible_run(request, run_key(request))
        offset = max(0, _int(request, "offset", 0))
        limit = min(max(1, _int(request, "limit", 1000)), MAX_LOG_LINES)
        lines = await self._store.read_console(run.pk, offset, limit)
        total = sum(p.lines for p in await self._store.console_parts(run.pk))
        return json_response({"total": total, "offset": offset, "lines": [
            {"stream": "stderr" if ln.stream == 2 else "stdout", "timestamp": ln.timestamp,
             "text": ln.text, **({"writer": ln.writer} if ln.writer else {})} for ln in lines]})

    async def environment(self, request: web.Request) -> web.Response:
        run = await self._api.visible_run(request, run_key(request))
        return json_response(await read_environment(self._store, self._blobs, run))
