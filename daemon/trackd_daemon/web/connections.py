"""The dashboard's connections: how many, and how long one may sit without a request.

aiohttp's server bounds neither: with its defaults a connection that sends nothing, or sends
its headers a byte at a time, stays open for an hour, and any local user (no token needed)
could hold enough of them to run the daemon out of file descriptors, so that neither the
dashboard nor ``trackd.init()`` could connect. Here every connection is tracked from accept
(a thin protocol in front of aiohttp's) to close, and:

- **a connection without a request in progress** (silent since it opened, still sending its
  headers, or idle between requests) is closed after the request timeout
  (``TRACKD_UI_REQUEST_TIMEOUT``, 30 s by default); so is one whose request has not passed the
  login check and has run that long. A request body must arrive within the same time
  (``security.body_deadline``). Authenticated requests may run as long as they need (a run
  page's live events, a large file);
- **at most** :data:`MAX_CONNECTIONS` connections are open, and :data:`MAX_PER_PEER` from one
  remote address. A new connection over a limit makes room by closing the one that matters
  least: first one that never carried an authenticated request (the one that sent nothing
  first, then the oldest), then one idle between requests (the longest idle); a connection
  serving an authenticated request is never closed for room, and when only those are left the
  new one is refused. On loopback every local user is the same peer (127.0.0.1), so the
  per-peer limit would be shared by the owner and whoever holds connections: there it is not
  applied, and the order of closing is what keeps the owner's dashboard answering while another
  local user opens as many connections as they like.

A TLS handshake is bounded by the same timeout (the server's ``ssl_handshake_timeout``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger("trackd.daemon.web")

#: Connections open at once, all peers together. A user's browser opens at most six per host
#: (plus one per live run page), scripts a few more; 256 leaves room for many of those while
#: keeping the dashboard to a quarter of the 1,024 descriptors a process commonly gets, so that
#: the daemon's runs, files and gRPC clients keep theirs.
MAX_CONNECTIONS = 256
#: Connections open at once from one remote (non-loopback) address: a few browsers behind one
#: NAT address, each with its six connections and live pages.
MAX_PER_PEER = 64
#: The timeout checks run at most this far apart.
SWEEP_SECONDS = 1.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(eq=False)
class _Conn:
    transport: asyncio.BaseTransport
    peer: str
    remote: bool  # not a loopback peer: the per-peer limit applies
    opened: float
    last_active: float
    busy: int = 0  # requests in progress (HTTP/1.1: one at a time)
    trusted: bool = False  # it carried an authenticated request
    spoke: bool = False  # it sent at least one byte

    def close(self) -> None:
        self.transport.abort()  # now: an attacker that does not read must not keep it


class _Tracked(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the guard's accounting."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._conn: _Conn | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._conn = self._guard.admit(transport)
        if self._conn is None:
            transport.abort()
            return
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is None:
            return
        self._guard.forget(self._conn)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._conn is not None:
            self._conn.spoke = True
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._conn is not None else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@dataclass(eq=False)
class ConnectionGuard:
    """Admits, times out and evicts the dashboard's connections (see the module doc)."""

    timeout: float
    max_connections: int = MAX_CONNECTIONS
    max_per_peer: int = MAX_PER_PEER
    clock: Callable[[], float] = time.monotonic
    _conns: dict[asyncio.BaseTransport, _Conn] = field(default_factory=dict)
    _per_peer: dict[str, int] = field(default_factory=dict)
    closed_idle: int = 0  # connections closed by the timeout
    evicted: int = 0  # connections closed to make room
    refused: int = 0  # connections refused: only busy authenticated ones were open

    def __len__(self) -> int:
        return len(self._conns)

    def protocol_factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[],
                                                                                  asyncio.Protocol]:
        """A factory for ``loop.create_server``: ``make``'s protocols, tracked."""
        return lambda: _Tracked(make(), self)

    # -- admission -----------------------------------------------------------------------------

    def admit(self, transport: asyncio.BaseTransport) -> _Conn | None:
        """Track a new connection, making room if a limit is reached; None: refused."""
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) else "local"
        try:
            remote = not ipaddress.ip_address(peer).is_loopback
        except ValueError:
            remote = False
        if remote and self._per_peer.get(peer, 0) >= self.max_per_peer and not self._make_room(
                [c for c in self._conns.values() if c.peer == peer]):
            return self._refuse(peer)
        if len(self._conns) >= self.max_connections and not self._make_room(
                list(self._conns.values())):
            return self._refuse(peer)
        now = self.clock()
        conn = _Conn(transport, peer, remote, now, now)
        self._conns[transport] = conn
        self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
        return conn

    def _refuse(self, peer: str) -> None:
        self.refused += 1
        if self.refused == 1 or self.refused % 1000 == 0:
            log.warning("dashboard: %d connection(s) refused (the latest from %s): every open "
                        "connection is serving an authenticated request", self.refused, peer)

    def _make_room(self, candidates: list[_Conn]) -> bool:
        untrusted = [c for c in candidates if not c.trusted]
        if untrusted:
            victim = min(untrusted, key=lambda c: (c.spoke, c.opened))
        else:
            idle = [c for c in candidates if not c.busy]
            if not idle:
                return False
            victim = min(idle, key=lambda c: c.last_active)
        self.evicted += 1
        if self.evicted == 1 or self.evicted % 1000 == 0:
            log.warning("dashboard: at its connection limit; %d connection(s) closed to make "
                        "room (the latest from %s)", self.evicted, victim.peer)
        self.forget(victim)
        victim.close()
        return True

    def forget(self, conn: _Conn) -> None:
        if self._conns.pop(conn.transport, None) is None:
            return
        left = self._per_peer[conn.peer] - 1
        if left:
            self._per_peer[conn.peer] = left
        else:
            del self._per_peer[conn.peer]

    # -- requests ------------------------------------------------------------------------------

    def trust(self, request: web.Request) -> None:
        """The auth gate's callback: this request's connection is the daemon's user's."""
        conn = self._conns.get(request.transport) if request.transport is not None else None
        if conn is not None:
            conn.trusted = True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Marks the connection busy until its response is sent in full (a response returned
        is sent here, so that a slow reader's download counts as busy, not idle)."""
        conn = self._conns.get(request.transport) if request.transport is not None else None
        if conn is None:
            return await handler(request)
        conn.busy += 1
        conn.last_active = self.clock()
        try:
            response = await handler(request)
            if not response.prepared:
                try:
                    await response.prepare(request)
                    await response.write_eof()
                except ConnectionError:
                    pass  # the client went away; aiohttp notes it when it finishes the response
            return response
        finally:
            conn.busy -= 1
            conn.last_active = self.clock()

    # -- timeouts ------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Close the connections past the timeout (see the module doc); how many."""
        deadline = self.clock() - self.timeout
        late = [c for c in self._conns.values()
                if c.last_active < deadline and (not c.busy or not c.trusted)]
        for conn in late:
            self.forget(conn)
            conn.close()
        self.closed_idle += len(late)
        return len(late)

    async def run(self) -> None:
        """Sweep until cancelled."""
        interval = min(SWEEP_SECONDS, self.timeout / 4)
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def close_all(self) -> None:
        for conn in list(self._conns.values()):
            self.forget(conn)
            conn.close()
