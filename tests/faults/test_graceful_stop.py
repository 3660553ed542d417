"""SIGTERM with runs in flight: new work is refused with UNAVAILABLE and a retry hint while
the daemon drains, the daemon exits within its drain bound, and the SDKs carry on against the
next daemon without losing or doubling a row."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import grpc
from google.rpc import error_details_pb2, status_pb2

from tests.faults.test_daemon_death import WRITER as DEATH_WRITER
from tests.faults.test_daemon_death import clean_up_after_writers
from tests.helpers import read_line, wait_for
from trackd import Api
from trackd._transport.connection import make_stub
from trackd.errors import RunNotFoundError
from trackd.v1 import run_pb2, run_service_pb2

WRITER = DEATH_WRITER.replace('project="death"', 'project="drain"')
ROWS = 30_000
DRAIN_BOUND_SECONDS = 20.0  # the daemon's default drain grace


def _details(err: grpc.RpcError) -> tuple[str, float | None]:
    """(reason, retry delay in seconds) from a trackd error's status details."""
    reason, delay = "", None
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    reason = info.reason
                elif detail.Unpack(retry):
                    delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return reason, delay


def _rows(path: str) -> int:
    try:
        return Api().run(path).history_rows
    except RunNotFoundError:
        return 0


class Hammer(threading.Thread):
    """Creates runs back to back on the old daemon's socket and records how each call ended."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.stop = threading.Event()
        self.outcomes: list[tuple[str, str, float | None]] = []  # code, reason, retry delay

    def run(self) -> None:
        channel = grpc.insecure_channel(self.address)
        stub = make_stub(channel, run_service_pb2, "RunService")
        n = 0
        while not self.stop.is_set():
            n += 1
            ref = run_pb2.RunRef(entity="hammer", project="drain", run_id=f"h{n}")
            try:
                stub.CreateRun(run_service_pb2.CreateRunRequest(ref=ref), timeout=5)
                self.outcomes.append(("OK", "", None))
            except grpc.RpcError as err:
                self.outcomes.append((err.code().name, *_details(err)))
                if err.code() == grpc.StatusCode.UNAVAILABLE and not _details(err)[0]:
                    time.sleep(0.01)  # the socket is gone: nobody to hammer until stop
        channel.close()


def test_sigterm_with_runs_in_flight(own_daemon, tmp_path):
    env = os.environ.copy()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"drain{k}", str(ROWS)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(3)]
    hammer = Hammer(f"unix:{own_daemon.dirs.socket}")
    try:
        for w in writers:
            assert read_line(w).strip() == "STARTED"
        wait_for(lambda: _rows(f"{Api().default_entity}/drain/drain0") > 0)
        hammer.start()
        wait_for(lambda: len(hammer.outcomes) > 5)
        began = time.monotonic()
        code = own_daemon.stop(timeout=DRAIN_BOUND_SECONDS + 10)
        took = time.monotonic() - began
        hammer.stop.set()
        hammer.join(10)
        assert code == 0
        assert took < DRAIN_BOUND_SECONDS, f"the drain took {took:.1f}s"

        refused = [o for o in hammer.outcomes if o[1] == "SHUTTING_DOWN"]
        assert refused, f"no call was refused while draining: {set(hammer.outcomes)}"
        assert all(code == "UNAVAILABLE" and delay and delay > 0 for code, _, delay in refused)

        for w in writers:  # they reconnect to a daemon one of them starts, and finish
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0 and "DONE" in out, err
        api = Api()
        for k in range(3):
            run = api.run(f"{api.default_entity}/drain/drain{k}")
            assert run.state == "finished" and run.history_rows == ROWS
            assert [r["i"] for r in run.scan_history()] == list(range(ROWS))
    finally:
        hammer.stop.set()
        clean_up_after_writers(own_daemon, writers)
