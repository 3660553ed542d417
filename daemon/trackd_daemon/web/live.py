"""Live updates: server-sent events for a run page.

``GET /api/v1/runs/{entity}/{project}/{run_id}/events`` is an ``text/event-stream``: an ``run``
event (JSON: state, history_rows, last_step, updated_at, summary) first and whenever the run
changes (checked every :data:`POLL_SECONDS`), a comment line every :data:`KEEPALIVE_SECONDS`,
and a final ``end`` event once the run is no longer running, after which the stream closes (the
page then stops listening; an EventSource would otherwise reconnect).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from aiohttp import web

from trackd_daemon.store.models import RUNNING, RunInfo
from trackd_daemon.web.api import Api, dumps, run_key
from trackd_daemon.web.runs_table import jsonable

log = logging.getLogger("trackd.daemon.web")

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0


def snapshot(run: RunInfo) -> dict[str, Any]:
    return {"state": run.state, "history_rows": run.history_rows, "last_step": run.last_step,
            "updated_at": run.updated_at, "finished_at": run.finished_at,
            "exit_code": run.exit_code, "summary": jsonable(run.summary)}


class LiveStreams:
    """The open event streams; :meth:`close` ends them all (the daemon is stopping)."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._closing = anyio.Event()
        self.open = 0

    def close(self) -> None:
        self._closing.set()

    async def run_events(self, request: web.Request) -> web.StreamResponse:
        key = run_key(request)
        run = await self._api.visible_run(request, key)
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        self.open += 1
        try:
            await self._follow(response, request, run)
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        finally:
            self.open -= 1
        return response

    async def _follow(self, response: web.StreamResponse, request: web.Request,
                      run: RunInfo) -> None:
        last: dict[str, Any] | None = None
        quiet_since = time.monotonic()
        while not self._closing.is_set():
            now = snapshot(run)
            if now != last:
                await response.write(f"event: run\ndata: {dumps(now)}\n\n".encode())
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                quiet_since = time.monotonic()
            if run.state != RUNNING:
                await response.write(b"event: end\ndata: {}\n\n")
                return
            with anyio.move_on_after(POLL_SECONDS):
                await self._closing.wait()
            run = await self._api.visible_run(request, run.key)
