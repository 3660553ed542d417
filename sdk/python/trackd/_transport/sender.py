"""The record sender: what ``log()`` hands its data to.

``put()`` and ``put_row()`` run in the caller's thread and only append to a bounded buffer
(:mod:`~trackd._transport.record_buffer`: it blocks the caller only while it holds
``max_buffered_records`` unsent records or ``MAX_BUFFERED_BYTES`` of packed rows, the SDK's
memory limit). A coroutine on the connection's loop takes records from the buffer in batches,
encodes them and writes them to the run's gRPC stream; acknowledged batches are dropped,
unacknowledged ones are kept and resent after a reconnect (the daemon drops duplicates by
seq). When the daemon stays unreachable for ``reconnect_timeout``, or keeps refusing the
records themselves that long (an error a reconnect does not mend: ``Sender._refused``), the run
continues offline: unacknowledged and later records go to the offline log in the run
directory, for ``trackd sync``.

The records are tuples, packed rows and items of rows (``record_items``).

While idle, the online sender sends an empty request every ``KEEPALIVE_SECONDS``: the daemon
answers each request, and an answer may carry a stop request for the run.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import grpc

from trackd._base.terminal import visible
from trackd._shared.walfile import WalWriter
from trackd._transport.record_buffer import (
    LINGER_BYTES,
    LINGER_RECORDS,
    LINGER_SECONDS,
    RecordBuffer,
)
from trackd._transport.record_items import AfterMedia
from trackd.errors import CommError, RunFinishedError, from_grpc
from trackd.v1 import record_service_pb2, run_pb2

log = logging.getLogger("trackd")

#: Sent-but-unacknowledged requests allowed in flight before the sender waits for acks.
MAX_INFLIGHT = 8
#: How often an idle stream asks the daemon for news (a stop request reaches the run this fast).
KEEPALIVE_SECONDS = 2.0
_KEEPALIVE = b""  # an empty StreamRecordsRequest

#: Retried, but answers to the records sent rather than an unreachable daemon: see
#: ``Sender._refused``.
_REFUSALS = {grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # the daemon's disk is full: it resumes with space
}

class Sender(RecordBuffer):
    """Buffers a run's records and delivers them (see the module doc).

    ``sink`` is ``"online"`` (stream to the daemon through ``conn``) or ``"offline"`` (append
    to ``offline_path``). ``observer`` (offline runs) is called on the loop with every record
    tuple, in order, so the run can keep its summary locally. ``tell_error`` prints a line
    for the user (the run's console messages): what the user must hear at once, beside the
    ``trackd`` logger's line.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        ref: run_pb2.RunRef,
        bound: int,
        conn: Any = None,
        offline_path: Path | None = None,
        reconnect_timeout: float = 60.0,
        reconnect: Any = None,
        go_offline: Any = None,
        observer: Any = None,
        start_seq: int = 0,
        on_stop: Any = None,
        writer: str = "",
        tell_error: Any = None,
    ) -> None:
        super().__init__(loop, bound=bound, start_seq=start_seq, observer=observer)
        self._ref = ref
        self._conn = conn
        self._offline_path = offline_path
        self._reconnect_timeout = reconnect_timeout
        self._reconnect = reconnect
        self._go_offline = go_offline
        self._on_stop = on_stop
        self._writer = writer
        self._tell_error = tell_error
        self.stop_requested = False
        self._told_full = False
        self._told_gap = False
        #: The daemon's acknowledged seq when it last refused what followed, and why (the
        #: reason, else the status): an error it answered to the records themselves, not an
        #: unreachable daemon. Reconnecting does not end such an outage, only an
        #: acknowledgement past that seq does, so the retries count towards reconnect_timeout.
        self._refused: tuple[int, str] | None = None
        self._acked_seq = start_seq
        self._flushes = 0  # flushes waiting (on the loop's thread)
        self._closed = False
        self.went_offline = False
        self._unacked: collections.deque[tuple[int, bytes]] = collections.deque()
        self._wal: WalWriter | None = None
        self._acked_event: asyncio.Event | None = None
        self._task = asyncio.run_coroutine_threadsafe(self._start(), loop).result()

    # -- caller side (any thread but the loop's) ------------------------------------------------

    @property
    def acked_seq(self) -> int:
        """The highest seq acknowledged so far."""
        return self._acked_seq

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record queued so far is acknowledged (in the daemon's log, or in
        the offline log).

        :raises TimeoutError: not done within ``timeout``.
        :raises CommError: delivery failed for good.
        """
        target = self._next_seq
        fut = asyncio.run_coroutine_threadsafe(self._wait_acked(target), self._loop)
        try:
            fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise
        if self.error is not None:
            raise self.error

    def close(self, timeout: float | None = None) -> None:
        """Flush, then end the stream and the sending task."""
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._wake_up)
            try:
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
            except Exception as exc:  # noqa: BLE001 - closing is best effort after the flush
                log.debug("the sender did not stop cleanly: %r", exc)

    def spill(self, path: Path) -> int:
        """Stop sending and write every record not acknowledged yet to the offline log at
        ``path`` (for ``trackd sync``). Returns how many records it holds."""
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        except Exception as exc:  # noqa: BLE001 - the task is stuck on a dead daemon: spill anyway
            log.debug("the sender did not stop before spilling: %r", exc)
        pending = self._next_seq - self._acked_seq
        if pending <= 0:
            return 0
        wal = WalWriter(path)
        try:
            for seq, data in list(self._unacked):
                if seq > self._acked_seq:
                    wal.append(data)
            while self._buf:
                head = self._buf[0]
                if type(head) is AfterMedia:
                    concurrent.futures.wait([head.media])
                batch = self._take_batch()
                if batch is not None:
                    wal.append(batch[0])
            wal.sync()
        finally:
            wal.close()
        return pending

    # -- loop side ---------------------------------------------------------------------------

    async def _start(self) -> asyncio.Task[None]:
        self._wake = asyncio.Event()
        self._acked_event = asyncio.Event()
        return asyncio.get_running_loop().create_task(self._run())

    async def _wait_acked(self, target: int) -> None:
        assert self._acked_event is not None
        self._flushes += 1  # no lingering while someone waits (see LINGER_SECONDS)
        try:
            self._wake_up()
            while self._acked_seq < target and self.error is None:
                ev = self._acked_event
                await ev.wait()
        finally:
            self._flushes -= 1

    def _set_acked(self, seq: int) -> None:
        if seq > self._acked_seq:
            self._acked_seq = seq
            while self._unacked and self._unacked[0][0] <= seq:
                self._unacked.popleft()
        ev, self._acked_event = self._acked_event, asyncio.Event()
        assert ev is not None
        ev.set()

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        with self._put_lock:  # the next row opens an item, and learns of the error
            self._seal_tail()
        ev, self._acked_event = self._acked_event, asyncio.Event()
        if ev is not None:
            ev.set()
        with self._room:
            self._room.notify_all()

    async def _stop(self) -> None:
        self._task.cancel()
        # Its outcome is known already: a failure went to ``error`` (``_fail``).
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if self._wal is not None:
            self._wal.sync()
            self._wal.close()

    async def _run(self) -> None:
        try:
            if self._offline_path is not None:
                await self._run_offline()
            else:
                await self._run_online()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - surfaced to the caller through error
            log.error("trackd: sending records failed: %s", visible(str(exc)))
            self._fail(exc if isinstance(exc, CommError) else CommError(str(exc), exc))

    async def _next_batch(self, reader: Any = None, keepalive: float | None = None) -> Any:
        """Wait for records; None once closed and drained; ``_KEEPALIVE`` after ``keepalive``
        idle seconds.

        :raises CommError: ``reader`` (the ack reader of the stream) ended meanwhile.
        """
        assert self._wake is not None
        while True:
            if reader is not None and reader.done():
                raise CommError("the record stream ended")
            count, buffered = self._pending()
            if (0 < count < LINGER_RECORDS and buffered < LINGER_BYTES
                    and not self._closed and not self._flushes):
                # A few records: let more gather (see LINGER_SECONDS); a flush ends the wait.
                # A timer sets the event: cheaper than wait_for's task and timeout each time.
                self._wake.clear()
                timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timer.cancel()
            batch = self._take_batch()
            if batch is not None:
                return batch
            if self._buf and type(head := self._buf[0]) is AfterMedia:
                try:  # the next record waits for its data types to be encoded
                    await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(head.media)),
                                           keepalive)
                except TimeoutError:
                    return _KEEPALIVE
                continue
            if self._closed:
                return None
            self._idle = True
            if self._buf:
                self._idle = False
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), keepalive)
            except TimeoutError:
                self._idle = False
                return _KEEPALIVE
            self._idle = False

    # offline ----------------------------------------------------------------------------------

    async def _run_offline(self) -> None:
        assert self._offline_path is not None
        self._wal = WalWriter(self._offline_path)
        for _seq, data in list(self._unacked):
            self._wal.append(data)
        if self._unacked:
            self._set_acked(self._unacked[-1][0])
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            data, last = batch
            self._wal.append(data)
            self._set_acked(last)

    # online -----------------------------------------------------------------------------------

    async def _run_online(self) -> None:
        failing_since: float | None = None
        delay = 0.05
        while True:
            call = None
            reader = None
            try:
                call = self._conn.record_stream()
                await call.write(record_service_pb2.StreamRecordsRequest(
                    run=self._ref, writer=self._writer).SerializeToString())
                first = await call.read()
                if first is grpc.aio.EOF:
                    raise CommError("the daemon closed the record stream")
                self._set_acked(first.acked_seq)
                if self._refusal_over():
                    self._refused = None
                if self._refused is None:
                    failing_since, delay = None, 0.05
                for _seq, data in list(self._unacked):  # resend what the daemon does not have
                    await call.write(data)
                reader = asyncio.get_running_loop().create_task(self._read_acks(call))
                while True:
                    while len(self._unacked) >= MAX_INFLIGHT and not reader.done():
                        await self._acked_event.wait()  # type: ignore[union-attr]
                    if reader.done():
                        reader.result()
                        raise CommError("the record stream ended")
                    batch = await self._next_batch(reader, KEEPALIVE_SECONDS)
                    if batch is None:
                        await call.done_writing()
                        await reader
                        return
                    if batch is _KEEPALIVE:
                        await call.write(_KEEPALIVE)
                        continue
                    data, last = batch
                    self._unacked.append((last, data))
                    await call.write(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if self._refusal_over():
                    failing_since, self._refused = None, None
                fatal = await self._classify(exc, call, reader)
                if fatal is not None:
                    if isinstance(fatal, RunFinishedError) and (
                            self._closed or self._acked_seq >= self._next_seq):
                        # Finished with everything delivered (a reconnect raced finish()).
                        return
                    raise fatal from None
            finally:
                if reader is not None:
                    if not reader.done():
                        reader.cancel()
                    else:
                        reader.exception() if not reader.cancelled() else None
                if call is not None:
                    call.cancel()
            # Reconnect with backoff; after reconnect_timeout, continue offline.
            now = time.monotonic()
            failing_since = failing_since or now
            if now - failing_since > self._reconnect_timeout:
                path = self._go_offline() if self._go_offline is not None else None
                if path is not None:
                    log.warning(
                        "trackd: the daemon has been %s for %.0fs; run %s continues "
                        "offline in %s (upload it later with: trackd sync %s)",
                        "unreachable" if self._refused is None
                        else f"refusing its records ({self._refused[1]})",
                        now - failing_since, visible(self._ref.run_id), visible(str(path.parent)),
                        visible(str(path.parent)),
                    )
                    self.went_offline = True
                    self._offline_path = path
                    await self._run_offline()
                    return
                if self._refused is not None and self._refused[1] == "SEQUENCE_GAP":
                    # No log to go on in, and retrying cannot bring the lost records back.
                    raise CommError(f"run {self._ref.run_id}: the daemon cannot take this "
                                    f"process's records after seq {self._refused[0]}: the "
                                    "next ones were lost before they were sent")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            if self._reconnect is not None:
                try:
                    await self._reconnect()
                except CommError as exc:
                    log.debug("reconnect failed: %s", exc)

    async def _classify(self, exc: BaseException, call: Any, reader: Any) -> CommError | None:
        """None when the stream broke in a way a reconnect fixes; else the error to raise."""
        err: Any = exc
        if not isinstance(exc, grpc.aio.AioRpcError):
            if reader is not None and reader.done() and not reader.cancelled() and reader.exception():
                err = reader.exception()
            elif call is not None and call.done():
                code = await call.code()
                if code not in _RETRYABLE:
                    return CommError(f"record stream failed: {code.name} {await call.details()}")
                return None
        if isinstance(err, grpc.aio.AioRpcError):
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and not self._told_full:
                self._told_full = True
                log.warning("trackd: the daemon cannot store records now (%s); they are kept "
                            "here and sent again when it can", visible(err.details() or ""))
            if err.code() in _REFUSALS and self._unacked:  # records it may have refused
                answer = from_grpc(err)
                reason = getattr(answer, "reason", "") or err.code().name
                self._refused = (self._acked_seq, reason)
                if reason == "SEQUENCE_GAP":
                    self._tell_gap(answer)
            if err.code() in _RETRYABLE:
                log.debug("record stream broke: %s", err.code())
                return None
            return from_grpc(err)
        log.debug("record stream broke: %r", err)
        return None

    def _refusal_over(self) -> bool:
        """Whether the daemon got past its refusal: it acknowledged records after it, or none
        that it could have refused are left (an idle run's stream broke)."""
        return self._refused is not None and (
            self._acked_seq > self._refused[0] or not self._unacked)

    def _tell_gap(self, err: CommError) -> None:
        """Say at once, and once, that the daemon saw a gap in this writer's seqs.

        This process resends every record above the daemon's acknowledged seq after a
        reconnect, so a gap means records were numbered here and lost before they were sent:
        a bug, which would otherwise show only as a ``finish()`` that waits. Reconnecting
        cannot mend it, so the retries count towards ``reconnect_timeout`` (the run then
        goes on offline, or fails where it has no offline log).
        """
        if self._told_gap:
            return
        self._told_gap = True
        held = getattr(err, "metadata", {}).get("acked_seq", "?")
        text = (f"run {visible(self._ref.run_id)}: the daemon holds this process's records up "
                f"to seq {visible(held)} and was sent a later one; the records in between were "
                "lost here before they were sent (a bug in trackd: please report it). The "
                f"later records are kept; after {self._reconnect_timeout:.0f}s of retrying they "
                "go to the run's offline log.")
        log.error("trackd: %s", text)
        if self._tell_error is not None:
            self._tell_error(text)

    async def _read_acks(self, call: Any) -> None:
        try:
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    return
                self._set_acked(resp.acked_seq)
                if resp.stop_requested and not self.stop_requested:
                    self.stop_requested = True
                    if self._on_stop is not None:
                        self._on_stop()
        finally:
            self._set_acked(self._acked_seq)  # wake the writer so it sees the reader ended
            self._wake_up()
