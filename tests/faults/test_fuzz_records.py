"""Property-based fuzzing (hypothesis) of the daemon's batch decoder
(``trackd_daemon.records.parse_batch``: arbitrary bytes, mutated encodings, structurally valid
requests with arbitrary seqs, kinds and Value trees) and of the Value codec
(``trackd._shared.values``: Python -> Value -> Python round trips). The write-ahead-log reader
is fuzzed in test_fuzz_wal.py.

Each property runs a modest number of examples with no deadline, so the file stays fast. The
example database is off: nothing is written into the repository, and every run starts fresh
(a failure prints the ``@reproduce_failure`` blob to replay it).
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackd._shared.history import SUMMARY_OPS, MetricDef
from trackd._shared.values import (
    INT64_MAX,
    INT64_MIN,
    fill_map,
    fill_value,
    map_to_python,
    normalize_row,
    to_python,
    values_equal,
)
from trackd.v1 import record_pb2, record_service_pb2, run_pb2, value_pb2
from trackd_daemon.errors import InvalidArgumentError, InvalidRecordError
from trackd_daemon.records import (
    Alert,
    Config,
    Exit,
    History,
    Metric,
    Preempting,
    Resume,
    Rewind,
    RunUpdate,
    Summary,
    each_seq,
    parse_batch,
)

_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@pytest.fixture(scope="module")
def wal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-wal")


# ---------------------------------------------------------------------------------------------
# parse_batch.


def _assert_parses_or_rejects(raw: bytes) -> Any:
    """parse_batch returns, or raises InvalidArgumentError (InvalidRecordError is one)."""
    try:
        return parse_batch(raw)
    except InvalidArgumentError as exc:
        assert type(exc) in (InvalidArgumentError, InvalidRecordError)
        assert str(exc)
        return None


@settings(max_examples=300, **_COMMON)
@given(raw=st.binary(max_size=512))
def test_parse_batch_on_arbitrary_bytes(raw: bytes) -> None:
    _assert_parses_or_rejects(raw)


# Value trees as specs (tuples), built into messages by _build_value: specs print readably in a
# falsifying example. MapValues come both well formed and with keys, values and doubles of any
# counts (keys from a tiny alphabet, so duplicates occur too).
_floats = st.floats(allow_nan=True, allow_infinity=True)
_text = st.text(max_size=8)
_scalar_spec = st.one_of(
    st.just(("unset",)),
    st.tuples(st.just("null"), st.sampled_from([0, 0, 1, 7])),  # NullValue is an open enum
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("int"), st.integers(INT64_MIN, INT64_MAX)),
    st.tuples(st.just("double"), _floats),
    st.tuples(st.just("string"), _text),
)


@st.composite
def _matched_map(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> tuple[Any, ...]:
    values = draw(st.lists(children, max_size=4))
    doubles = draw(st.lists(_floats, max_size=3))
    n = len(values) + len(doubles)
    keys = draw(st.lists(_text, min_size=n, max_size=n, unique=True))
    return ("map", keys, values, doubles)


def _map_spec(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    wild = st.tuples(
        st.just("map"),
        st.lists(st.text(alphabet="ab", max_size=2), max_size=5),
        st.lists(children, max_size=4),
        st.lists(_floats, max_size=3),
    )
    return st.one_of(_matched_map(children), wild)


_value_spec = st.recursive(
    _scalar_spec,
    lambda children: st.one_of(st.tuples(st.just("list"), st.lists(children, max_size=4)),
                               _map_spec(children)),
    max_leaves=12,
)
_top_map_spec = _map_spec(_value_spec)


def _build_value(msg: Any, spec: tuple[Any, ...]) -> None:
    tag = spec[0]
    if tag == "null":
        msg.null_value = spec[1]
    elif tag == "bool":
        msg.bool_value = spec[1]
    elif tag == "int":
        msg.int_value = spec[1]
    elif tag == "double":
        msg.double_value = spec[1]
    elif tag == "string":
        msg.string_value = spec[1]
    elif tag == "list":
        msg.list_value.SetInParent()
        for child in spec[1]:
            _build_value(msg.list_value.values.add(), child)
    elif tag == "map":
        msg.map_value.SetInParent()
        _build_map(msg.map_value, spec)
    # "unset": a Value with no kind


def _build_map(mv: Any, spec: tuple[Any, ...]) -> None:
    _tag, keys, values, doubles = spec
    mv.keys.extend(keys)
    mv.doubles.extend(doubles)
    for child in values:
        _build_value(mv.values.add(), child)


_int64 = st.integers(INT64_MIN, INT64_MAX)
_opt = st.booleans()
_RECORD_KINDS = [None, "history", "summary", "config", "metric", "run_update", "exit", "resume",
                 "rewind", "preempting", "alert"]


@st.composite
def _wild_record(draw: st.DrawFn, seq: int) -> record_pb2.Record:
    """A record of any kind (or none) whose fields take any value their types allow."""
    rec = record_pb2.Record(seq=seq)
    kind = draw(st.sampled_from(_RECORD_KINDS))
    if kind == "history":
        h = rec.history
        h.SetInParent()
        if draw(_opt):
            h.data.SetInParent()
            _build_map(h.data, draw(_top_map_spec))
        if draw(_opt):
            h.step = draw(_int64)
        if draw(_opt):
            h.commit = draw(st.booleans())
        h.timestamp = draw(_floats)
    elif kind == "summary":
        s = rec.summary
        s.SetInParent()
        for path in draw(st.lists(st.lists(_text, max_size=3), max_size=3)):
            item = s.update.add(path=path)
            if draw(_opt):
                _build_value(item.value, draw(_value_spec))
        for path in draw(st.lists(st.lists(_text, max_size=3), max_size=3)):
            s.remove.add(path=path)
    elif kind == "config":
        c = rec.config
        c.SetInParent()
        if draw(_opt):
            c.update.SetInParent()
            _build_map(c.update, draw(_top_map_spec))
        c.remove.extend(draw(st.lists(_text, max_size=3)))
    elif kind == "metric":
        m = rec.metric
        m.SetInParent()
        d = m.definition
        d.name = draw(st.text(alphabet="a*.\\", max_size=4))
        d.step_metric = draw(_text)
        d.step_sync = draw(st.booleans())
        d.hidden = draw(st.booleans())
        ops = st.sampled_from([*SUMMARY_OPS, "MIN", "Best", "bogus", ""])
        d.summary.extend(draw(st.lists(ops, max_size=3)))
        d.goal = draw(st.sampled_from([0, 1, 2, 3, -1, INT32_MAX]))  # an open enum
        m.overwrite = draw(st.booleans())
    elif kind == "run_update":
        u = rec.run_update
        u.SetInParent()
        for name in ("name", "notes", "group", "job_type"):
            if draw(_opt):
                setattr(u, name, draw(_text))
        if draw(_opt):
            u.tags.SetInParent()
            u.tags.tags.extend(draw(st.lists(_text, max_size=3)))
    elif kind == "exit":
        rec.exit.SetInParent()
        rec.exit.exit_code = draw(st.integers(INT32_MIN, INT32_MAX))
    elif kind == "resume":
        rec.resume.SetInParent()
        rec.resume.start_time = draw(_floats)
        if draw(_opt):
            rec.resume.next_step = draw(_int64)
    elif kind == "rewind":
        rec.rewind.SetInParent()
        rec.rewind.step = draw(_int64)
    elif kind == "preempting":
        rec.preempting.SetInParent()
    elif kind == "alert":
        a = rec.alert
        a.SetInParent()
        a.title = draw(_text)
        a.text = draw(_text)
        a.level = draw(st.sampled_from([0, 1, 2, 3, 4, -1, INT32_MAX]))
        a.wait_duration_ms = draw(_int64)
        a.timestamp = draw(_floats)
    return rec


_seq_lists = st.one_of(
    # consecutive, from a start that may be 0, negative, or near the top of int64
    st.tuples(st.one_of(st.integers(-2, 3), _int64), st.integers(0, 4)).map(
        lambda t: [s for s in range(t[0], t[0] + t[1]) if s <= INT64_MAX]
    ),
    # anything
    st.lists(st.one_of(st.integers(-2, 6), _int64), max_size=4),
)


def _seqs_valid(seqs: list[int]) -> bool:
    return not seqs or (seqs[0] >= 1 and all(b == a + 1 for a, b in itertools.pairwise(seqs)))


@st.composite
def _run_and_writer(draw: st.DrawFn) -> tuple[run_pb2.RunRef | None, str]:
    run = None
    if draw(_opt):
        run = run_pb2.RunRef(entity=draw(_text), project=draw(_text), run_id=draw(_text))
    return run, draw(_text)


@st.composite
def _wild_request(draw: st.DrawFn) -> tuple[record_service_pb2.StreamRecordsRequest, list[int]]:
    seqs = draw(_seq_lists)
    run, writer = draw(_run_and_writer())
    req = record_service_pb2.StreamRecordsRequest(writer=writer)
    if run is not None:
        req.run.CopyFrom(run)
    for seq in seqs:
        req.records.append(draw(_wild_record(seq)))
    return req, seqs


@settings(max_examples=300, **_COMMON)
@given(case=_wild_request())
def test_parse_batch_on_structurally_valid_requests(
    case: tuple[record_service_pb2.StreamRecordsRequest, list[int]],
) -> None:
    req, seqs = case
    batch = _assert_parses_or_rejects(req.SerializeToString())
    if batch is None:
        return
    assert _seqs_valid(seqs), f"seqs {seqs} were accepted"
    assert [r.seq for r in each_seq(batch.records)] == seqs
    assert batch.writer == req.writer
    assert batch.ref == (req.run if req.HasField("run") else None)


@settings(max_examples=200, **_COMMON)
@given(case=_wild_request(), data=st.data())
def test_parse_batch_on_mutated_encodings(
    case: tuple[record_service_pb2.StreamRecordsRequest, list[int]], data: st.DataObject
) -> None:
    buf = bytearray(case[0].SerializeToString())
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        op = data.draw(st.sampled_from(["flip", "truncate", "insert"]), label="op")
        at = data.draw(st.integers(0, len(buf)), label="at")
        if op == "flip" and at < len(buf):
            buf[at] ^= data.draw(st.integers(1, 255), label="xor")
        elif op == "truncate":
            del buf[at:]
        else:
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=8), label="garbage")
    _assert_parses_or_rejects(bytes(buf))


@settings(max_examples=100, **_COMMON)
@given(kinds=st.lists(st.sampled_from(["list", "map"]), min_size=1, max_size=130),
       leaf=_scalar_spec, where=st.sampled_from(["history", "summary", "config"]))
def test_parse_batch_on_deeply_nested_values(kinds: list[str], leaf: Any, where: str) -> None:
    """Nesting up to past protobuf's decoding recursion limit (100) is accepted or rejected."""
    spec = leaf
    for k in reversed(kinds):
        spec = ("list", [spec]) if k == "list" else ("map", ["k"], [spec], [])
    rec = record_pb2.Record(seq=1)
    if where == "history":
        rec.history.data.SetInParent()
        _build_map(rec.history.data, ("map", ["x"], [spec], []))
    elif where == "summary":
        _build_value(rec.summary.update.add(path=["x"]).value, spec)
    else:
        rec.config.update.SetInParent()
        _build_map(rec.config.update, ("map", ["x"], [spec], []))
    req = record_service_pb2.StreamRecordsRequest(records=[rec])
    _assert_parses_or_rejects(req.SerializeToString())


