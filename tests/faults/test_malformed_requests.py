"""Regressions of what fuzzing every RPC found (``test_fuzz_rpcs.py``): each request below was
answered INTERNAL with a traceback in the daemon's log — or, for a console line or an alert
without a time, stopped the daemon for everyone (the store refused the NaN and the history
actor died with it). Each is INVALID_ARGUMENT naming the field now, and the daemon serves on.
Negative limits, which a store reads as "no limit" (replies of any size), are refused too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.helpers import DaemonDirs, DaemonProcess
from trackd._transport.connection import make_stub
from trackd.errors import from_grpc
from trackd.v1 import (
    artifact_service_pb2,
    file_service_pb2,
    query_service_pb2,
    record_pb2,
    record_service_pb2,
    run_pb2,
    run_service_pb2,
)

INT64_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def daemon() -> Iterator[DaemonProcess]:
    """A daemon of this module's own: before the fixes, some of these requests stopped it."""
    dirs = DaemonDirs.make()
    d = DaemonProcess(dirs)
    d.start()
    yield d
    d.stop()
    dirs.cleanup()


@pytest.fixture
def stubs(daemon: DaemonProcess) -> Iterator[dict[str, Any]]:
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
    yield {
        "runs": make_stub(channel, run_service_pb2, "RunService"),
        "queries": make_stub(channel, query_service_pb2, "QueryService"),
        "files": make_stub(channel, file_service_pb2, "FileService"),
        "artifacts": make_stub(channel, artifact_service_pb2, "ArtifactService"),
        "stream": channel.stream_stream(
            "/trackd.v1.RecordService/StreamRecords", request_serializer=None,
            response_deserializer=record_service_pb2.StreamRecordsResponse.FromString),
    }
    channel.close()


def _ref(run_id: str) -> run_pb2.RunRef:
    return run_pb2.RunRef(entity="e", project="malformed", run_id=run_id)


def _invalid(call: Any, field: str) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        exc.value.code(), exc.value.details())
    assert from_grpc(exc.value).metadata.get("field") == field, exc.value.details()


def _serves(daemon: DaemonProcess, stubs: dict[str, Any], run_id: str) -> None:
    """The daemon is up, takes a run's records, stores them and logged no internal error."""
    ref = _ref(run_id)
    stubs["runs"].CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0))
    req = record_service_pb2.StreamRecordsRequest(run=ref)
    req.records.add(seq=1).alert.CopyFrom(record_pb2.AlertRecord(title="t", timestamp=2.0))
    assert [r.acked_seq for r in stubs["stream"](iter([req.SerializeToString()]))] == [1]
    done = stubs["runs"].FinishRun(run_service_pb2.FinishRunRequest(ref=ref, last_seq=1),
                                   timeout=30)
    assert done.run.state == run_pb2.RUN_STATE_FINISHED
    assert daemon.proc is not None and daemon.proc.poll() is None
    assert "unexpected error" not in daemon.log_text()


@pytest.mark.parametrize(("fields", "field"), [
    ({"start_time": math.nan}, "start_time"),
    ({"start_time": math.inf}, "start_time"),
    ({"stats_sampling_interval": math.nan}, "stats_sampling_interval"),
])
def test_create_run_with_numbers_that_are_no_numbers(daemon, stubs, fields, field):
    req = run_service_pb2.CreateRunRequest(ref=_ref(f"n-{field}-{fields[field]}"), **fields)
    _invalid(lambda: stubs["runs"].CreateRun(req), field)
    _serves(daemon, stubs, f"after-{field}-{fields[field]}")


@pytest.mark.parametrize("kind", ["fork_from", "rewind_to"])
def test_a_fork_or_rewind_at_the_last_possible_step(daemon, stubs, kind):
    """History would go on at step + 1, past the largest step: it overflowed in the store."""
    stubs["runs"].CreateRun(run_service_pb2.CreateRunRequest(ref=_ref("source"), start_time=1.0,
                                                             request_id="source"))
    req = run_service_pb2.CreateRunRequest(ref=_ref("source" if kind == "rewind_to" else "fork"))
    getattr(req, kind).CopyFrom(run_pb2.RunMoment(run_id="source", step=INT64_MAX))
    _invalid(lambda: stubs["runs"].CreateRun(req), f"{kind}.step")
    _serves(daemon, stubs, f"after-{kind}")


def test_finish_run_waiting_nan_seconds(daemon, stubs):
    ref = _ref("finish-nan")
    stubs["runs"].CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0))
    _invalid(lambda: stubs["runs"].FinishRun(run_service_pb2.FinishRunRequest(
        ref=ref, last_seq=3, timeout_seconds=math.nan)), "timeout_seconds")
    _serves(daemon, stubs, "after-finish-nan")


@pytest.mark.parametrize("kind", ["console", "alert"])
@pytest.mark.parametrize("timestamp", [math.nan, math.inf])
def test_records_without_a_time_are_refused_and_the_daemon_serves_on(daemon, stubs, kind,
                                                                    timestamp):
    """A console line or alert at NaN stopped the daemon: the store refused the row, and the
    history actor that stores every run's records died with the transaction."""
    ref = _ref(f"{kind}-{timestamp}")
    stubs["runs"].CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0))
    req = record_service_pb2.StreamRecordsRequest(run=ref)
    rec = req.records.add(seq=1)
    if kind == "console":
        rec.console.lines.add(stream=1, line=0, timestamp=timestamp, text="hello")
        field = "console.lines.timestamp"
    else:
        rec.alert.CopyFrom(record_pb2.AlertRecord(title="t", timestamp=timestamp))
        field = "alert.timestamp"
    _invalid(lambda: list(stubs["stream"](iter([req.SerializeToString()]))), field)
    _serves(daemon, stubs, f"after-{kind}-{timestamp}")


@pytest.mark.parametrize("call", [
    lambda s: list(s["queries"].ScanHistory(query_service_pb2.ScanHistoryRequest(
        ref=_ref("limits"), page_size=-1))),
    lambda s: s["queries"].ListAlerts(query_service_pb2.ListAlertsRequest(limit=-1)),
    lambda s: s["queries"].ListRuns(query_service_pb2.ListRunsRequest(page_size=-1)),
    lambda s: s["files"].ReadConsole(file_service_pb2.ReadConsoleRequest(
        run=_ref("limits"), limit=-1)),
    lambda s: s["artifacts"].ListArtifacts(artifact_service_pb2.ListArtifactsRequest(limit=-1)),
], ids=["ScanHistory", "ListAlerts", "ListRuns", "ReadConsole", "ListArtifacts"])
def test_a_negative_limit_is_no_limit_it_is_refused(daemon, stubs, call):
    """A store takes LIMIT -1 as no limit: one reply of everything, however large."""
    ref = _ref("limits")
    stubs["runs"].CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0,
                                                             request_id="limits"))
    with pytest.raises(grpc.RpcError) as exc:
        call(stubs)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert from_grpc(exc.value).metadata.get("field") in ("limit", "page_size")
