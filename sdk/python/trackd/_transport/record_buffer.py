"""The sender's buffer: what ``log()`` appends to in the caller's thread, and what the sender's
loop takes its requests from.

``put`` (a record tuple) and ``put_row`` (a row ``pack_row`` packed) run in any thread but the
loop's, under ``_put_lock``; they block the caller only while the buffer holds its bound of
records or ``MAX_BUFFERED_BYTES`` of packed rows (the SDK's memory limit). Consecutive packed
rows go into one :class:`~trackd._transport.record_items.Rows` item, the *open item*, which
``put_row`` extends until it is sealed (its rows then counted in the buffer's totals). The
loop (:class:`~trackd._transport.sender.Sender`) takes a request at a time with
``_take_batch``, sealing the open item under the same lock; it is woken (``_wake_up``) when
the buffer crosses what ends a linger, or when it is idle.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import threading
from typing import Any

from trackd._base.terminal import visible
from trackd._transport.record_items import (
    ITEM_BYTES,
    ROWS_PER_ITEM,
    AfterMedia,
    Rows,
    encode,
    packed_size,
)
from trackd.v1 import record_service_pb2

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
#: than 2,048 per 0.1 s. Each wake-up costs the sender a request and an acknowledgement (about
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


class RecordBuffer:
    """The records of a run not yet taken for sending (see the module doc): ``bound`` records
    at most, numbered from ``start_seq + 1``. ``observer`` (offline runs) is called with every
    record tuple taken, in order. A failure of delivery is kept in ``error``, which the next
    record raises."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, bound: int, start_seq: int,
                 observer: Any = None) -> None:
        self._loop = loop
        self._bound = bound
        self._observer = observer
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
        self._idle = True  # the loop waits for records (it is woken by the next one)
        self._wake: asyncio.Event | None = None  # set on the loop: records to take
        self.error: BaseException | None = None

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
    def last_seq(self) -> int:
        """The seq of the last record queued."""
        return self._next_seq

    # -- loop side -------------------------------------------------------------------------------

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _take_batch(self) -> tuple[bytes, int] | None:
        """A request's worth of records from the head of the buffer: the request's bytes and
        the seq of its last record; None when there is none to take (or the first waits for
        its data types)."""
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