# ---------------------------------------------------------------------------------------------
# Well-formed data: JSON-like Python values, and batches that must be accepted as they are.

_json_scalars = st.one_of(st.none(), st.booleans(), _int64, _floats, st.text(max_size=10))


def _json_like(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        _json_scalars,
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(keys, children, max_size=4)),
        max_leaves=20,
    )


_any_json = _json_like(st.text(max_size=8))
_any_map = st.dictionaries(st.text(max_size=8), _any_json, max_size=6)
#: Keys a daemon accepts anywhere: non-empty, short, not reserved ('_' prefix).
_plain_key = st.text(alphabet="abcxyz019.-/ é", min_size=1, max_size=12).filter(
    lambda k: not k.startswith("_")
)
_plain_json = _json_like(_plain_key)
_plain_map = st.dictionaries(_plain_key, _plain_json, max_size=6)


@settings(max_examples=300, **_COMMON)
@given(data=_any_map)
def test_map_round_trip(data: dict[str, Any]) -> None:
    mv = value_pb2.MapValue()
    fill_map(mv, data)
    assert values_equal(map_to_python(mv), data)
    wire = value_pb2.MapValue.FromString(mv.SerializeToString())
    assert values_equal(map_to_python(wire), data)


@settings(max_examples=200, **_COMMON)
@given(value=_any_json)
def test_value_round_trip(value: Any) -> None:
    msg = value_pb2.Value()
    fill_value(msg, value)
    assert values_equal(to_python(value_pb2.Value.FromString(msg.SerializeToString())), value)


