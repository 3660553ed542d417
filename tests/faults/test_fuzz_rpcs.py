"""Property-based fuzzing (hypothesis) of every RPC's requests against a real daemon: no request,
however malformed, may be answered INTERNAL (or UNKNOWN: an error outside the handlers), and
the daemon stays up and serves others.

Requests are generated field by field from the message descriptors (every field set or not,
any value its type allows: NaN and infinities, integer extremes, unknown enum values, long and
odd strings, nested messages to a bounded depth), and one in four is sent as its encoding
mutated (bytes flipped, cut, inserted): the daemon must refuse those as INVALID_ARGUMENT.
Strings are drawn from names that exist in the daemon (a live and a finished run, an artifact,
a file) as often as from random text, so that requests reach the handlers' work, not only
their lookups. Streaming calls get one to three messages.

``DaemonService.Shutdown`` is left out: any well-formed request stops the daemon (its only
field is a bool). Nothing names a network address, a device or a directory: the daemon would
wait on the network or read without end (``/dev/zero``), which no check could tell from a hang.

Each RPC runs ``TRACKD_FUZZ_EXAMPLES`` examples (default 30: a few seconds each); for a
longer run, e.g. ``TRACKD_FUZZ_EXAMPLES=2000 pytest tests/faults/test_fuzz_rpcs.py``. The
example database is off; a failure prints the request that caused it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackd
from tests.helpers import DaemonDirs, DaemonProcess
from trackd._shared.values import fill_map
from trackd._transport.connection import make_stub
from trackd.v1 import (
    daemon_service_pb2,
    record_pb2,
    record_service_pb2,
    run_pb2,
    run_service_pb2,
)
from trackd_daemon.rpc.server import SERVICES

EXAMPLES = int(os.environ.get("TRACKD_FUZZ_EXAMPLES", "30"))
#: Nested messages deeper than this are left empty (Value trees nest without end).
MAX_DEPTH = 4
#: Per call: handlers that wait (FinishRun for records that never come, WatchArtifact for a
#: version that is never committed) end at the deadline, which is no failure.
CALL_TIMEOUT = 3.0
SKIPPED = {"trackd.v1.DaemonService.Shutdown"}
FAILURES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}

ENTITY, PROJECT = "fz", "p"
LIVE, DONE = "live", "done"


# -- the daemon --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, list[str]]]:
    """A daemon of its own with a live run (rows, config, a console line), a finished run with
    an artifact, and a small file; the SDK pointed at it. Yields the daemon and names that only
    exist now (the file's path and URL, the artifact's id and digest)."""
    dirs = DaemonDirs.make()
    data = tmp_path_factory.mktemp("fuzz") / "data.txt"
    data.write_text("some bytes\n")
    daemon = DaemonProcess(dirs)
    daemon.start()
    with pytest.MonkeyPatch.context() as mp:
        trackd.teardown()
        for k, v in dirs.env.items():
            mp.setenv(k, v)
        done = trackd.init(entity=ENTITY, project=PROJECT, id=DONE, config={"lr": 0.1})
        done.log({"loss": 1.0})
        art = trackd.Artifact("data", type="dataset")
        art.add_file(str(data))
        logged = done.log_artifact(art)
        logged.wait()
        done.finish()
        channel = grpc.insecure_channel(f"unix:{dirs.socket}")
        ref = run_pb2.RunRef(entity=ENTITY, project=PROJECT, run_id=LIVE)
        make_stub(channel, run_service_pb2, "RunService").CreateRun(
            run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0))
        req = record_service_pb2.StreamRecordsRequest(run=ref)
        for seq in (1, 2):
            rec = req.records.add(seq=seq)
            rec.history.data.SetInParent()
            fill_map(rec.history.data, {"loss": 1.0 / seq, "nested": {"a": [1, "x"]}})
        rec = req.records.add(seq=3)
        rec.console.lines.add(stream=1, line=0, timestamp=1.0, text="hello")
        records = channel.stream_stream("/trackd.v1.RecordService/StreamRecords",
                                        request_serializer=None,
                                        response_deserializer=None)
        list(records(iter([req.SerializeToString()])))
        channel.close()
        yield daemon, [str(data), f"file://{data}", logged.id, logged.digest,
                       f"{ENTITY}/{PROJECT}/data:{logged.digest}"]
        trackd.teardown()
    daemon.stop()
    dirs.cleanup()


# -- requests from descriptors ----------------------------------------------------------------

_LONG = "x" * 300
#: Fields that name something: half of the time, a name that exists.
_HINTS = {"entity": [ENTITY], "project": [PROJECT], "run_id": [LIVE, DONE],
          "collection": ["data"], "type": ["dataset"]}
#: True three times in four, and once in four (as lists: hypothesis draws small integers
#: more often than others).
_MOSTLY = st.sampled_from([True, True, True, False])
_RARELY = st.sampled_from([False, False, False, True])
_NEW_IDS = st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=8)


def _strings(extra: list[str]) -> st.SearchStrategy[str]:
    """Names the daemon knows, odd strings, and random text, in about equal parts."""
    known = [ENTITY, PROJECT, LIVE, DONE, "data", "dataset", "data:v0", "data:latest",
             f"{ENTITY}/{PROJECT}/data:v0", f"{ENTITY}/{PROJECT}/data", "data.txt", "output.log",
             "loss", "nested.a", "_step", "system", "default", "latest", "v0", *extra]
    odd = ["", " ", "/", "..", "../x", "a/b", "*", "?", "%", "\x00", "é", "\U0001f600", _LONG,
           "-1", "0", "nan", "a" * 5000, "fz/p", "s3:", "file://", "file:///nonexistent/x"]
    return st.one_of(st.sampled_from(known), st.sampled_from(odd), st.text(max_size=12))


#: Floats that break arithmetic and storage (hypothesis draws them rarely on its own).
_ODD_FLOATS = st.sampled_from([math.nan, math.inf, math.nan, -math.inf, -0.0, 1e308, 5e-324, 2.0**63])

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor, strings: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return strings
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=16)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_DOUBLE:  # odd ones (NaN...) most of the time
        return st.one_of(_ODD_FLOATS, _ODD_FLOATS, st.floats())
    if t == FieldDescriptor.TYPE_FLOAT:
        return st.one_of(_ODD_FLOATS, _ODD_FLOATS, st.floats(width=32))
    if t == FieldDescriptor.TYPE_ENUM:  # proto3 enums are open: unknown numbers arrive too
        known = [v.number for v in field.enum_type.values]
        return st.sampled_from([*known, -1, 99, 2**31 - 1])
    lo, hi = _INT_RANGES[t]
    edges = [v for v in (0, 1, -1, 2, lo, hi, 2**31 - 1, 2**53, -(2**31)) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


@st.composite
def _message(draw: st.DrawFn, desc: Descriptor, strings: st.SearchStrategy[str],
             depth: int = 0, present: st.SearchStrategy[bool] | None = None) -> Any:
    """A message of ``desc``: dense (most fields set) or sparse (few set: requests that get
    past the checks of field combinations), chosen once per request."""
    if present is None:
        present = draw(st.sampled_from([_MOSTLY, _RARELY]))
    msg = message_factory.GetMessageClass(desc)()
    if desc.full_name == "trackd.v1.RunRef" and draw(_MOSTLY):
        # Mostly a valid reference (an existing run, or a new id), to get past the lookup.
        msg.entity, msg.project = ENTITY, PROJECT
        msg.run_id = draw(st.one_of(st.sampled_from([LIVE, DONE]), _NEW_IDS))
        return msg
    # One member of each oneof (or none), as a real client sets them; a proto3 `optional`
    # is a oneof of its own field, named after it.
    chosen = {o.name: draw(st.sampled_from([None, *o.fields])) for o in desc.oneofs
              if o.name != f"_{o.fields[0].name}"}
    for field in desc.fields:
        group = field.containing_oneof
        if group is not None and group.name in chosen:
            if chosen[group.name] is not field:
                continue
        elif not draw(present):
            continue
        target = getattr(msg, field.name)
        sub = field.message_type
        if sub is not None and sub.GetOptions().map_entry:
            key_f, value_f = sub.fields_by_name["key"], sub.fields_by_name["value"]
            for _ in range(draw(st.integers(0, 2))):
                key = draw(_scalar(key_f, strings))
                if value_f.message_type is None:
                    target[key] = draw(_scalar(value_f, strings))
                elif depth < MAX_DEPTH:
                    target[key].CopyFrom(
                        draw(_message(value_f.message_type, strings, depth + 1, present)))
        elif field.is_repeated:
            for _ in range(draw(st.integers(0, 3))):
                if sub is None:
                    target.append(draw(_scalar(field, strings)))
                elif depth < MAX_DEPTH:
                    target.add().CopyFrom(draw(_message(sub, strings, depth + 1, present)))
                else:
                    target.add()
        elif sub is not None:
            if depth < MAX_DEPTH:
                target.CopyFrom(draw(_message(sub, strings, depth + 1, present)))
            else:
                target.SetInParent()
        elif field.name in _HINTS and draw(st.booleans()):
            setattr(msg, field.name, draw(st.sampled_from(_HINTS[field.name])))
        else:
            setattr(msg, field.name, draw(_scalar(field, strings)))
    return msg


@st.composite
def _encoded(draw: st.DrawFn, desc: Descriptor, strings: st.SearchStrategy[str]) -> bytes:
    """A generated request's bytes, mutated half of the time."""
    buf = bytearray(draw(_message(desc, strings)).SerializeToString())
    if not draw(_MOSTLY):
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["flip", "truncate", "insert"]))
            at = draw(st.integers(0, len(buf)))
            if op == "flip" and at < len(buf):
                buf[at] ^= draw(st.integers(1, 255))
            elif op == "truncate":
                del buf[at:]
            else:
                buf[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(buf)


def _methods() -> list[Any]:
    out = []
    for name, module in SERVICES.items():
        service = module.DESCRIPTOR.services_by_name[name.rsplit(".", 1)[1]]
        for m in service.methods:
            if f"{name}.{m.name}" not in SKIPPED:
                out.append(pytest.param(m, id=f"{service.name}.{m.name}"))
    return out


# -- the property -----------------------------------------------------------------------------


def _call(channel: grpc.Channel, method: Any, requests: list[bytes]) -> None:
    """Send ``requests`` (one for a unary-request method) and read every reply."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    kw = {"request_serializer": None, "response_deserializer": None}
    if method.client_streaming and method.server_streaming:
        list(channel.stream_stream(path, **kw)(iter(requests), timeout=CALL_TIMEOUT))
    elif method.client_streaming:
        channel.stream_unary(path, **kw)(iter(requests), timeout=CALL_TIMEOUT)
    elif method.server_streaming:
        list(channel.unary_stream(path, **kw)(requests[0], timeout=CALL_TIMEOUT))
    else:
        channel.unary_unary(path, **kw)(requests[0], timeout=CALL_TIMEOUT)


@pytest.mark.parametrize("method", _methods())
def test_no_request_is_answered_internal(fuzzed, method):
    daemon, names = fuzzed
    strings = _strings(names)
    count = st.integers(1, 3) if method.client_streaming else st.just(1)
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests=count.flatmap(
        lambda n: st.lists(_encoded(method.input_type, strings), min_size=n, max_size=n)))
    def prop(requests: list[bytes]) -> None:
        try:
            _call(channel, method, requests)
        except grpc.RpcError as exc:
            assert exc.code() not in FAILURES, (
                f"{method.full_name} answered {exc.code().name}: {exc.details()}")

    try:
        prop()
    finally:
        channel.close()
    assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon died"


_RECORD = record_pb2.Record.DESCRIPTOR


@st.composite
def _record_batch(draw: st.DrawFn, strings: st.SearchStrategy[str]) -> list[record_pb2.Record]:
    """1 to 3 records of any kinds and values, numbered 1, 2, ... (so the run takes them;
    a batch with one bad record is refused whole, so more would rarely get through)."""
    records = draw(st.lists(_message(_RECORD, strings), min_size=1, max_size=3))
    for seq, rec in enumerate(records, 1):
        rec.seq = seq
    return records


def test_record_streams_of_any_values_never_stop_the_daemon(fuzzed):
    """Records that parse (consecutive seqs, a run that exists), of every kind with any values,
    are stored or refused: never INTERNAL, and the history actor that stores them (and with
    it the daemon) stays up. Each example is a new run, finished after its batch."""
    daemon, names = fuzzed
    strings = _strings(names)
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
    runs = make_stub(channel, run_service_pb2, "RunService")
    stream = channel.stream_stream("/trackd.v1.RecordService/StreamRecords",
                                   request_serializer=None,
                                   response_deserializer=record_service_pb2.StreamRecordsResponse
                                   .FromString)
    ids = iter(range(10**9))

    @settings(max_examples=EXAMPLES * 6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(records=_record_batch(strings), writer=st.sampled_from(["", "", "other"]))
    def prop(records: list[record_pb2.Record], writer: str) -> None:
        ref = run_pb2.RunRef(entity=ENTITY, project="streams", run_id=f"s{next(ids)}")
        runs.CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0,
                                                        shared=bool(writer)))
        req = record_service_pb2.StreamRecordsRequest(run=ref, records=records, writer=writer)
        acked = 0
        try:
            acked = [r.acked_seq for r in stream(iter([req.SerializeToString()]),
                                                 timeout=CALL_TIMEOUT)][-1]
            runs.FinishRun(run_service_pb2.FinishRunRequest(ref=ref, last_seq=acked,
                                                            writer=writer),
                           timeout=CALL_TIMEOUT * 3)
        except grpc.RpcError as exc:
            assert exc.code() not in FAILURES, f"answered {exc.code().name}: {exc.details()}"
            assert exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), (
                f"the daemon went away: {exc.details()}")
            if acked:  # refused at finish, not at intake: the store could not take it
                assert exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED, "ingest stalled"
        assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon died"

    try:
        prop()
    finally:
        channel.close()


def test_the_fuzzed_daemon_still_serves_and_logged_no_internal_error(fuzzed):
    daemon, _names = fuzzed
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
    try:
        info = make_stub(channel, daemon_service_pb2, "DaemonService").GetDaemonInfo(
            daemon_service_pb2.GetDaemonInfoRequest(), timeout=10)
        assert info.pid == daemon.pid
    finally:
        channel.close()
    run = trackd.init(entity="someone", project="after-fuzz", reinit="create_new")
    run.log({"ok": 1})
    run.finish()
    assert [r["ok"] for r in trackd.Api().run(run.path).scan_history()] == [1]
    log = daemon.log_text()
    assert "unexpected error" not in log, log[log.find("unexpected error") - 2000:][:6000]
