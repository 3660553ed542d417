"""The dashboard's HTTP server (aiohttp, on the daemon's event loop).

It binds ``ui_host`` (127.0.0.1 unless the user configures another address: a non-loopback one
is used only when asked for explicitly, by ``TRACKD_UI_HOST`` or ``--ui-host``, only with TLS
(``TRACKD_TLS_CERT`` and ``TRACKD_TLS_KEY``, as the gRPC TCP listener), and is logged as such)
on the user's own port, the same from one start to the next (``port.py``), or on ``ui_port``
when one is configured (a free port when that one is taken). It serves https whenever TLS is
configured.

Every request passes, in order: the connection limits (``connections.py``), the Host allowlist
and the same-origin rule (``security.py``), the login check (``auth.py``) and the body deadline;
every response gets the security headers (``security.add_headers``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from aiohttp import web

from trackd._shared.ui_auth import SESSIONS_FILE, TICKET_PARAM
from trackd_daemon.access import AccessPolicy
from trackd_daemon.blobs import BlobStore
from trackd_daemon.config import DaemonConfig
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.web.api import Api, errors_middleware
from trackd_daemon.web.artifacts.api import ArtifactsApi
from trackd_daemon.web.artifacts.pages import ArtifactPages
from trackd_daemon.web.assets import Assets
from trackd_daemon.web.auth import AuthGate, load_or_create_token
from trackd_daemon.web.connections import MAX_CONNECTIONS, ConnectionGuard
from trackd_daemon.web.edit_api import EditApi, RunEdits
from trackd_daemon.web.indexer import index_finished_runs
from trackd_daemon.web.live import LiveStreams
from trackd_daemon.web.media import MediaApi
from trackd_daemon.web.pages import Pages
from trackd_daemon.web.port import bind_first, candidates, remember_port
from trackd_daemon.web.project_panels import ProjectPanelsApi
from trackd_daemon.web.run_files import RunFilesApi
from trackd_daemon.web.security import HostAllowlist, add_headers, body_deadline, same_origin
from trackd_daemon.web.sessions import SessionStore
from trackd_daemon.web.sweeps_api import SweepControls, SweepsApi
from trackd_daemon.web.workspace_api import WorkspaceApi

log = logging.getLogger("trackd.daemon.web")

#: A dashboard request within this long keeps an idle daemon from stopping by itself.
BUSY_SECONDS = 600.0
#: Seconds aiohttp goes on reading (and dropping) the rest of a body its handler did not read
#: before it closes the connection; at most the request timeout.
LINGER_SECONDS = 10.0


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


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The server's TLS context from a PEM certificate chain and key; None for plain http.

    :raises DashboardConfigError: only one of the two is set, or they cannot be loaded.
    """
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise DashboardConfigError("TLS needs both TRACKD_TLS_CERT and TRACKD_TLS_KEY")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise DashboardConfigError(f"cannot load the TLS certificate or key: {exc}") from None
    return context