@settings(max_examples=200, **_COMMON)
@given(data=_plain_map)
def test_normalize_row_keeps_json_like_rows(data: dict[str, Any]) -> None:
    row = normalize_row(data)
    assert values_equal(row, data)
    mv = value_pb2.MapValue()
    fill_map(mv, row)
    assert values_equal(map_to_python(mv), data)


def _plain(obj: Any) -> Any:
    """Decoded records as plain data (tuples as lists), for values_equal."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"type": type(obj).__name__,
                **{f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


_words = st.text(alphabet="abcxyz 019é", min_size=1, max_size=10)


@st.composite
def _good_record(draw: st.DrawFn, seq: int) -> tuple[record_pb2.Record, Any]:
    """A well-formed record and what decoding it must give."""
    rec = record_pb2.Record(seq=seq)
    kind = draw(st.sampled_from(_RECORD_KINDS[1:]))
    if kind == "history":
        data = draw(_plain_map)
        step = draw(st.none() | st.integers(0, INT64_MAX))
        commit = draw(st.none() | st.booleans())
        ts = draw(st.floats(0, 4e9))
        h = rec.history
        h.data.SetInParent()
        fill_map(h.data, data)
        if step is not None:
            h.step = step
        if commit is not None:
            h.commit = commit
        h.timestamp = ts
        return rec, History(seq, data, step, commit, ts)
    if kind == "summary":
        paths = st.lists(_plain_key, min_size=1, max_size=3)
        updates = draw(st.lists(st.tuples(paths, _plain_json), max_size=3))
        removes = draw(st.lists(paths, max_size=3))
        s = rec.summary
        s.SetInParent()
        for path, value in updates:
            fill_value(s.update.add(path=path).value, value)
        for path in removes:
            s.remove.add(path=path)
        return rec, Summary(seq, [(tuple(p), v) for p, v in updates], [tuple(p) for p in removes])
    if kind == "config":
        update = draw(_plain_map)
        remove = draw(st.lists(_plain_key, max_size=3))
        rec.config.update.SetInParent()
        fill_map(rec.config.update, update)
        rec.config.remove.extend(remove)
        return rec, Config(seq, update, remove)
    if kind == "metric":
        name = draw(_words) + draw(st.sampled_from(["", "*"]))
        ops = draw(st.lists(st.sampled_from(SUMMARY_OPS), max_size=3, unique=True))
        goal = draw(st.sampled_from([0, 1, 2]))
        step_metric, step_sync, hidden, overwrite = (
            draw(st.one_of(st.just(""), _words)), draw(st.booleans()), draw(st.booleans()),
            draw(st.booleans()),
        )
        rec.metric.definition.CopyFrom(run_pb2.MetricDefinition(
            name=name, step_metric=step_metric, step_sync=step_sync, hidden=hidden,
            summary=[op.upper() if draw(st.booleans()) else op for op in ops], goal=goal,
        ))
        rec.metric.overwrite = overwrite
        goal_name = {0: "", 1: "minimize", 2: "maximize"}[goal]
        return rec, Metric(seq, MetricDef(name, step_metric, step_sync, hidden, tuple(ops),
                                          goal_name), overwrite)
    if kind == "run_update":
        fields: dict[str, Any] = {}
        u = rec.run_update
        u.SetInParent()
        for name in ("name", "notes", "group", "job_type"):
            if draw(_opt):
                fields[name] = draw(_words)
                setattr(u, name, fields[name])
        if draw(_opt):
            fields["tags"] = draw(st.lists(_words, max_size=3))
            u.tags.SetInParent()
            u.tags.tags.extend(fields["tags"])
        return rec, RunUpdate(seq, fields)
    if kind == "exit":
        code = draw(st.integers(INT32_MIN, INT32_MAX))
        rec.exit.SetInParent()
        rec.exit.exit_code = code
        return rec, Exit(seq, code)
    if kind == "resume":
        start = draw(st.floats(0, 4e9))
        nxt = draw(st.none() | st.integers(0, INT64_MAX))
        rec.resume.SetInParent()
        rec.resume.start_time = start
        if nxt is not None:
            rec.resume.next_step = nxt
        return rec, Resume(seq, start, nxt)
    if kind == "rewind":
        step = draw(st.integers(0, INT64_MAX))
        rec.rewind.SetInParent()
        rec.rewind.step = step
        return rec, Rewind(seq, step)
    if kind == "preempting":
        rec.preempting.SetInParent()
        return rec, Preempting(seq)
    title, text = draw(_words), draw(st.text(max_size=20))
    level = draw(st.sampled_from([0, 1, 2, 3]))
    wait = draw(st.integers(0, 10**9))
    ts = draw(st.floats(0, 4e9))
    a = rec.alert
    a.title, a.text, a.level, a.wait_duration_ms, a.timestamp = title, text, level, wait, ts
    levels = {0: "INFO", 1: "INFO", 2: "WARN", 3: "ERROR"}
    return rec, Alert(seq, title, text, levels[level], wait, ts)


@st.composite
def _good_request(draw: st.DrawFn) -> tuple[record_service_pb2.StreamRecordsRequest, list[Any]]:
    start = draw(st.one_of(st.integers(1, 5), st.integers(1, INT64_MAX - 8)))
    n = draw(st.integers(0, 5))
    run, writer = draw(_run_and_writer())
    req = record_service_pb2.StreamRecordsRequest(writer=writer)
    if run is not None:
        req.run.CopyFrom(run)
    expected = []
    for seq in range(start, start + n):
        rec, want = draw(_good_record(seq))
        req.records.append(rec)
        expected.append(want)
    return req, expected


@settings(max_examples=200, **_COMMON)
@given(case=_good_request())
def test_parse_batch_accepts_well_formed_batches_as_they_are(
    case: tuple[record_service_pb2.StreamRecordsRequest, list[Any]],
) -> None:
    req, expected = case
    batch = parse_batch(req.SerializeToString())
    assert values_equal(_plain(each_seq(batch.records)), _plain(expected))
    assert batch.writer == req.writer
    assert batch.ref == (req.run if req.HasField("run") else None)
