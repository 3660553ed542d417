"""Builds the grpc.aio server: every trackd.v1 service (with error mapping and safe request
parsing), standard health checking and server reflection, on the Unix socket (mode 0600, or
``$TRACKD_SOCKET_MODE`` such as 0660) and optionally on a loopback TCP address."""

from __future__ import annotations

import os
from typing import Any

import grpc
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from trackd.v1 import (
    daemon_service_pb2,
    query_service_pb2,
    record_service_pb2,
    run_service_pb2,
)
from trackd_daemon.config import DaemonConfig
from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.rpc.errors import safe_deserializer, wrap_stream, wrap_unary

#: Large enough for a batch holding a big histogram or a 1,000-key row; the SDK splits batches
#: well below this.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVICES = {
    "trackd.v1.RunService": run_service_pb2,
    "trackd.v1.RecordService": record_service_pb2,
    "trackd.v1.QueryService": query_service_pb2,
    "trackd.v1.DaemonService": daemon_service_pb2,
}


def _handler(servicer: Any, service_name: str, module: Any) -> grpc.GenericRpcHandler:
    """Method handlers for one service, built from its descriptor."""
    service = module.DESCRIPTOR.services_by_name[service_name.rsplit(".", 1)[1]]
    raw = getattr(servicer, "raw_requests", frozenset())
    handlers = {}
    for method in service.methods:
        fn = getattr(servicer, method.name)
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        deserializer = None if method.name in raw else safe_deserializer(request_cls)
        kw = dict(request_deserializer=deserializer,
                  response_serializer=response_cls.SerializeToString)
        full = f"{service_name}.{method.name}"
        if method.client_streaming and method.server_streaming:
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(wrap_stream(fn, full), **kw)
        elif method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(wrap_stream(fn, full), **kw)
        elif not method.client_streaming:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(wrap_unary(fn, full), **kw)
        else:
            raise TypeError(f"{full}: client-streaming-only methods are not used")
    return grpc.method_handlers_generic_handler(service_name, handlers)


async def start_server(
    cfg: DaemonConfig, servicers: dict[str, Any]
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, list[str]]:
    """Create, bind and start the server; returns it, its health servicer and its addresses."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    for name, module in SERVICES.items():
        server.add_generic_rpc_handlers((_handler(servicers[name], name, module),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    addresses = []
    sock = cfg.socket_path
    sock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sock.exists() or sock.is_symlink():
        sock.unlink()  # stale: we hold the lock, so no daemon owns it
    old_umask = os.umask(0o177)
    try:
        server.add_insecure_port(cfg.address)
    finally:
        os.umask(old_umask)
    addresses.append(cfg.address)
    if cfg.tcp_address:
        host = cfg.tcp_address.rsplit(":", 1)[0].strip("[]")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise InvalidArgumentError(f"the TCP listener must be on loopback, not {host!r}")
        port = server.add_insecure_port(cfg.tcp_address)
        addresses.append(f"{cfg.tcp_address.rsplit(':', 1)[0]}:{port}")
    await server.start()
    # TRACKD_SOCKET_MODE (octal, e.g. 0660: the socket's group may connect); never wider.
    os.chmod(sock, int(os.environ.get("TRACKD_SOCKET_MODE") or "600", 8) & 0o660)
    for name in ("", *SERVICES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, health_servicer, addresses
