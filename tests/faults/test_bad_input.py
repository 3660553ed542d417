"""Bad input gets a precise, typed error naming what was wrong, and loses nothing accepted.

The SDK checks the cheap limits before sending (ValueError/TypeError/UsageError); the daemon
checks everything again (INVALID_ARGUMENT with the field), for clients that are not the SDK.
"""

from __future__ import annotations

import grpc
import pytest

import trackd
from tests.e2e.raw import create_run, raw_stub
from tests.helpers import wait_for
from trackd import Api
from trackd._shared.values import MAX_KEY_LENGTH, MAX_KEYS, MAX_ROW_BYTES, fill_map
from trackd.errors import UsageError
from trackd.v1 import record_pb2, record_service_pb2, run_pb2


def test_sdk_rejects_rows_over_the_limits_and_keeps_the_rest(clean_sdk):
    run = trackd.init(project="limits")
    run.log({"ok": 1})
    with pytest.raises(ValueError, match=f"at most {MAX_KEYS} keys"):
        run.log({f"k{i}": 1.0 for i in range(MAX_KEYS + 1)})
    with pytest.raises(ValueError, match="limit is 256"):
        run.log({"x" * (MAX_KEY_LENGTH + 1): 1})
    with pytest.raises(ValueError, match="keys may not be empty"):
        run.log({"": 1})
    with pytest.raises(ValueError, match="nested.*empty"):
        run.log({"nested": {"": 1}})
    with pytest.raises(ValueError, match="16 MiB"):
        run.log({"blob": "x" * (MAX_ROW_BYTES + 1)})
    with pytest.raises(ValueError, match="16 MiB"):
        run.log({"many": ["y" * 1024] * (MAX_ROW_BYTES // 1024 + 10)})
    with pytest.raises(ValueError, match="not valid Unicode"):
        run.log({"path": "file\udcff.txt"})  # what undecodable file names turn into
    with pytest.raises(ValueError, match="not valid Unicode"):
        run.log({"key\udcff": 1})
    run.config["odd"] = "x\udcff"  # config is lenient: kept, escaped
    assert run.config["odd"] == "x\\udcff"
    with pytest.raises(UsageError, match="Invalid project name"):
        trackd.init(project="a/b", reinit="create_new")
    with pytest.raises(UsageError):
        trackd.init(project="x", id="../etc", reinit="create_new")
    run.log({"ok": 2})
    run.finish()
    assert [r["ok"] for r in Api().run(run.path).scan_history()] == [1, 2]


def _batch(ref: dict[str, str] | None, seq: int, data: dict) -> bytes:
    req = record_service_pb2.StreamRecordsRequest()
    if ref:
        req.run.CopyFrom(run_pb2.RunRef(**ref))
    rec = req.records.add(seq=seq)
    rec.history.data.SetInParent()
    fill_map(rec.history.data, data)
    return req.SerializeToString()


def _record(ref: dict[str, str], seq: int, **kind: object) -> bytes:
    req = record_service_pb2.StreamRecordsRequest(run=run_pb2.RunRef(**ref))
    req.records.add(seq=seq, **kind)
    return req.SerializeToString()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda ref: _batch(ref, 2, {f"k{i}": 1.0 for i in range(MAX_KEYS + 1)}), "keys; the limit"),
        (lambda ref: _batch(ref, 2, {"x" * 300: 1}), "limit is 256"),
        (lambda ref: _batch(ref, 2, {"": 1}), "may not be empty"),
        (lambda ref: _batch(ref, 2, {"blob": "x" * (MAX_ROW_BYTES + (2 << 20))}), "MiB"),
        (lambda ref: _record(ref, 2, alert=record_pb2.AlertRecord(title="t", level=99)),
         "unknown alert level"),
        (lambda ref: _record(ref, 2, metric=record_pb2.MetricRecord(
            definition=run_pb2.MetricDefinition(name="m", goal=7))), "unknown goal"),
        (lambda ref: _record(ref, 2, metric=record_pb2.MetricRecord(
            definition=run_pb2.MetricDefinition(name="m", summary=["loudest"]))), "summary op"),
        (lambda ref: _record(ref, 2, alert=record_pb2.AlertRecord(title="")), "needs a title"),
        (lambda ref: _batch(ref, 1, {"dup": 1}), None),  # a resend: dropped, not an error
        (lambda ref: _batch(ref, 5, {"gap": 1}), "expected seq 2"),
    ],
)
def test_daemon_rejects_bad_records_with_invalid_argument(clean_sdk, make, message):
    ref = {"entity": "raw", "project": "bad-input", "run_id": f"bad{abs(hash(str(message))) % 10**6}"}
    channel, stub = raw_stub(clean_sdk)
    try:
        create_run(channel, ref)
        acks = [r.acked_seq for r in stub(iter([_batch(ref, 1, {"first": 1})]))]
        assert acks[-1] == 1
        if message is None:
            assert [r.acked_seq for r in stub(iter([make(ref)]))][-1] == 1
        else:
            with pytest.raises(grpc.RpcError) as exc:
                list(stub(iter([make(ref)])))
            assert exc.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ABORTED)
            assert message in exc.value.details()
        # What was accepted before is kept, and the run still takes good records.
        assert [r.acked_seq for r in stub(iter([_batch(ref, 2, {"after": 2})]))][-1] == 2
    finally:
        channel.close()
    path = f"{ref['entity']}/{ref['project']}/{ref['run_id']}"
    wait_for(lambda: Api().run(path).history_rows == 2)
    rows = list(Api().run(path).scan_history())
    assert [r.get("first", r.get("after")) for r in rows] == [1, 2]


def test_invalid_names_are_invalid_argument(clean_sdk):
    channel, _ = raw_stub(clean_sdk)
    try:
        for ref in ({"entity": "e", "project": "p/q", "run_id": "r"},
                    {"entity": "e", "project": "p", "run_id": "../x"},
                    {"entity": "", "project": "p", "run_id": "r"},
                    {"entity": "e", "project": "p", "run_id": "r" * 200}):
            with pytest.raises(grpc.RpcError) as exc:
                create_run(channel, ref)
            assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()


def test_retryable_errors_carry_a_retry_hint():
    from google.rpc import error_details_pb2, status_pb2

    from trackd_daemon.errors import ResourceExhaustedError, ShuttingDownError
    from trackd_daemon.rpc.errors import _trailer

    for err, seconds in ((ShuttingDownError("draining"), 1),
                         (ResourceExhaustedError("disk full", path="/x"), 2)):
        (_key, value), = _trailer(err)
        status = status_pb2.Status.FromString(value)
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status.details) and retry.retry_delay.seconds == seconds
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.reason == err.reason
