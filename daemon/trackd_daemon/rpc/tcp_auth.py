"""The TCP listener's credentials: a bearer token, and TLS when certificates are configured.

The token is made at the daemon's first start (32 random bytes, URL-safe) and kept in
``<state dir>/token``, readable by the daemon's user only; a client on the same machine and
account reads it from there, others are given it (``$TRACKD_TOKEN``). Every call on the TCP
listener — health checks and reflection included — must carry ``authorization: Bearer <token>``
or is answered UNAUTHENTICATED. A token holder acts as the daemon's own user.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from trackd._shared.ui_auth import new_token
from trackd_daemon.errors import InvalidArgumentError, UnauthenticatedError
from trackd_daemon.rpc.errors import abort_with

TOKEN_FILE = "token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def load_or_create_token(state_dir: Path) -> str:
    """The daemon's bearer token, made (owner-only) on first use."""
    path = state_dir / TOKEN_FILE
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text().strip()
        if token:
            return token
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)  # an empty file: a crash mid-write
    token = new_token()
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def server_credentials(cert: Path | None, key: Path | None) -> grpc.ServerCredentials | None:
    """TLS credentials from a PEM certificate chain and key, or None for plaintext.

    :raises InvalidArgumentError: only one of the two is given, or a file cannot be read.
    """
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InvalidArgumentError("TLS needs both TRACKD_TLS_CERT and TRACKD_TLS_KEY")
    try:
        return grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read the TLS certificate or key: {exc}") from None


def check_tcp_address(address: str, tls: bool) -> None:
    """Plaintext TCP stays on loopback: a token sent in clear over a network could be read.

    :raises InvalidArgumentError: a non-loopback address without TLS.
    """
    host = address.rsplit(":", 1)[0].strip("[]")
    if host not in LOOPBACK_HOSTS and not tls:
        raise InvalidArgumentError(
            f"the TCP listener may use a non-loopback address ({host!r}) only with TLS "
            "(set TRACKD_TLS_CERT and TRACKD_TLS_KEY)")


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Lets a call through only with the daemon's token."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        given = ""
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                given = value if isinstance(value, str) else value.decode(errors="replace")
        if handler is None or hmac.compare_digest(given.encode(), self._expected):
            return handler
        reason = "a wrong bearer token" if given else "no bearer token"
        return _denying(handler, UnauthenticatedError(
            f"{details.method}: the TCP listener needs the daemon's token "
            f"(\"authorization: Bearer <token>\"); this call had {reason}"))


def _denying(handler: grpc.RpcMethodHandler, err: UnauthenticatedError) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that answers ``err``."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await abort_with(context, err)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await abort_with(context, err)
        yield  # pragma: no cover - makes this an async generator

    kw = {"request_deserializer": handler.request_deserializer,
          "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(streaming, **kw)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(streaming, **kw)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, **kw)
    return grpc.unary_unary_rpc_method_handler(unary, **kw)
