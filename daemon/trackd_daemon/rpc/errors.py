"""The one place where daemon errors become gRPC statuses.

Every handler is wrapped by :func:`wrap_unary` / :func:`wrap_stream`. A
:class:`~trackd_daemon.errors.TrackdError` is sent with its code, its message and a
``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer holding an ``ErrorInfo``
(domain ``trackd.dev``, the stable reason, metadata), plus a ``RetryInfo`` for errors worth
retrying after a pause (UNAVAILABLE while draining, RESOURCE_EXHAUSTED while the disk is full).
Anything else is logged with its traceback and sent as INTERNAL without details.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from trackd_daemon.errors import InvalidArgumentError, TrackdError

log = logging.getLogger("trackd.daemon.rpc")

DOMAIN = "trackd.dev"


class Malformed:
    """Stands in for a request whose bytes could not be parsed."""

    def __init__(self, type_name: str, error: Exception) -> None:
        self.error = InvalidArgumentError(f"malformed {type_name}: {error}")


def safe_deserializer(cls: Any) -> Callable[[bytes], Any]:
    """A request deserializer that never raises (grpc would answer INTERNAL): a parse failure
    yields :class:`Malformed`, which the wrapper turns into INVALID_ARGUMENT."""
    name = cls.DESCRIPTOR.full_name

    def parse(data: bytes) -> Any:
        try:
            return cls.FromString(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the client's
            return Malformed(name, exc)

    return parse


#: Errors a client should retry after a pause: the daemon is draining, or its disk is full.
RETRY_AFTER_SECONDS = {grpc.StatusCode.UNAVAILABLE: 1, grpc.StatusCode.RESOURCE_EXHAUSTED: 2}


def _trailer(err: TrackdError) -> tuple[tuple[str, bytes], ...]:
    info = error_details_pb2.ErrorInfo(reason=err.reason, domain=DOMAIN, metadata=err.metadata)
    details = [any_pb2.Any()]
    details[0].Pack(info)
    if err.code in RETRY_AFTER_SECONDS:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.seconds = RETRY_AFTER_SECONDS[err.code]
        details.append(any_pb2.Any())
        details[1].Pack(retry)
    status = status_pb2.Status(code=err.code.value[0], message=err.message, details=details)
    return (("grpc-status-details-bin", status.SerializeToString()),)


async def abort_with(context: grpc.aio.ServicerContext, err: TrackdError) -> None:
    """End the call with ``err``'s status, message and details."""
    await context.abort(err.code, err.message, trailing_metadata=_trailer(err))


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException, method: str) -> None:
    if isinstance(exc, TrackdError):
        await abort_with(context, exc)
    log.exception("unexpected error in %s", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}; see the daemon log")


def wrap_unary(fn: Callable[[Any, Any], Awaitable[Any]], method: str) -> Callable[..., Any]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            if isinstance(request, Malformed):
                raise request.error
            return await fn(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status
            await _abort(context, exc, method)

    return handler


async def _parsed(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A client stream's messages; one that could not be parsed ends it with its error."""
    async for request in requests:
        if isinstance(request, Malformed):
            raise request.error
        yield request


def wrap_stream_unary(fn: Callable[[Any, Any], Awaitable[Any]], method: str) -> Callable[..., Any]:
    """A client-streaming handler: ``fn`` gets the parsed request stream."""

    async def handler(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(_parsed(requests), context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status
            await _abort(context, exc, method)

    return handler


def wrap_stream(fn: Callable[[Any, Any], AsyncIterator[Any]], method: str) -> Callable[..., Any]:
    async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            if isinstance(request, Malformed):
                raise request.error
            async for item in fn(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status
            await _abort(context, exc, method)

    return handler
