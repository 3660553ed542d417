"""The run-editing part of the JSON API (``openapi.yaml``), through the daemon's run editor
(``run_editing.py``, which the RunService edits through too):

- ``POST /api/v1/runs/{entity}/{project}/{run_id}/update`` with ``{"name"?, "notes"?,
  "tags"?}``: the fields given change (a live run may be renamed too); answers the run as
  ``GET /api/v1/runs/...`` does.
- ``POST /api/v1/runs/{entity}/{project}/{run_id}/move`` with ``{"project": "P"}``: the run
  moves to project P of its entity with everything it holds; answers it under its new key.
  A live run is refused (409).
- ``POST /api/v1/projects/{entity}/{project}/runs/delete`` with ``{"runs": ["id", ...],
  "delete_artifacts": false}``: each run is deleted with its history, files, media and console
  log (and, asked, the artifact versions it logged), one after the other; answers ``{"deleted":
  [ids], "errors": {"id": "message"}}``: a live run, an unknown one or one the request may not
  edit is left as it is, named in ``errors``. Each deletion is logged with the runs it took.

What a request may edit is decided in ``scope.py`` (a run it may not see is answered 404). The
bodies are JSON (``Content-Type: application/json``), which no form of another site can send;
besides, the same-origin rule of ``security.py`` refuses every state-changing request that did
not come from the dashboard's own pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import anyio.to_thread
from aiohttp import web

from trackd_daemon.access import Owned
from trackd_daemon.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
    TrackdError,
)
from trackd_daemon.run_editing import Allow, Deleted
from trackd_daemon.store.models import RunInfo, RunKey
from trackd_daemon.web.api import Api, json_response, run_detail, run_key
from trackd_daemon.web.scope import may_edit

log = logging.getLogger("trackd.daemon.web")

#: Runs one delete request may name.
MAX_DELETE = 1000
#: The fields an update may set.
FIELDS = ("name", "notes", "tags")


class RunEdits(Protocol):
    """What the dashboard needs of the daemon's run editor (``run_editing.RunEditor``)."""

    async def update(self, key: RunKey, allow: Allow, *, name: str | None = None,
                     notes: str | None = None, tags: Sequence[str] | None = None) -> RunInfo:
        ...

    async def move(self, key: RunKey, project: str, allow: Allow) -> RunInfo:
        ...

    async def delete(self, key: RunKey, allow: Allow, *,
                     delete_artifacts: bool = False) -> Deleted:
        ...


class NoRunEditor:
    """The editor of a dashboard served without the daemon's (an application made on its
    own): every edit is refused, saying where runs can be edited."""

    def _refuse(self) -> FailedPreconditionError:
        return FailedPreconditionError(
            "this dashboard has no run editor: edit runs with `trackd runs rename`, `tag`, "
            "`mv` and `rm`, or with trackd.Api()")

    async def update(self, key: RunKey, allow: Allow, *, name: str | None = None,
                     notes: str | None = None, tags: Sequence[str] | None = None) -> RunInfo:
        raise self._refuse()

    async def move(self, key: RunKey, project: str, allow: Allow) -> RunInfo:
        raise self._refuse()

    async def delete(self, key: RunKey, allow: Allow, *,
                     delete_artifacts: bool = False) -> Deleted:
        raise self._refuse()


