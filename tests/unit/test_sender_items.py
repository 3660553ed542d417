"""The sender's open item of rows: ``put_row`` appends to it without looking at the buffer's
bounds or the sender's state, which it sees to once an item. These check that the bounds are
still exact, that a failure reaches the very next row, and that every row keeps its seq and
timestamp (an offline sender, whose log is read back)."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trackd._shared.record_spans import expand
from trackd._shared.values import pack_map
from trackd._shared.walfile import read_records
from trackd._transport import record_buffer
from trackd._transport.connection import get_loop_thread
from trackd._transport.record_items import ROWS_PER_ITEM, Rows
from trackd._transport.sender import Sender
from trackd.errors import CommError
from trackd.v1 import record_pb2, run_pb2


class LoopHold:
    """Holds the sender's loop (it takes no records) until ``release()``."""

    def __init__(self) -> None:
        self._held = threading.Event()
        self._release = threading.Event()

    def hold(self) -> None:
        def block() -> None:
            self._held.set()
            self._release.wait(30)

        get_loop_thread().loop.call_soon_threadsafe(block)
        assert self._held.wait(5)

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def loop_hold() -> Iterator[LoopHold]:
    hold = LoopHold()
    yield hold
    hold.release()


def _sender(tmp_path: Path, bound: int) -> Sender:
    return Sender(get_loop_thread().loop, ref=run_pb2.RunRef(project="p", run_id="r"),
                  bound=bound, offline_path=tmp_path / "run.wal")


def _stored(tmp_path: Path) -> list[tuple[int, bytes, float]]:
    out = []
    for payload in read_records(tmp_path / "run.wal"):
        for rec in record_pb2.WalEntry.FromString(payload).records:
            out.extend((r.seq, r.history.packed_data, r.history.timestamp) for r in expand(rec))
    return out


