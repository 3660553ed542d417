"""The protocol seen by a client that is not the SDK: errors, health, reflection."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

import trackd
from tests.e2e.raw import create_run, raw_stub, record_batch, unknown_kind_record
from trackd import Api
from trackd._transport.connection import make_stub
from trackd.v1 import query_service_pb2, run_pb2


def _reason(err: grpc.RpcError) -> str:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            info = error_details_pb2.ErrorInfo()
            status.details[0].Unpack(info)
            assert info.domain == "trackd.dev"
            return info.reason
    return ""


def _stream_error(stub, requests) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as exc:
        for _ in stub(iter(requests)):
            pass
    return exc.value


def test_malformed_and_unknown_records_are_invalid_argument(clean_sdk):
    channel, stub = raw_stub(clean_sdk)
    ref = {"entity": "raw", "project": "bad", "run_id": "badrec1"}
    create_run(channel, ref)
    err = _stream_error(stub, [b"\xff\xff\xff garbage"])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and _reason(err) == "INVALID_ARGUMENT"
    err = _stream_error(stub, [unknown_kind_record(ref, 1)])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "no kind" in err.details()
    err = _stream_error(stub, [record_batch(None, 1, 1)])  # first request without the run
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = _stream_error(stub, [record_batch(ref, 3, 2)])  # skips seq 1-2
    assert err.code() == grpc.StatusCode.ABORTED and _reason(err) == "SEQUENCE_GAP"
    err = _stream_error(stub, [record_batch({**ref, "run_id": "nosuch"}, 1, 1)])
    assert err.code() == grpc.StatusCode.NOT_FOUND and _reason(err) == "RUN_NOT_FOUND"
    # Nothing above was kept, and good records still go through on the same run.
    acks = [r.acked_seq for r in stub(iter([record_batch(ref, 1, 3), record_batch(None, 2, 3)]))]
    assert acks[-1] == 4  # the resent seqs 2-3 were dropped as duplicates
    # A malformed unary request is INVALID_ARGUMENT too, not INTERNAL.
    get_run = channel.unary_unary("/trackd.v1.QueryService/GetRun", request_serializer=None)
    with pytest.raises(grpc.RpcError) as exc:
        get_run(b"\x0a\xff\xff")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()
    # The daemon keeps serving other runs.
    with trackd.init(project="after-bad") as run:
        run.log({"ok": 1})
    assert Api().run(run.path).history_rows == 1


def test_invalid_run_reference(clean_sdk):
    channel, _ = raw_stub(clean_sdk)
    stub = make_stub(channel, query_service_pb2, "QueryService")
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetRun(query_service_pb2.GetRunRequest(ref=run_pb2.RunRef(entity="e", project="p", run_id="a/b")))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()


def test_health_and_reflection(clean_sdk):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel, _ = raw_stub(clean_sdk)
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "trackd.v1.RecordService"):
        resp = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    resp = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in resp.list_services_response.service}
    assert {"trackd.v1.RunService", "trackd.v1.RecordService", "trackd.v1.QueryService",
            "trackd.v1.DaemonService", "grpc.health.v1.Health"} <= names
    channel.close()


def test_socket_is_private(clean_sdk):
    assert (clean_sdk.dirs.socket.stat().st_mode & 0o777) == 0o600