def allow_of(request: web.Request) -> Allow:
    """The editor's write check for ``request``: ``scope.may_edit``."""

    def allow(thing: Owned, noun: str) -> None:
        if not may_edit(request, thing):
            raise PermissionDeniedError(f"this dashboard may not change {noun} {thing.key}",
                                        **{"run" if noun == "run" else "artifact":
                                           str(thing.key)})

    return allow


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object.

    :raises InvalidArgumentError: another content type, or not a JSON object.
    """
    if request.content_type != "application/json":
        raise InvalidArgumentError(
            f"send a JSON object (Content-Type: application/json), not {request.content_type}")
    raw = await request.read()  # read already, within the body deadline (security.py)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidArgumentError("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string", field=field)
    return value


def update_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The editor's keyword arguments of an update body.

    :raises InvalidArgumentError: an unknown field, or one of the wrong type.
    """
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidArgumentError(f"unknown field(s) {', '.join(unknown)}: an update sets "
                                   f"{', '.join(FIELDS)}")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list)
                             or not all(isinstance(t, str) for t in tags)):
        raise InvalidArgumentError("tags must be a list of strings", field="tags")
    return {"name": _text(body, "name"), "notes": _text(body, "notes"), "tags": tags}


def delete_request(body: dict[str, Any]) -> tuple[list[str], bool]:
    """The run ids (each once, in order) and ``delete_artifacts`` of a delete body.

    :raises InvalidArgumentError: no list of ids, too many, or a flag that is not a bool.
    """
    ids = body.get("runs")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidArgumentError('send {"runs": ["run id", ...]}', field="runs")
    if len(ids) > MAX_DELETE:
        raise InvalidArgumentError(f"at most {MAX_DELETE} runs per request, got {len(ids)}",
                                   field="runs")
    flag = body.get("delete_artifacts", False)
    if not isinstance(flag, bool):
        raise InvalidArgumentError("delete_artifacts must be true or false",
                                   field="delete_artifacts")
    return list(dict.fromkeys(ids)), flag


class EditApi:
    """The editing handlers over the API (its reads and scope) and the run editor."""

    def __init__(self, api: Api, editor: RunEdits | None = None) -> None:
        self._api = api
        self.editor: RunEdits = editor or NoRunEditor()

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/runs/{entity}/{project}/{run_id}"
        return [
            web.post(base + "/update", self.update),
            web.post(base + "/move", self.move),
            web.post("/api/v1/projects/{entity}/{project}/runs/delete", self.delete),
        ]

    async def _detail(self, request: web.Request, run: RunInfo) -> web.Response:
        color = await self._api.run_color(request, run)
        # In a thread: the owner's user name may come from NSS, which can block.
        return json_response(await anyio.to_thread.run_sync(run_detail, run, color))

    async def update(self, request: web.Request) -> web.Response:
        fields = update_fields(await json_body(request))
        run = await self._api.visible_run(request, run_key(request))
        got = await self.editor.update(run.key, allow_of(request), **fields)
        return await self._detail(request, got)

    async def move(self, request: web.Request) -> web.Response:
        project = _text(await json_body(request), "project")
        if project is None:
            raise InvalidArgumentError('send {"project": "name"}', field="project")
        run = await self._api.visible_run(request, run_key(request))
        moved = await self.editor.move(run.key, project, allow_of(request))
        if moved.key != run.key:
            log.info("dashboard: moved run %s to project %s", run.key, project)
        return await self._detail(request, moved)

    async def delete(self, request: web.Request) -> web.Response:
        m = request.match_info
        ids, delete_artifacts = delete_request(await json_body(request))
        allow = allow_of(request)
        deleted: list[Deleted] = []
        errors: dict[str, str] = {}
        for run_id in ids:
            try:
                run = await self._api.visible_run(request, RunKey(m["entity"], m["project"],
                                                                  run_id))
                deleted.append(await self.editor.delete(run.key, allow,
                                                        delete_artifacts=delete_artifacts))
            except TrackdError as exc:
                errors[run_id] = exc.message
        if deleted:
            log.info("dashboard: deleted %d run(s) of %s/%s: %s (%d artifact version(s) with "
                     "them; %d blob(s) released to the garbage collector)", len(deleted),
                     m["entity"], m["project"], ", ".join(d.key.run_id for d in deleted),
                     sum(d.artifacts_deleted for d in deleted),
                     sum(d.blobs_released for d in deleted))
        return json_response({"deleted": [d.key.run_id for d in deleted], "errors": errors})
