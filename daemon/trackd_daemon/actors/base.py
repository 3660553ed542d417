"""Actor plumbing on anyio: a bounded mailbox, ask/tell, one-shot replies, supervision.

An actor's loop is the only code that touches its state. ``tell`` waits while the mailbox is
full (that is the backpressure that reaches the gRPC stream and then the SDK); ``ask`` sends a
message carrying a :class:`Reply` and waits for it. Closing the mailbox lets the loop drain what
is queued and end: that is how the daemon stops without losing accepted work.
"""

from __future__ import annotations

import logging
import math
from abc import ABC
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from trackd_daemon.errors import ShuttingDownError

M = TypeVar("M")
T = TypeVar("T")

log = logging.getLogger("trackd.daemon")


class Reply(Generic[T]):
    """A one-shot answer to an ``ask``."""

    __slots__ = ("_error", "_event", "_value")

    def __init__(self) -> None:
        self._event = anyio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def set(self, value: T) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    async def wait(self) -> T:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


@dataclass(frozen=True)
class MailboxStats:
    """A snapshot of an actor's mailbox."""

    name: str
    used: int
    capacity: int
    waiting_senders: int


class Actor(ABC, Generic[M]):
    """Base class: subclasses set ``mailbox_size`` (with the reason for the number) and
    implement :meth:`handle`, or override :meth:`loop` to take messages in batches."""

    mailbox_size: ClassVar[int]
    name: str = "actor"

    def __init__(self) -> None:
        send, recv = anyio.create_memory_object_stream[M](self.mailbox_size)
        self._send: MemoryObjectSendStream[M] = send
        self._recv: MemoryObjectReceiveStream[M] = recv
        self._done = anyio.Event()

    async def tell(self, msg: M) -> None:
        """Queue ``msg``; waits while the mailbox is full.

        :raises ShuttingDownError: the actor is stopping.
        """
        try:
            await self._send.send(msg)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise ShuttingDownError(f"{self.name} is stopping") from None

    def tell_nowait(self, msg: M) -> None:
        """Queue ``msg`` or raise ``anyio.WouldBlock`` when full."""
        try:
            self._send.send_nowait(msg)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise ShuttingDownError(f"{self.name} is stopping") from None

    async def ask(self, make: Callable[[Reply[T]], M]) -> T:
        """Send the message built by ``make(reply)`` and wait for the reply."""
        reply: Reply[T] = Reply()
        await self.tell(make(reply))
        return await reply.wait()

    def close(self) -> None:
        """Stop taking messages; the loop drains what is queued, then ends."""
        self._send.close()

    def statistics(self) -> MailboxStats:
        s = self._send.statistics()
        cap = s.max_buffer_size
        return MailboxStats(
            self.name, s.current_buffer_used, -1 if cap == math.inf else int(cap),
            s.tasks_waiting_send,
        )

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The actor's loop; reports started at once, returns after the mailbox is drained."""
        task_status.started()
        # The mailbox outlives a failed loop, so a supervisor can restart the actor with the
        # queued messages intact; it is closed only once the loop has drained it.
        await self.loop()
        try:
            self._recv.close()
            await self.stopped()
        finally:
            self._done.set()

    async def wait_stopped(self) -> None:
        """Wait until the loop has drained and ended."""
        await self._done.wait()

    async def loop(self) -> None:
        async for msg in self._recv:
            await self.handle(msg)

    async def receive_until(self, deadline: float) -> M | None:
        """The next message, or ``None`` once ``anyio.current_time()`` reaches ``deadline``
        (``math.inf``: no deadline), for loops that also act on timers.

        :raises anyio.EndOfStream: the mailbox is closed and drained: the loop ends.
        """
        delay = None if deadline == math.inf else max(0.0, deadline - anyio.current_time())
        with anyio.move_on_after(delay):
            try:
                return await self._recv.receive()
            except anyio.ClosedResourceError:
                raise anyio.EndOfStream from None
        return None

    def drain_nowait(self, limit: int) -> list[M]:
        """Take up to ``limit`` queued messages without waiting."""
        out: list[M] = []
        while len(out) < limit:
            try:
                out.append(self._recv.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
        return out

    async def handle(self, msg: M) -> None:  # pragma: no cover - overridden
        raise TypeError(f"{self.name} cannot handle {msg!r}")

    async def stopped(self) -> None:
        """Called once after the loop ended (release resources here)."""


async def supervise(
    run: Callable[[], Awaitable[Any]],
    name: str,
    *,
    max_restarts: int = 5,
    within_seconds: float = 60.0,
    backoff_seconds: float = 0.5,
) -> None:
    """Run ``run()`` and restart it when it raises, at most ``max_restarts`` times within
    ``within_seconds`` (then the error propagates and fails the daemon: a restart of the whole
    process, which replays the write-ahead logs, is the safe escalation). Cancellation is never
    caught."""
    failures: list[float] = []
    while True:
        try:
            await run()
            return
        except Exception:
            now = anyio.current_time()
            failures = [t for t in failures if now - t < within_seconds] + [now]
            if len(failures) > max_restarts:
                log.exception("%s failed %d times in %.0fs; giving up", name, len(failures),
                              within_seconds)
                raise
            log.exception("%s failed; restarting (%d/%d)", name, len(failures), max_restarts)
            await anyio.sleep(backoff_seconds * 2 ** (len(failures) - 1))
