"""The dashboard's HTTP server (aiohttp, on the daemon's event loop).

It binds ``ui_host`` (127.0.0.1 unless the user configures another address: a non-loopback one
is used only when asked for explicitly, by ``TRACKD_UI_HOST`` or ``--ui-host``, and is logged as
such) on ``ui_port`` (8470), or on a free port when that one is taken (several users' daemons on
one machine). Every request needs the token (``auth.py``).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import math
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from trackd_daemon.blobs import BlobStore
from trackd_daemon.config import DaemonConfig
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.web.api import Api, Handler, errors_middleware
from trackd_daemon.web.assets import Assets
from trackd_daemon.web.auth import load_or_create_token, token_middleware
from trackd_daemon.web.indexer import index_finished_runs
from trackd_daemon.web.live import LiveStreams
from trackd_daemon.web.pages import Pages

log = logging.getLogger("trackd.daemon.web")

#: A dashboard request within this long keeps an idle daemon from stopping by itself.
BUSY_SECONDS = 600.0


class DashboardConfigError(ValueError):
    """The dashboard's host or port setting is unusable; the message names it."""


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    return ipaddress.ip_address(host.strip("[]")).is_loopback


def check_host(host: str) -> str:
    """The address to bind: a literal IP address (or ``localhost``).

    :raises DashboardConfigError: a host name, which could resolve to any address.
    """
    host = host.strip().strip("[]")
    if host == "localhost":
        return "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise DashboardConfigError(
            f"TRACKD_UI_HOST must be an IP address (127.0.0.1, ::1, or an interface's address "
            f"to serve other machines) or 'localhost', got {host!r}") from None
    return host


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or on a free port of host when port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in (port, 0) if port else (0,):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and candidate:
                log.info("dashboard port %d is taken; using a free port", candidate)
                continue
            raise
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise AssertionError("unreachable")


@dataclass
class WebServer:
    """A serving dashboard: its base URL and token file (the SDK reads the token from it)."""

    url: str
    token_file: Path
    runner: web.AppRunner
    live: LiveStreams
    indexer: asyncio.Task[None]
    last_request: float = -math.inf  # no request yet

    def busy(self) -> bool:
        """Whether someone is using the dashboard (a live page, or a recent request)."""
        return self.live.open > 0 or time.monotonic() - self.last_request < BUSY_SECONDS

    async def stop(self) -> None:
        self.live.close()
        self.indexer.cancel()
        await self.runner.cleanup()


def make_app(store: MetadataStore, token: str, port: int,
             blobs: BlobStore | None = None) -> tuple[web.Application, LiveStreams]:
    """The aiohttp application (also used by tests without a daemon)."""
    api = Api(store, blobs)
    live = LiveStreams(api)
    assets = Assets()
    pages = Pages(api, assets, token)
    app = web.Application(middlewares=[token_middleware(token, port), errors_middleware,
                                       pages.errors])
    app.add_routes([web.get("/static/{name}", assets.serve), *api.routes(),
                    web.get("/api/v1/runs/{entity}/{project}/{run_id}/events", live.run_events),
                    *pages.routes()])
    return app, live


async def start_web(cfg: DaemonConfig, store: MetadataStore,
                    blobs: BlobStore | None = None) -> WebServer:
    """Serve the dashboard.

    :raises DashboardConfigError: an unusable host setting.
    :raises OSError: the address cannot be bound.
    """
    host = check_host(cfg.ui_host)
    token, token_file = load_or_create_token(cfg.state_dir)
    sock = bind(host, cfg.ui_port)
    port = sock.getsockname()[1]
    app, live = make_app(store, token, port, blobs)
    server: WebServer

    @web.middleware
    async def touch(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.last_request = time.monotonic()
        return await handler(request)

    app.middlewares.insert(1, touch)  # after the token check: only real use counts
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    shown = host if host not in ("0.0.0.0", "::") else ("127.0.0.1" if host == "0.0.0.0"
                                                        else "::1")
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    server = WebServer(url, token_file, runner, live,
                       asyncio.get_running_loop().create_task(index_finished_runs(store)))
    if loopback(host):
        log.info("dashboard at %s", url)
    else:
        log.warning("dashboard at %s on %s, reachable from other machines as asked "
                    "(TRACKD_UI_HOST); every request needs the token", url, host)
    return server
