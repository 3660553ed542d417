"""WalActor: one per live run; appends accepted batches to the run's write-ahead log.

This is the durability boundary: a batch is acknowledged to the client once its bytes are in
the log file (in the OS: they survive a crash of the daemon). Appends queued together are
written with one system call, and the file is fsynced at most every ``fsync_interval`` seconds
while it has unsynced data (group fsync) and always on :class:`Sync` (finish) and on stop.

A new run's log file is created by its first append (in the same worker-thread call), not when
the run is created: CreateRun does not wait for a file to be made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from trackd._shared.walfile import WalFormatError, WalWriter
from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.errors import ResourceExhaustedError

log = logging.getLogger("trackd.daemon.wal")


@dataclass(frozen=True)
class Append:
    """Append one batch (a serialized WalEntry); replies when it is in the file."""

    payload: bytes
    reply: Reply[None]


@dataclass(frozen=True)
class Sync:
    """fsync now; replies when done."""

    reply: Reply[None]


WalMsg = Append | Sync


class WalActor(Actor[WalMsg]):
    #: One stream feeds a run and waits for each append, so one or two messages are queued in
    #: practice; 16 leaves room for finish/crash appends without ever blocking them.
    mailbox_size = 16

    def __init__(self, path: Path, fsync_interval: float) -> None:
        super().__init__()
        self.name = f"wal:{path.stem}"
        self.path = path
        self._fsync_interval = fsync_interval
        self._writer: WalWriter | None = None
        self._dirty = False
        self._last_sync = 0.0

    async def open(self) -> None:
        """Open (or create, or repair the tail of) the log file now, rather than at the first
        append (recovery does, before it reads the log)."""
        self._writer = await anyio.to_thread.run_sync(WalWriter, self.path)
        self._last_sync = anyio.current_time()

    async def loop(self) -> None:
        self._last_sync = anyio.current_time()
        while True:
            msg = None
            if self._dirty:
                with anyio.move_on_after(self._fsync_interval):
                    msg = await self._receive()
            else:
                msg = await self._receive()
            if msg is _END:
                return
            batch = ([msg] if msg is not None else []) + self.drain_nowait(64)
            await self._process(batch)
            del msg, batch  # written: the payloads are not held while the next ones are awaited

    async def _receive(self) -> WalMsg | object:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return _END

    async def _process(self, batch: list[WalMsg]) -> None:
        payloads = [m.payload for m in batch if isinstance(m, Append)]
        now = anyio.current_time()
        want_sync = any(isinstance(m, Sync) for m in batch) or (
            (self._dirty or payloads) and now - self._last_sync >= self._fsync_interval
        )

        def write() -> None:
            if self._writer is None:  # the first append of a new run makes the file
                self._writer = WalWriter(self.path)
            if payloads:
                self._writer.append_many(payloads)
            if want_sync:
                self._writer.sync()

        try:
            await anyio.to_thread.run_sync(write)
        except OSError as exc:
            # A full disk (or a failing one): these appends are refused, nothing acknowledged is
            # touched, and the actor keeps serving: the next append may succeed (a log that
            # could not be made is tried again).
            error = ResourceExhaustedError(
                f"cannot write the log {self.path}: {exc.strerror or exc}", path=str(self.path))
            log.warning("%s", error.message)
            for m in batch:
                m.reply.fail(error)
            return
        except WalFormatError as exc:  # a stray file where the new log should go
            log.error("%s", exc)
            for m in batch:
                m.reply.fail(exc)
            return
        if want_sync:
            self._dirty, self._last_sync = False, now
        elif payloads:
            self._dirty = True
        for m in batch:
            m.reply.set(None)

    async def stopped(self) -> None:
        writer = self._writer
        if writer is not None:

            def close() -> None:
                writer.sync()
                writer.close()

            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


_END = object()
