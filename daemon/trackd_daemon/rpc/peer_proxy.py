"""Peer credentials for a socket that several users may open.

gRPC does not tell a handler who is on the other end of a Unix socket. When the daemon's socket
is open to other users (``$TRACKD_SOCKET_MODE`` wider than 0600), the daemon accepts those
connections itself: it reads each one's ``SO_PEERCRED`` (uid, gid, pid as the kernel saw them
at connect time), then joins it to the gRPC server's private socket through a client socket
bound to a path of its own. gRPC reports that path as the call's peer, and :class:`PeerTable`
maps it back to the credentials. The private socket lives in a directory only the daemon's user
can enter, so nobody reaches gRPC without passing through here.

Bytes are relayed by two asyncio protocols with flow control both ways (a side that cannot keep
up pauses reading on the other), so a slow client cannot make the daemon buffer without bound.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread

from trackd_daemon.access import Caller, identify

log = logging.getLogger("trackd.daemon.peers")

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

#: Bytes buffered towards one side before the other side stops reading (asyncio's default
#: high-water mark is 64 KiB; a record batch is at most a few MiB, so 1 MiB keeps a batch
#: moving in a few writes without letting one connection hold much memory).
WRITE_HIGH_WATER = 1 << 20


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process that connected ``sock`` (Linux ``SO_PEERCRED``)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


class PeerTable:
    """Relay socket path (what gRPC reports as the peer) -> the caller behind it."""

    def __init__(self) -> None:
        self._by_peer: dict[str, Caller] = {}

    def lookup(self, peer: str) -> Caller | None:
        return self._by_peer.get(peer)

    def add(self, path: str, caller: Caller) -> None:
        self._by_peer[f"unix:{path}"] = caller

    def remove(self, path: str) -> None:
        self._by_peer.pop(f"unix:{path}", None)

    def __len__(self) -> int:
        return len(self._by_peer)


class _Side(asyncio.Protocol):
    """One end of a relayed connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.other: _Side | None = None
        self.pending: list[bytes] = []  # received before the other end was connected
        self.on_lost: list[object] = []
        self.on_made: Callable[[_Side], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[union-attr]
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        other = self.other
        if other is None or other.transport is None:
            self.pending.append(data)
            if self.transport is not None:
                self.transport.pause_reading()  # until the other end is connected
            return
        other.transport.write(data)

    def eof_received(self) -> bool:
        other = self.other.transport if self.other is not None else None
        if other is not None and other.can_write_eof():
            other.write_eof()
            return True
        return False

    # The other end's send buffer is full: stop reading here until it drains.
    def pause_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.close()
        for callback in self.on_lost:
            callback()  # type: ignore[operator]
        self.on_lost.clear()

    def join(self, other: _Side) -> None:
        """Connect the two ends and flush what arrived before."""
        self.other, other.other = other, self
        for side in (self, other):
            if side.pending and side.other is not None and side.other.transport is not None:
                side.other.transport.write(b"".join(side.pending))
                side.pending.clear()
            if side.transport is not None and not side.transport.is_closing():
                side.transport.resume_reading()


class PeerProxy:
    """Accepts connections on the shared socket and relays them to gRPC's private socket."""

    def __init__(self, public: Path, private: Path, relay_dir: Path, table: PeerTable,
                 *, lookup_groups: bool) -> None:
        self._public = public
        self._private = private
        self._relay_dir = relay_dir
        self._table = table
        self._lookup_groups = lookup_groups
        self._ids = itertools.count(1)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, mode: int) -> None:
        """Listen on the shared socket, created with ``mode`` (e.g. 0o666)."""
        self._relay_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in self._relay_dir.iterdir():
            stale.unlink(missing_ok=True)
        loop = asyncio.get_running_loop()
        old_umask = os.umask(0o177)
        try:
            self._server = await loop.create_unix_server(self._accepted, str(self._public))
        finally:
            os.umask(old_umask)
        os.chmod(self._public, mode)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    def _accepted(self) -> _Side:
        inbound = _Side()
        inbound.on_made = self._made
        return inbound

    def _made(self, inbound: _Side) -> None:
        assert inbound.transport is not None
        inbound.transport.pause_reading()  # until the relay to gRPC is connected
        task = asyncio.get_running_loop().create_task(self._connect(inbound))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, inbound: _Side) -> None:
        transport = inbound.transport
        if transport is None or transport.is_closing():
            return
        path = str(self._relay_dir / format(next(self._ids), "x"))
        try:
            pid, uid, gid = peer_credentials(transport.get_extra_info("socket"))
            caller = await anyio.to_thread.run_sync(identify, uid, gid, pid,
                                                    self._lookup_groups)
            relay = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            relay.setblocking(False)
            try:
                relay.bind(path)
                await asyncio.get_running_loop().sock_connect(relay, str(self._private))
            except BaseException:
                relay.close()
                raise
            self._table.add(path, caller)
            outbound = _Side()
            await asyncio.get_running_loop().create_unix_connection(lambda: outbound, sock=relay)
        except (OSError, asyncio.CancelledError) as exc:
            if not isinstance(exc, asyncio.CancelledError):
                log.warning("could not relay a connection: %s", exc)
            self._forget(path)
            transport.close()
            return

        def lost() -> None:
            self._forget(path)

        outbound.on_lost.append(lost)
        if transport.is_closing():
            outbound.transport.close()  # type: ignore[union-attr]
            return
        inbound.join(outbound)

    def _forget(self, path: str) -> None:
        self._table.remove(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
