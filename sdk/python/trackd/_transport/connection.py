"""The SDK's link to the daemon: one background thread per process running an asyncio loop,
with one grpc.aio channel to the daemon.

gRPC channels do not survive ``fork()``: everything here is created lazily and keyed by the
process id, so a forked child builds its own thread and channel on first use and never touches
the parent's. The thread is a daemon thread; ``close()`` stops it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

# A forked child never uses the gRPC state it inherits (see grpc_inherited), so gRPC's own
# fork handlers only cost time and print warnings on every fork (DataLoader workers...).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc  # noqa: E402
from google.protobuf import message_factory

from trackd._transport.credentials import split_address, tls_ca_for, token_for
from trackd.errors import CommError, from_grpc
from trackd.v1 import (
    daemon_service_pb2,
    file_service_pb2,
    query_service_pb2,
    record_service_pb2,
    run_service_pb2,
    sweep_service_pb2,
)

T = TypeVar("T")

CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.enable_retries", 0),
    # Reconnect quickly when a restarted daemon comes back on the same socket.
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # A connection of its own: a channel made after the daemon came back must not share the
    # failed subchannel (and its backoff) of an earlier channel, and fail fast on it.
    ("grpc.use_local_subchannel_pool", 1),
]


def make_stub(channel: Any, module: Any, service: str) -> Any:
    """A client stub for ``service`` of a generated ``*_pb2`` module: one callable attribute
    per RPC, built from the service descriptor (works for sync and aio channels)."""
    from types import SimpleNamespace

    desc = module.DESCRIPTOR.services_by_name[service]
    methods = {}
    for m in desc.methods:
        path = f"/{desc.full_name}/{m.name}"
        ser = message_factory.GetMessageClass(m.input_type).SerializeToString
        de = message_factory.GetMessageClass(m.output_type).FromString
        kind = (
            channel.stream_stream if m.client_streaming and m.server_streaming
            else channel.unary_stream if m.server_streaming
            else channel.stream_unary if m.client_streaming
            else channel.unary_unary
        )
        methods[m.name] = kind(path, request_serializer=ser, response_deserializer=de)
    return SimpleNamespace(**methods)


def open_channel(address: str, token: str | None = None) -> Any:
    """A grpc.aio channel to ``address``.

    A Unix socket needs no credentials: the daemon knows who connected from the socket itself.
    A TCP address (``https://host:port``, ``http://host:port`` or ``host:port``) carries the
    daemon's bearer token — ``token``, else the one :func:`trackd._transport.credentials.token_for`
    finds (``$TRACKD_TOKEN``, the ``api_key`` setting, the key stored by ``login()``, the
    token file of this user's own daemon). ``https://`` uses TLS with the CA certificate of
    ``$TRACKD_TLS_CA`` (or the one stored at login; the system's roots without either);
    ``http://`` is plaintext (loopback only); a bare ``host:port`` uses TLS when
    ``$TRACKD_TLS_CA`` names the CA to trust (``system``: the system's roots).
    """
    if address.startswith("unix:"):
        return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    scheme, target = split_address(address)
    ca = tls_ca_for(address) if scheme != "http" else None
    if ca or scheme == "https":
        from pathlib import Path

        roots = None if ca in (None, "system") else Path(ca).read_bytes()
        transport = grpc.ssl_channel_credentials(root_certificates=roots)
    else:
        transport = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
    token = token if token is not None else token_for(address)
    creds = (grpc.composite_channel_credentials(
        transport, grpc.access_token_call_credentials(token)) if token else transport)
    return grpc.aio.secure_channel(target, creds, options=CHANNEL_OPTIONS)


class LoopThread:
    """A daemon thread running an asyncio loop: where records are encoded and sent."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(ready,), name="trackd-sender",
                                       daemon=True)
        self.thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def stop(self) -> None:
        """Stop the loop and, once its thread is gone, close it (its selector and wake-up
        socket pair are descriptors: a process that sets up and tears down many times would
        otherwise keep three per round)."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.thread.is_alive() and not self.loop.is_closed():
            self.loop.close()


_loop_thread: LoopThread | None = None


def get_loop_thread() -> LoopThread:
    """This process's loop thread (a new one after fork)."""
    global _loop_thread
    with _lock:
        if _loop_thread is None or _loop_thread.pid != os.getpid() or not _loop_thread.thread.is_alive():
            _loop_thread = LoopThread()
        return _loop_thread


class Connection:
    """The channel of this process to its daemon, on the loop thread."""

    def __init__(self, address: str) -> None:
        self.pid = os.getpid()
        self.address = address
        lt = get_loop_thread()
        self.loop = lt.loop
        self._thread = lt.thread
        self.call(self._open_channel())

    async def _open_channel(self) -> None:
        self.channel = open_channel(self.address)
        self.runs = make_stub(self.channel, run_service_pb2, "RunService")
        self.queries = make_stub(self.channel, query_service_pb2, "QueryService")
        self.daemon = make_stub(self.channel, daemon_service_pb2, "DaemonService")
        self.files = make_stub(self.channel, file_service_pb2, "FileService")
        self.sweeps = make_stub(self.channel, sweep_service_pb2, "SweepService")
        # Record batches are serialized once by the sender (and kept for resending), so the
        # stream takes bytes.
        self.record_stream = self.channel.stream_stream(
            "/trackd.v1.RecordService/StreamRecords",
            request_serializer=None,
            response_deserializer=record_service_pb2.StreamRecordsResponse.FromString,
        )

    async def reopen(self, address: str) -> None:
        """Switch to another address (a daemon restarted elsewhere); runs on the loop."""
        old = self.channel
        self.address = address
        await self._open_channel()
        await old.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for it from another thread."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("Connection.call() from the sender thread would deadlock")
        if self.loop.is_closed():
            coro.close()
            raise CommError("this connection to the trackd daemon was closed by "
                            "trackd.teardown(); objects made before it cannot call the daemon")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc) from None

    def unary(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        """Call a unary RPC (``method`` is a stub attribute) and return the response."""

        async def go() -> Any:
            return await method(request, timeout=timeout)

        return self.call(go(), None if timeout is None else timeout + 5)

    def stream(self, method: Any, request: Any, read_ahead: int,
               timeout: float | None = None) -> Iterator[Any]:
        """The messages of a server-streaming RPC (``method`` is a stub attribute), read on
        the loop at most ``read_ahead`` messages ahead of the caller's thread. Uses no
        executor thread (it also runs at interpreter exit). Stopping the iteration cancels
        the call.

        :raises TrackdError: the call failed (mapped from its gRPC status).
        """
        done = object()

        async def make_queue() -> asyncio.Queue[Any]:
            return asyncio.Queue(maxsize=read_ahead)

        queue = self.call(make_queue())

        async def pump() -> None:
            try:
                async for msg in method(request, timeout=timeout):
                    await queue.put(msg)
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                await queue.put(exc)
            await queue.put(done)

        fut = asyncio.run_coroutine_threadsafe(pump(), self.loop)
        try:
            while True:
                item = asyncio.run_coroutine_threadsafe(queue.get(), self.loop).result()
                if item is done:
                    return
                if isinstance(item, grpc.aio.AioRpcError):
                    raise from_grpc(item) from None
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            fut.cancel()

    def close(self) -> None:
        """Close the channel (idempotent)."""
        if not self._thread.is_alive():
            return
        try:
            self.call(self.channel.close(), timeout=5)
        except (CommError, TimeoutError, RuntimeError):
            pass


_conn: Connection | None = None
_lock = threading.RLock()


def get_connection(address: str) -> Connection:
    """This process's connection (made on first use; a new one after fork).

    :raises CommError: this process was forked from one that had used gRPC (see
        :func:`grpc_inherited`); use the "spawn" start method for such children.
    """
    global _conn
    with _lock:
        if grpc_inherited():
            raise CommError(
                "this process was forked from one with an open trackd connection, and gRPC "
                "cannot be used after such a fork; start children with the 'spawn' method "
                "(runs made here still work: they are recorded offline and synced at finish)"
            )
        if _conn is None or _conn.pid != os.getpid():
            _conn = Connection(address)
        return _conn


def grpc_inherited() -> bool:
    """True in a child forked from a process that had opened a gRPC channel: gRPC's C core
    does not survive that fork, so such a child must not use gRPC itself."""
    c = _conn
    return c is not None and c.pid != os.getpid()


def current_connection() -> Connection | None:
    """This process's connection if it has one."""
    c = _conn
    return c if c is not None and c.pid == os.getpid() else None


def drop_connection() -> None:
    """Close and forget this process's connection, and stop its loop thread."""
    global _conn, _loop_thread
    with _lock:
        c, lt = _conn, _loop_thread
        _conn = _loop_thread = None
    if c is not None and c.pid == os.getpid():
        c.close()
    if lt is not None and lt.pid == os.getpid():
        lt.stop()
