"""Counts the gRPC calls the daemon is serving, so that a daemon with an idle timeout never
stops under a client that is still using it (reading runs with ``trackd.Api()``, downloading
an artifact) even though no run is live."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any


class CallActivity:
    """How many calls are being served, and when the last one ended."""

    def __init__(self) -> None:
        self.open = 0
        self.last_call = time.monotonic()

    def busy(self, within: float) -> bool:
        """Whether a call is being served, or one ended less than ``within`` seconds ago."""
        return self.open > 0 or time.monotonic() - self.last_call < within

    @contextmanager
    def _serving(self) -> Iterator[None]:
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1
            self.last_call = time.monotonic()

    def unary(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``fn`` (a handler answering once), counted while it runs."""

        async def counted(request: Any, context: Any) -> Any:
            with self._serving():
                return await fn(request, context)

        return counted

    def streaming(self, fn: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
        """``fn`` (a handler answering with a stream), counted until its stream ends."""

        async def counted(request: Any, context: Any) -> AsyncIterator[Any]:
            with self._serving():
                async for item in fn(request, context):
                    yield item

        return counted
