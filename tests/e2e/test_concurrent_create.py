"""CreateRun calls arriving together: the daemon handles creates of different runs
concurrently, and keeps the calls for one run key in order (idempotent retries, one winner)."""

from __future__ import annotations

import grpc

from tests.e2e.raw import raw_stub
from trackd import Api
from trackd._transport.connection import make_stub
from trackd.v1 import run_pb2, run_service_pb2


def test_concurrent_creates_are_all_stored_and_same_key_calls_stay_ordered(clean_sdk):
    channel, _ = raw_stub(clean_sdk)
    runs = make_stub(channel, run_service_pb2, "RunService")

    def create(run_id: str, request_id: str) -> grpc.Future:
        return runs.CreateRun.future(run_service_pb2.CreateRunRequest(
            ref=run_pb2.RunRef(entity="cc", project="burst", run_id=run_id),
            request_id=request_id, start_time=1.0))

    calls = [create(f"r{i}", f"q{i}") for i in range(40)]
    retries = [create("same", "one-request") for _ in range(6)]  # a client retrying
    rivals = [create("contested", f"client-{i}") for i in range(6)]  # six clients, one id
    for call in calls:
        assert call.result(timeout=60).run.state == run_pb2.RUN_STATE_RUNNING
    assert len({c.result().run.ref.run_id for c in calls}) == 40
    assert len({c.result(timeout=60).run.name for c in retries}) == 1  # one run, six answers
    won, lost = [], []
    for call in rivals:
        try:
            won.append(call.result(timeout=60))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.ALREADY_EXISTS
            lost.append(exc)
    assert len(won) == 1 and len(lost) == 5
    channel.close()
    stored = Api().runs("cc/burst")
    assert sorted(r.id for r in stored) == sorted([f"r{i}" for i in range(40)] + ["same", "contested"])
    assert all(r.state == "running" for r in stored)