def check_bind(host: str, tls: bool) -> None:
    """Plain http stays on loopback: the session cookie and the login form's token would
    otherwise cross a network in clear.

    :raises DashboardConfigError: a non-loopback address without TLS.
    """
    if not loopback(host) and not tls:
        raise DashboardConfigError(
            f"the dashboard may serve a non-loopback address ({host}) only with TLS: set "
            "TRACKD_TLS_CERT and TRACKD_TLS_KEY (or keep TRACKD_UI_HOST on 127.0.0.1 and reach "
            "it through an SSH tunnel)")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or on a free port of host when port is taken."""
    return bind_first(host, (port, 0) if port else (0,))


@dataclass
class WebServer:
    """A serving dashboard: its base URL and token file (the SDK reads the token from it)."""

    url: str
    gate: AuthGate
    guard: ConnectionGuard
    runner: web.AppRunner
    listener: asyncio.AbstractServer
    live: LiveStreams
    tasks: list[asyncio.Task[None]]
    last_request: float = -math.inf  # no request yet

    @property
    def token_file(self) -> Path:
        return self.gate.token_file

    def busy(self) -> bool:
        """Whether someone is using the dashboard (a live page, or a recent request)."""
        return self.live.open > 0 or time.monotonic() - self.last_request < BUSY_SECONDS

    async def rotate_token(self) -> int:
        """A new token; every session and ticket of the old one is refused from now on.
        Returns how many sessions ended.

        :raises OSError: the token file cannot be written.
        """
        ended = await self.gate.rotate()
        log.warning("dashboard token rotated: %d session(s) ended", ended)
        return ended

    def ticket_url(self, uid: int | None) -> str:
        """A login URL with a fresh ticket: for ``uid`` (a user's session), or full access."""
        return f"{self.url}?{TICKET_PARAM}={self.gate.mint(uid)}"

    async def stop(self) -> None:
        self.listener.close()
        self.live.close()
        for task in self.tasks:
            task.cancel()
        await self.runner.cleanup()
        self.guard.close_all()


def make_app(store: MetadataStore, blobs: BlobStore | None, *, token: str, token_file: Path,
             sessions: SessionStore, port: int, host: str, tls: bool,
             allowed_hosts: Iterable[str], guard: ConnectionGuard,
             on_authenticated: Callable[[web.Request], None] = lambda request: None,
             sweeps: SweepControls | None = None, editor: RunEdits | None = None,
             policy: AccessPolicy | None = None,
             ) -> tuple[web.Application, LiveStreams, AuthGate]:
    """The aiohttp application (see the module doc for what each request passes);
    ``sweeps``: the daemon's sweep controller, which the sweep page's controls act through;
    ``editor``: the daemon's run editor, which renaming, tagging, moving and deleting runs go
    through (without them those are refused); ``policy``: what a user's session may see and
    edit (``scope.py``; none: the daemon's own policy file is not read, no grants)."""
    api = Api(store, blobs)
    sweeps_api = SweepsApi(store, sweeps)
    live = LiveStreams(api)
    assets = Assets()
    pages = Pages(api, sweeps_api, assets)
    artifacts = ArtifactsApi(api, blobs)

    def authenticated(request: web.Request) -> None:
        guard.trust(request)
        on_authenticated(request)

    gate = AuthGate(token, token_file, sessions, port, tls, pages.login, authenticated, policy)
    hosts = HostAllowlist(host, allowed_hosts)
    app = web.Application(middlewares=[
        guard.middleware, hosts.middleware, same_origin("https" if tls else "http"),
        gate.middleware, body_deadline(guard.timeout), errors_middleware, pages.errors])
    app.on_response_prepare.append(add_headers)
    app.add_routes([web.get("/static/{name}", assets.serve), *gate.routes(), *api.routes(),
                    *RunFilesApi(api, blobs).routes(),
                    *sweeps_api.routes(), *artifacts.routes(), *EditApi(api, editor).routes(),
                    *ProjectPanelsApi(api).routes(),
                    *MediaApi(api, blobs).routes(), *WorkspaceApi(store).routes(),
                    web.get("/api/v1/runs/{entity}/{project}/{run_id}/events", live.run_events),
                    *ArtifactPages(pages, artifacts).routes(), *pages.routes()])
    return app, live, gate


async def start_web(cfg: DaemonConfig, store: MetadataStore, blobs: BlobStore | None = None,
                    sweeps: SweepControls | None = None,
                    editor: RunEdits | None = None,
                    policy: AccessPolicy | None = None) -> WebServer:
    """Serve the dashboard (``sweeps``, ``editor``, ``policy``: the daemon's sweep controller,
    run editor and access policy, see ``make_app``).

    :raises DashboardConfigError: an unusable host or TLS setting, or plain http off loopback.
    :raises OSError: the address cannot be bound.
    """
    host = check_host(cfg.ui_host)
    tls = tls_context(cfg.tls_cert, cfg.tls_key)
    check_bind(host, tls is not None)
    token, token_file = await anyio.to_thread.run_sync(load_or_create_token, cfg.state_dir)
    sessions = SessionStore(cfg.state_dir / SESSIONS_FILE, token)
    await sessions.load()
    sock = bind_first(host, await anyio.to_thread.run_sync(candidates, cfg.ui_port,
                                                           cfg.state_dir))
    port = sock.getsockname()[1]
    if cfg.ui_port is None:  # the user's own port: the next start binds it again
        await anyio.to_thread.run_sync(remember_port, cfg.state_dir, port)
    timeout = cfg.ui_request_timeout_seconds
    guard = ConnectionGuard(timeout)
    server: WebServer

    def touch(request: web.Request) -> None:
        server.last_request = time.monotonic()  # after the login check: only real use counts

    app, live, gate = make_app(store, blobs, token=token, token_file=token_file,
                               sessions=sessions, port=port, host=host, tls=tls is not None,
                               allowed_hosts=cfg.ui_allowed_hosts, guard=guard,
                               on_authenticated=touch, sweeps=sweeps, editor=editor,
                               policy=policy)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0,
                           keepalive_timeout=timeout, lingering_time=min(LINGER_SECONDS, timeout))
    await runner.setup()
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        guard.protocol_factory(runner.server), sock=sock, ssl=tls,
        ssl_handshake_timeout=timeout if tls is not None else None)
    shown = host if host not in ("0.0.0.0", "::") else ("127.0.0.1" if host == "0.0.0.0"
                                                        else "::1")
    url = (f"{'https' if tls is not None else 'http'}://"
           f"{'[' + shown + ']' if ':' in shown else shown}:{port}/")
    server = WebServer(url, gate, guard, runner, listener, live, [
        loop.create_task(index_finished_runs(store)), loop.create_task(guard.run())])
    limits = (f"requests time out after {timeout:g} s, at most {MAX_CONNECTIONS} connections, "
              f"{len(sessions)} session(s) kept")
    if loopback(host):
        log.info("dashboard at %s (%s)", url, limits)
    else:
        log.warning("dashboard at %s on %s, reachable from other machines as asked "
                    "(TRACKD_UI_HOST), over TLS; every request needs a login (%s)", url, host,
                    limits)
    return server
