"""The record sender: what ``log()`` hands its data to.

``put()`` runs in the caller's thread and only appends to a bounded buffer (it blocks the
caller only while the buffer holds ``max_buffered_records`` unsent records or
``MAX_BUFFERED_BYTES`` of packed rows: those bounds are the SDK's memory limit). A coroutine on the connection's loop takes records from the buffer in
batches, numbers them, encodes them and writes them to the run's gRPC stream; acknowledged
batches are dropped, unacknowledged ones are kept and resent after a reconnect (the daemon
drops duplicates by seq). When the daemon stays unreachable for ``reconnect_timeout`` the run
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
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from trackd._base.terminal import visible
from trackd._shared.walfile import WalWriter
from trackd._transport.record_items import (
    ITEM_BYTES,
    ROWS_PER_ITEM,
    AfterMedia,
    Rows,
    encode,
    packed_size,
)
from trackd.errors import CommError, RunFinishedError, from_grpc
from trackd.v1 import record_service_pb2, run_pb2

log = logging.getLogger("trackd")

#: Records per request: large enough to amortise per-message costs (a request costs the daemon
#: a WAL append, a decode and a store round, however few its rows), small enough that a request
#: stays far below the 64 MiB message limit even with big rows (checked too). 4,096 rows of ten
#: floats are some 500 KiB.
MAX_BATCH_RECORDS = 4096
#: Bytes per request, about: what the daemon holds for a request while it decodes and stores
#: it is several times this (a row of 1,000 floats: 16 KiB packed, some 60 KiB decoded), so a
#: request of wide rows is kept to 64 of them. Measured with 2,000 rows of 1,000 floats, the
#: daemon's peak was 120 MiB at 1 MiB a request and 160 MiB at 4 MiB, and the rows were stored
#: no slower. Rows of ten floats fill ``MAX_BATCH_RECORDS`` first (some 120 KiB).
MAX_BATCH_BYTES = 1024 * 1024
#: A batch of fewer records than this waits up to this long for more before it is sent (a
#: flush, the end, or the buffer reaching ``LINGER_RECORDS`` ends the wait): however often the
#: loop logs, the sender then wakes at most about ten times a second until rows come faster
#: than 2,048 per 0.1 s. Each wake-up costs this thread a request and an acknowledgement (about
#: 1 ms of interpreter time on a 2-core machine, measured), which a training loop that holds
#: the interpreter pays for: at 5 ms, a loop of 1.2 ms steps slowed by 5 %; at 0.1 s, by 1-3.5 %.
#: A loop that logs faster than that sends requests of 2,048 rows and more: at 256, the sender
#: woke every 5 ms (the interpreter's switch interval) and sent some 700 rows a request, and
#: 100,000 rows took 150 requests.
#: The records are not at risk meanwhile any more than in the buffer (the durability contract:
#: a record survives anything but the death of the training process until it is acknowledged).
LINGER_RECORDS = 2048
LINGER_SECONDS = 0.1
#: Rows by bytes end the wait too: 256 rows of 1,000 floats, four requests. (Waiting for 2,048
#: such rows, 32 MiB, the sender sent them in bursts every 0.1 s, and 2,000 rows of 1,000
#: floats took 1.4 s where they took 0.8; waking at every request's worth, 1 MiB, 1.0-1.2 s.)
LINGER_BYTES = 4 * MAX_BATCH_BYTES
#: Bytes of packed rows the buffer holds at most, beside ``max_buffered_records`` (100,000 by
#: default: 20 MiB of rows of ten floats, a burst of them a loop logs without waiting). Rows of
#: 1,000 floats are 16 KiB each: this bound, not the count, holds them to 4,000.
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
#: Sent-but-unacknowledged requests allowed in flight before the sender waits for acks.
MAX_INFLIGHT = 8
#: How often an idle stream asks the daemon for news (a stop request reaches the run this fast).
KEEPALIVE_SECONDS = 2.0
_KEEPALIVE = b""  # an empty StreamRecordsRequest

_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # the daemon's disk is full: it resumes with space
}

class Sender:
    """Buffers a run's records and delivers them (see the module doc).

    ``sink`` is ``"online"`` (stream to the daemon through ``conn``) or ``"offline"`` (append
    to ``offline_path``). ``observer`` (offline runs) is called on the loop with every record
    tuple, in order, so the run can keep its summary locally.
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
    ) -> None:
        self._loop = loop
        self._ref = ref
        self._bound = bound
        self._conn = conn
        self._offline_path = offline_path
        self._reconnect_timeout = reconnect_timeout
        self._reconnect = reconnect
        self._go_offline = go_offline
        self._observer = observer
        self._on_stop = on_stop
        self._writer = writer
        self.stop_requested = False
        self._told_full = False
        # Record tuples, AfterMedia and Rows items, in seq order (appended under _put_lock).
        self._buf: collections.deque[Any] = collections.deque()
        self._tail: Rows | None = None  # the Rows item put_row extends (under _put_lock)
        # Records in _buf, a Rows item's rows each, and the bytes of their packed rows; the
        # open item's rows are counted once it is sealed (_seal_tail). Under _put_lock.
        self._count = 0
        self._buffered_bytes = 0
        self._room = threading.Condition()
        self._put_lock = threading.Lock()
        self._waiting_room = 0
        self._next_seq = start_seq
        self._acked_seq = start_seq
        self._idle = True
        self._flushes = 0  # flushes waiting (on the loop's thread)
        self._closed = False
        self.error: BaseException | None = None
        self.went_offline = False
        self._unacked: collections.deque[tuple[int, bytes]] = collections.deque()
        self._wal: WalWriter | None = None
        self._wake: asyncio.Event | None = None
        self._acked_event: asyncio.Event | None = None
        self._task = asyncio.run_coroutine_threadsafe(self._start(), loop).result()

    # -- caller side (any thread but the loop's) ------------------------------------------------

    def put(self, item_without_seq: tuple[Any, ...],
            media: concurrent.futures.Future[None] | None = None) -> int:
        """Queue a record; returns its seq. Blocks only while the buffer is full. A record
        whose data types are being encoded (``media``, the encoder's future) is sent once they
        are, and holds back the records after it (their order is kept).

        :raises CommError: delivery failed for good (the error is kept in ``error``).
        """
        if self.error is not None:
            raise self.error
        if self._full():
            self._wait_for_room()
        with self._put_lock:  # seq order must be buffer order, whatever thread logs
            before, before_bytes = self._count, self._buffered_bytes
            self._seal_tail()  # the rows after this record are a new item
            self._next_seq = seq = self._next_seq + 1
            item = (item_without_seq[0], seq, *item_without_seq[1:])
            self._buffered_bytes = buffered = self._buffered_bytes + packed_size(item)
            self._buf.append(item if media is None else AfterMedia(item, media))
            self._count = count = self._count + 1
        self._wake_if_due(before, before_bytes, count, buffered)
        return seq

    def put_row(self, packed: bytes, timestamp: float) -> None:
        """``put(("h", packed, None, None, timestamp))`` for a row ``pack_row`` packed: the
        same record, queued with less work (the path of most ``log()`` calls).

        :raises CommError: delivery failed for good (the error is kept in ``error``).
        """
        lock = self._put_lock
        lock.acquire()  # half what `with` costs (1,000 CPU instructions against 2,000)
        try:
            tail = self._tail
            if tail is not None and tail.room and tail.size < tail.limit:
                # Nearly every row: the open item takes it. The bounds, the errors and the
                # sender's wake-ups are seen to once an item, when a row opens one.
                tail.room -= 1
                tail.packed.append(packed)
                tail.stamps.append(timestamp)
                tail.size += len(packed)
                self._next_seq += 1
                return
        finally:
            lock.release()
        self._open_item(packed, timestamp)

    def _open_item(self, packed: bytes, timestamp: float) -> None:
        """``put_row`` for a row the open item cannot take: the item is sealed (its rows
        counted), the caller waits while the buffer is full, and the row opens a new item,
        which may take as many more rows as the bounds leave room for."""
        with self._put_lock:
            before, before_bytes = self._count, self._buffered_bytes
            self._seal_tail()
        if self.error is not None:
            raise self.error
        if self._full():
            self._wait_for_room()
        with self._put_lock:
            self._seal_tail()  # the open item of another thread logging meanwhile
            count, buffered = self._count, self._buffered_bytes
            self._next_seq = seq = self._next_seq + 1
            tail = Rows(seq)
            # The rows after this one (none when another thread filled the room meanwhile).
            tail.room = max(0, min(ROWS_PER_ITEM, self._bound - count) - 1)
            tail.limit = min(ITEM_BYTES, MAX_BUFFERED_BYTES - buffered)
            tail.packed.append(packed)
            tail.stamps.append(timestamp)
            tail.size = len(packed)
            self._tail = tail
            self._buf.append(tail)
        self._wake_if_due(before, before_bytes, count, buffered)

    def _wake_if_due(self, before: int, before_bytes: int, count: int, buffered: int) -> None:
        """Wake the sender when it is idle, or when the buffer went from ``before`` records
        and ``before_bytes`` to ``count`` and ``buffered``, across what ends a linger."""
        if (self._idle or before < LINGER_RECORDS <= count
                or before_bytes < LINGER_BYTES <= buffered):
            self._idle = False
            self._loop.call_soon_threadsafe(self._wake_up)

    def _seal_tail(self) -> None:
        """Count the open item's rows in the buffer's totals; the next row opens a new item.
        Called under ``_put_lock``."""
        tail = self._tail
        if tail is not None:
            self._tail = None
            self._count += len(tail.packed)
            self._buffered_bytes += tail.size

    def _pending(self) -> tuple[int, int]:
        """The records and bytes of packed rows buffered, the open item's included (read
        without the lock: a glimpse, for the linger and ``buffered``)."""
        tail = self._tail
        if tail is None:
            return self._count, self._buffered_bytes
        return self._count + len(tail.packed), self._buffered_bytes + tail.size

    def _full(self) -> bool:
        """Whether the buffer holds its bound of records or of bytes (the open item's too)."""
        count, buffered = self._pending()
        return count >= self._bound or buffered >= MAX_BUFFERED_BYTES

    def _wait_for_room(self) -> None:
        with self._room:
            self._waiting_room += 1
            try:
                while self._full() and self.error is None:
                    self._loop.call_soon_threadsafe(self._wake_up)
                    self._room.wait(0.5)
            finally:
                self._waiting_room -= 1
        if self.error is not None:
            raise self.error

    @property
    def buffered(self) -> int:
        """Records queued and not yet taken for sending."""
        return self._pending()[0]

    @property
    def acked_seq(self) -> int:
        """The highest seq acknowledged so far."""
        return self._acked_seq

    @property
    def last_seq(self) -> int:
        """The seq of the last record queued."""
        return self._next_seq

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

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

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

    def _take_batch(self) -> tuple[bytes, int] | None:
        buf = self._buf
        if not buf:
            return None
        req = record_service_pb2.StreamRecordsRequest()
        add = req.records.add
        observer = self._observer
        n = 0
        last = 0
        size = 0  # bytes of the Rows items' rows, beside req.ByteSize()
        taken_bytes = 0  # of the packed rows taken from the buffer
        while buf and n < MAX_BATCH_RECORDS:
            item = buf[0]
            if type(item) is Rows:
                if n and n + len(item.packed) > MAX_BATCH_RECORDS:
                    break  # the next request takes it whole
                # Sealed, under the lock, when it is the open item: put_row opens a new one for
                # later rows. (Looked at without the lock, an item a row has just opened could
                # be in the buffer while the row's thread has yet to make it the open item:
                # taken unsealed, it took the rows after that one with it, unsent.)
                with self._put_lock:
                    if item is self._tail:
                        self._seal_tail()
                buf.popleft()
                rows = add(seq=item.seq).history_rows
                rows.packed_data.extend(item.packed)
                rows.timestamps.extend(item.stamps)
                k = len(item.packed)
                taken_bytes += item.size
                size += item.size + 12 * k
                if observer is not None:
                    for i, (data, ts) in enumerate(zip(item.packed, item.stamps)):
                        observer(("h", item.seq + i, data, None, None, ts))
                n += k
                last = item.seq + k - 1
                if size > MAX_BATCH_BYTES:
                    break
                continue
            if type(item) is AfterMedia and not item.media.done():
                break  # sent once its data types are encoded; the records after it wait
            buf.popleft()
            if item[0] == "h" and type(item[2]) is bytes:
                taken_bytes += len(item[2])
            rec = add()
            try:
                encode(rec, item)
            except (ValueError, TypeError, UnicodeError) as exc:
                # Never let one bad record stop the run: keep its seq with an empty record.
                log.warning("trackd: record %d could not be sent and was dropped: %s",
                            item[1], visible(str(exc)))
                rec.Clear()
                rec.seq = item[1]
                rec.summary.SetInParent()
            if observer is not None:
                observer(item)
            last = item[1]
            n += 1
            if n % 100 == 0 and req.ByteSize() > MAX_BATCH_BYTES:
                break
        if n == 0:
            return None
        with self._put_lock:
            self._count -= n
            self._buffered_bytes -= taken_bytes
        if self._waiting_room:
            with self._room:
                self._room.notify_all()
        return req.SerializeToString(), last

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
            if now - failing_since > self._reconnect_timeout and self._go_offline is not None:
                path = self._go_offline()
                if path is not None:
                    log.warning(
                        "trackd: the daemon has been unreachable for %.0fs; run %s continues "
                        "offline in %s (upload it later with: trackd sync %s)",
                        now - failing_since, visible(self._ref.run_id), visible(str(path.parent)),
                        visible(str(path.parent)),
                    )
                    self.went_offline = True
                    self._offline_path = path
                    await self._run_offline()
                    return
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
            if err.code() in _RETRYABLE:
                log.debug("record stream broke: %s", err.code())
                return None
            return from_grpc(err)
        log.debug("record stream broke: %r", err)
        return None

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
