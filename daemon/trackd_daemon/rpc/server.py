"""Builds the grpc.aio servers: every trackd.v1 service (with error mapping and safe request
parsing), standard health checking and server reflection, on the Unix socket (mode 0600, or
``$TRACKD_SOCKET_MODE`` such as 0660 with peer-credential checks) and optionally on a TCP
address (bearer token; TLS when configured; loopback only without TLS)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from trackd.v1 import (
    artifact_service_pb2,
    daemon_service_pb2,
    file_service_pb2,
    query_service_pb2,
    record_service_pb2,
    run_service_pb2,
    sweep_service_pb2,
)
from trackd_daemon.config import DaemonConfig
from trackd_daemon.rpc.activity import CallActivity
from trackd_daemon.rpc.errors import (
    safe_deserializer,
    wrap_stream,
    wrap_stream_unary,
    wrap_unary,
)
from trackd_daemon.rpc.peer_proxy import PeerProxy, PeerTable
from trackd_daemon.rpc.tcp_auth import (
    BearerTokenInterceptor,
    check_tcp_address,
    load_or_create_token,
    server_credentials,
)

#: Large enough for a batch holding a big histogram or a 1,000-key row; the SDK splits batches
#: well below this.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVICES = {
    "trackd.v1.RunService": run_service_pb2,
    "trackd.v1.RecordService": record_service_pb2,
    "trackd.v1.QueryService": query_service_pb2,
    "trackd.v1.DaemonService": daemon_service_pb2,
    "trackd.v1.ArtifactService": artifact_service_pb2,
    "trackd.v1.FileService": file_service_pb2,
    "trackd.v1.SweepService": sweep_service_pb2,
}


def _handler(servicer: Any, service_name: str, module: Any,
             activity: CallActivity) -> grpc.GenericRpcHandler:
    """Method handlers for one service, built from its descriptor, each counted in
    ``activity``."""
    service = module.DESCRIPTOR.services_by_name[service_name.rsplit(".", 1)[1]]
    raw = getattr(servicer, "raw_requests", frozenset())
    handlers = {}
    for method in service.methods:
        fn = getattr(servicer, method.name)
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        deserializer = None if method.name in raw else safe_deserializer(request_cls)
        kw = {"request_deserializer": deserializer,
              "response_serializer": response_cls.SerializeToString}
        full = f"{service_name}.{method.name}"
        fn = activity.streaming(fn) if method.server_streaming else activity.unary(fn)
        if method.client_streaming and method.server_streaming:
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(wrap_stream(fn, full), **kw)
        elif method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(wrap_stream(fn, full), **kw)
        elif not method.client_streaming:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(wrap_unary(fn, full), **kw)
        else:
            handlers[method.name] = grpc.stream_unary_rpc_method_handler(
                wrap_stream_unary(fn, full), **kw)
    return grpc.method_handlers_generic_handler(service_name, handlers)


class _Healths:
    """The health servicers of all listeners, switched together."""

    def __init__(self, healths: list[health.aio.HealthServicer]) -> None:
        self._healths = healths

    async def enter_graceful_shutdown(self) -> None:
        for h in self._healths:
            await h.enter_graceful_shutdown()


@dataclass
class Listeners:
    """What :func:`start_server` started: the gRPC servers (Unix socket, and TCP when enabled),
    the peer-credential relay for a shared socket, health, and the addresses clients use."""

    servers: list[grpc.aio.Server]
    health: _Healths
    addresses: list[str]
    proxy: PeerProxy | None = None

    async def stop(self, grace: float) -> None:
        if self.proxy is not None:
            await self.proxy.close()
        for server in self.servers:
            await server.stop(grace=grace)


def _server(servicers: dict[str, Any], activity: CallActivity,
            interceptors: tuple[Any, ...] = ()) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
        interceptors=interceptors,
    )
    for name, module in SERVICES.items():
        server.add_generic_rpc_handlers((_handler(servicers[name], name, module, activity),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return server, health_servicer


def _bind_unix(server: grpc.aio.Server, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() or path.is_symlink():
        path.unlink()  # stale: we hold the lock, so no daemon owns it
    old_umask = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{path}")
    finally:
        os.umask(old_umask)


def check_listeners(cfg: DaemonConfig) -> grpc.ServerCredentials | None:
    """Refuse a listener configuration that must not serve (before anything is bound or
    opened); returns the TCP listener's TLS credentials (None: plaintext).

    :raises InvalidArgumentError: plaintext TCP off loopback, half a TLS pair, unreadable files.
    """
    if not cfg.tcp_address:
        return None
    tls = server_credentials(cfg.tls_cert, cfg.tls_key)
    check_tcp_address(cfg.tcp_address, tls is not None)
    return tls


async def start_server(cfg: DaemonConfig, servicers: dict[str, Any],
                       peers: PeerTable | None, activity: CallActivity) -> Listeners:
    """Create, bind and start the servers.

    With an owner-only socket (the default) gRPC listens on it directly. With a shared socket
    (``peers`` given), gRPC listens on a socket in the owner-only ``private_dir`` and
    :class:`PeerProxy` accepts on the public one, recording each connection's credentials in
    ``peers``. Every call on every listener is counted in ``activity``.
    """
    server, health_servicer = _server(servicers, activity)
    servers, healths = [server], [health_servicer]
    proxy = None
    if peers is None:
        _bind_unix(server, cfg.socket_path)
    else:
        cfg.private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(cfg.private_dir, 0o700)
        private = cfg.private_dir / "grpc.sock"
        _bind_unix(server, private)
        proxy = PeerProxy(cfg.socket_path, private, cfg.private_dir / "relay", peers,
                          lookup_groups=True)
    addresses = [cfg.address]
    if cfg.tcp_address:
        tls = check_listeners(cfg)
        token = load_or_create_token(cfg.state_dir)
        tcp, tcp_health = _server(servicers, activity, (BearerTokenInterceptor(token),))
        port = (tcp.add_secure_port(cfg.tcp_address, tls) if tls is not None
                else tcp.add_insecure_port(cfg.tcp_address))
        servers.append(tcp)
        healths.append(tcp_health)
        addresses.append(f"{cfg.tcp_address.rsplit(':', 1)[0]}:{port}")
    for s in servers:
        await s.start()
    if proxy is not None:
        if cfg.socket_path.exists() or cfg.socket_path.is_symlink():
            cfg.socket_path.unlink()
        _let_reach(cfg.socket_path.parent, cfg.socket_mode)
        await proxy.start(cfg.socket_mode)
    else:
        os.chmod(cfg.socket_path, cfg.socket_mode)
    for h in healths:
        for name in ("", *SERVICES):
            await h.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Listeners(servers, _Healths(healths), addresses, proxy)


def _let_reach(directory: Path, socket_mode: int) -> None:
    """Those the socket is open to (group, others) may traverse — not list — its directory."""
    search = (0o010 if socket_mode & 0o060 else 0) | (0o001 if socket_mode & 0o006 else 0)
    os.chmod(directory, directory.stat().st_mode & 0o777 | search)