def _wait_for(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _log(sender: Sender, rows: list[bytes]) -> threading.Thread:
    t = threading.Thread(target=lambda: [sender.put_row(r, float(i)) for i, r in enumerate(rows)])
    t.start()
    return t


def _delivered(sender: Sender, t: threading.Thread, tmp_path: Path, rows: list[bytes]) -> None:
    t.join(10)
    assert not t.is_alive()
    sender.close(10)
    assert _stored(tmp_path) == [(i + 1, r, float(i)) for i, r in enumerate(rows)]


def test_the_record_bound_holds_inside_an_item(tmp_path: Path, loop_hold: LoopHold) -> None:
    bound = ROWS_PER_ITEM + 44  # the second item has room for 44 rows only
    sender = _sender(tmp_path, bound)
    loop_hold.hold()
    rows = [pack_map({"i": i}) for i in range(bound + 60)]
    t = _log(sender, rows)
    _wait_for(lambda: sender.buffered == bound)
    time.sleep(0.3)
    assert sender.buffered == bound and t.is_alive()  # the caller waits for room
    loop_hold.release()
    _delivered(sender, t, tmp_path, rows)


def test_the_byte_bound_holds_inside_an_item(tmp_path: Path, loop_hold: LoopHold,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_buffer, "MAX_BUFFERED_BYTES", 10_000)
    sender = _sender(tmp_path, 100_000)
    loop_hold.hold()
    rows = [pack_map({"i": i, "pad": "x" * 1000}) for i in range(40)]
    t = _log(sender, rows)
    _wait_for(lambda: sender._pending()[1] >= 10_000)
    time.sleep(0.3)
    held = sender._pending()[1]
    assert held < 10_000 + len(rows[0]) and t.is_alive()  # one row over at most
    loop_hold.release()
    _delivered(sender, t, tmp_path, rows)


def test_a_failure_reaches_the_next_row_though_its_item_has_room(tmp_path: Path) -> None:
    sender = _sender(tmp_path, 100_000)
    row = pack_map({"x": 1.0})
    sender.put_row(row, 1.0)  # opens an item with room for ROWS_PER_ITEM - 1 more
    assert sender._tail is not None and sender._tail.room > 0

    async def fail() -> None:
        sender._fail(CommError("the daemon refused the run"))

    asyncio.run_coroutine_threadsafe(fail(), get_loop_thread().loop).result(5)
    with pytest.raises(CommError, match="refused"):
        sender.put_row(row, 2.0)
    with pytest.raises(CommError, match="refused"):
        sender.put(("s", {"a": 1}, []))


def test_a_record_after_an_open_item_waits_for_the_room_its_rows_take(
        tmp_path: Path, loop_hold: LoopHold) -> None:
    sender = _sender(tmp_path, 10)
    loop_hold.hold()
    rows = [pack_map({"i": i}) for i in range(10)]
    for i, row in enumerate(rows):
        sender.put_row(row, float(i))  # all in the open item
    assert sender.buffered == 10
    t = threading.Thread(target=sender.put, args=(("s", {"a": 1}, []),))
    t.start()
    time.sleep(0.3)
    assert t.is_alive() and sender.buffered == 10
    loop_hold.release()
    t.join(10)
    sender.close(10)
    stored = _stored(tmp_path)
    assert [seq for seq, _, _ in stored] == list(range(1, 12))  # the summary's is 11
    assert [data for _, data, _ in stored[:10]] == rows


def test_an_item_opened_past_the_bound_takes_no_more_rows(
        tmp_path: Path, loop_hold: LoopHold, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = _sender(tmp_path, 10)
    loop_hold.hold()
    rows = [pack_map({"i": i}) for i in range(12)]
    for i, row in enumerate(rows[:10]):
        sender.put_row(row, float(i))
    # Another thread found room a moment before these rows filled it: its row goes over.
    monkeypatch.setattr(sender, "_full", lambda: False)
    sender.put_row(rows[10], 10.0)
    monkeypatch.undo()
    assert sender.buffered == 11
    t = threading.Thread(target=sender.put_row, args=(rows[11], 11.0))
    t.start()
    time.sleep(0.3)
    assert t.is_alive() and sender.buffered == 11  # the item it opened has no room
    loop_hold.release()
    _delivered(sender, t, tmp_path, rows)


class _TakenAtAppend(collections.deque):  # type: ignore[type-arg]
    """The sender's buffer, whose first item of rows is taken by another thread (as the
    sender's loop would take it) while the row that opened it is being queued."""

    def __init__(self, sender: Sender) -> None:
        super().__init__()
        self.sender = sender
        self.taken: list[tuple[bytes, int]] = []  # (a request, the seq of its last record)
        self.thread: threading.Thread | None = None

    def append(self, item: object) -> None:
        super().append(item)
        if self.thread is None and type(item) is Rows:
            def take() -> None:
                batch = self.sender._take_batch()
                assert batch is not None
                self.taken.append(batch)

            self.thread = threading.Thread(target=take)
            self.thread.start()
            self.thread.join(0.5)  # done here, or waiting for the row to be queued


def test_an_item_taken_while_its_first_row_is_queued_takes_no_row_it_does_not_send(
        tmp_path: Path, loop_hold: LoopHold) -> None:
    sender = _sender(tmp_path, 100_000)
    loop_hold.hold()
    buf = sender._buf = _TakenAtAppend(sender)
    rows = [pack_map({"i": i}) for i in range(3 * ROWS_PER_ITEM)]
    for i, r in enumerate(rows):
        sender.put_row(r, float(i))
    assert buf.thread is not None
    buf.thread.join(10)
    [(request, last)] = buf.taken
    # What the other thread sent counts as acknowledged (it may have taken every row).
    get_loop_thread().loop.call_soon_threadsafe(sender._set_acked, last)
    loop_hold.release()
    sender.close(10)
    taken = [(r.seq, r.history.packed_data, r.history.timestamp)
             for rec in record_pb2.WalEntry.FromString(request).records for r in expand(rec)]
    assert taken  # the first item, sent by the other thread
    assert sorted(taken + _stored(tmp_path)) == [(i + 1, r, float(i))
                                                 for i, r in enumerate(rows)]
    assert sender.buffered == 0
