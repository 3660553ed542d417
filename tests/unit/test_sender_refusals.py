"""A daemon that answers the records themselves with an error (``INTERNAL``, ``UNKNOWN``,
``ABORTED``) is not an unreachable one: reconnecting does not mend it. The sender retries such a
refusal for ``reconnect_timeout``, counted from the first, and then goes on offline with the
records; it used to count from each reconnect, and so retried for ever (a ``finish()`` that
never returned). A refusal that later acknowledgements get past ends that outage: the next one
is counted afresh."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest

from trackd._shared.record_spans import expand
from trackd._shared.values import pack_map
from trackd._shared.walfile import read_records
from trackd._transport.connection import get_loop_thread
from trackd._transport.sender import Sender
from trackd.v1 import record_pb2, record_service_pb2, run_pb2


class RefusingDaemon:
    """Stands for a connection: each ``record_stream()`` answers the attach with the seq this
    daemon holds, then fails with ``code`` at the first request of records while ``refusing``
    is above zero (counted down a stream), and otherwise holds and acknowledges them."""

    def __init__(self, code: grpc.StatusCode, refusing: int) -> None:
        self.code = code
        self.refusing = refusing
        self.acked = 0
        self.streams = 0
        self._last: _Stream | None = None

    def record_stream(self) -> _Stream:
        self.streams += 1
        self._last = _Stream(self)
        return self._last

    def break_stream(self) -> None:
        """Fail the open stream with ``code`` while it carries no records (idle)."""
        assert self._last is not None
        loop = get_loop_thread().loop
        loop.call_soon_threadsafe(self._last.answer_error)


class _Stream:
    def __init__(self, daemon: RefusingDaemon) -> None:
        self._daemon = daemon
        self._answers: asyncio.Queue[object] = asyncio.Queue()
        self._attached = False
        self._refused = False

    async def write(self, data: bytes) -> None:
        d = self._daemon
        if not self._attached:
            self._attached = True
            self._answers.put_nowait(record_service_pb2.StreamRecordsResponse(acked_seq=d.acked))
            return
        records = record_service_pb2.StreamRecordsRequest.FromString(data).records
        if records and d.refusing > 0:
            if not self._refused:
                self._refused = True
                d.refusing -= 1
                self._answers.put_nowait(grpc.aio.AioRpcError(
                    d.code, grpc.aio.Metadata(), grpc.aio.Metadata(), "refused"))
            return
        for rec in records:
            for one in expand(rec):
                assert one.seq == d.acked + 1 or one.seq <= d.acked
                d.acked = max(d.acked, one.seq)
        self._answers.put_nowait(record_service_pb2.StreamRecordsResponse(acked_seq=d.acked))

    def answer_error(self) -> None:
        self._answers.put_nowait(grpc.aio.AioRpcError(
            self._daemon.code, grpc.aio.Metadata(), grpc.aio.Metadata(), "broken"))

    async def read(self) -> object:
        answer = await self._answers.get()
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def done_writing(self) -> None:
        self._answers.put_nowait(grpc.aio.EOF)

    def done(self) -> bool:
        return False

    def cancel(self) -> None:
        pass


def _sender(daemon: RefusingDaemon, tmp_path: Path, reconnect_timeout: float) -> Sender:
    return Sender(get_loop_thread().loop, ref=run_pb2.RunRef(project="p", run_id="r"),
                  bound=1000, conn=daemon, reconnect_timeout=reconnect_timeout,
                  go_offline=lambda: tmp_path / "run.wal")


def _offline_seqs(tmp_path: Path) -> list[int]:
    return [one.seq for payload in read_records(tmp_path / "run.wal")
            for rec in record_pb2.WalEntry.FromString(payload).records for one in expand(rec)]


@pytest.mark.parametrize("code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN,
                                  grpc.StatusCode.ABORTED])
def test_a_refusal_no_reconnect_mends_goes_offline_after_reconnect_timeout(tmp_path, code):
    daemon = RefusingDaemon(code, refusing=10**9)
    sender = _sender(daemon, tmp_path, reconnect_timeout=1.0)
    for i in range(3):
        sender.put_row(pack_map({"i": i}), float(i))
    sender.flush(20)  # it used to retry for ever: a TimeoutError here
    assert sender.went_offline and daemon.streams > 1
    assert _offline_seqs(tmp_path) == [1, 2, 3]
    sender.close(5)


def test_a_refusal_later_acknowledgements_get_past_is_not_counted_again(tmp_path):
    daemon = RefusingDaemon(grpc.StatusCode.INTERNAL, refusing=2)
    sender = _sender(daemon, tmp_path, reconnect_timeout=1.0)
    sender.put_row(pack_map({"i": 0}), 0.0)
    sender.flush(20)
    assert daemon.acked == 1 and daemon.streams == 3  # refused twice, then held
    time.sleep(1.5)  # longer than reconnect_timeout since the first refusal
    daemon.refusing = 2  # refused again, briefly: a new outage, counted from now
    sender.put_row(pack_map({"i": 1}), 1.0)
    sender.flush(20)
    assert not sender.went_offline and daemon.acked == 2
    sender.close(5)


def test_an_idle_stream_broken_with_such_an_error_is_no_refusal(tmp_path):
    """Nothing unacknowledged: an error then cannot be an answer to records (a daemon that
    restarts under an idle run), and must not start a count that a later outage inherits."""
    daemon = RefusingDaemon(grpc.StatusCode.INTERNAL, refusing=0)
    sender = _sender(daemon, tmp_path, reconnect_timeout=1.0)
    sender.put_row(pack_map({"i": 0}), 0.0)
    sender.flush(20)
    daemon.break_stream()
    deadline = time.monotonic() + 10
    while daemon.streams < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(1.5)  # longer than reconnect_timeout since the break
    daemon.refusing = 2  # a brief refusal of records: a new outage, counted from now
    sender.put_row(pack_map({"i": 1}), 1.0)
    sender.flush(20)
    assert not sender.went_offline and daemon.acked == 2
    sender.close(5)
