"""A daemon that does not run for a while (SIGSTOP here; a suspended machine or a starved
process alike) past a run's grace period does not mark the run crashed when it runs again:
its client's stream was waiting in the socket, unread. The grace period starts again; a client
that is really gone is still marked crashed after it."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Iterator

import grpc

from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd._transport.connection import make_stub
from trackd.v1 import query_service_pb2, record_service_pb2, run_pb2, run_service_pb2

GRACE = 1.0


def _state(queries: object, ref: run_pb2.RunRef) -> int:
    return queries.GetRun(query_service_pb2.GetRunRequest(ref=ref), timeout=10).run.state  # type: ignore[attr-defined]


def test_a_stopped_daemon_does_not_crash_the_run_whose_stream_waits() -> None:
    dirs = DaemonDirs.make(crash_grace=GRACE)
    d = DaemonProcess(dirs)
    d.start()
    channel = grpc.insecure_channel(f"unix:{dirs.socket}")
    try:
        runs = make_stub(channel, run_service_pb2, "RunService")
        queries = make_stub(channel, query_service_pb2, "QueryService")
        stream = channel.stream_stream(
            "/trackd.v1.RecordService/StreamRecords", request_serializer=None,
            response_deserializer=record_service_pb2.StreamRecordsResponse.FromString)
        ref = run_pb2.RunRef(entity="e", project="stall", run_id="waits")
        runs.CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0), timeout=10)

        # The run has no stream yet and the daemon stops past its grace period; the client's
        # stream opens meanwhile (its first request waits in the socket).
        os.kill(d.pid, signal.SIGSTOP)
        ending = threading.Event()
        acks: queue.SimpleQueue[int] = queue.SimpleQueue()

        def requests() -> Iterator[bytes]:
            yield record_service_pb2.StreamRecordsRequest(run=ref).SerializeToString()
            ending.wait(30)

        def read() -> None:
            try:
                for resp in stream(requests()):
                    acks.put(resp.acked_seq)
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(GRACE + 1.5)
        os.kill(d.pid, signal.SIGCONT)

        assert acks.get(timeout=10) == 0  # the handshake is answered: the stream attached
        time.sleep(GRACE + 0.5)  # past the grace had it been counted from before the stop
        assert _state(queries, ref) == run_pb2.RUN_STATE_RUNNING
        log = (dirs.base / "daemon.out").read_text()
        assert "marking crashed" not in log and "re-attached" not in log, log[-2000:]

        # A client that goes away is still marked crashed once its grace ends.
        ending.set()
        reader.join(10)
        wait_for(lambda: _state(queries, ref) == run_pb2.RUN_STATE_CRASHED, timeout=30)
    finally:
        channel.close()
        d.stop()
        dirs.cleanup()
