"""Property-based fuzzing (hypothesis) of the code that reads untrusted or damaged bytes.

* the write-ahead-log reader (``trackd._shared.walfile``): arbitrary files, arbitrary chunk
  sequences, and valid logs with flipped bytes, truncations, inserted and removed garbage;
* the daemon's batch decoder (``trackd_daemon.records.parse_batch``): arbitrary bytes, mutated
  encodings and structurally valid requests with arbitrary seqs, kinds and Value trees;
* the Value codec (``trackd._shared.values``): Python -> Value -> Python round trips.

Each property runs a modest number of examples with no deadline, so the file stays fast. The
example database is off: nothing is written into the repository, and every run starts fresh
(a failure prints the ``@reproduce_failure`` blob to replay it).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from trackd._shared import walfile
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
from trackd._shared.walfile import (
    BLOCK_SIZE,
    CHUNK_HEADER,
    FIRST,
    FULL,
    HEADER_SIZE,
    LAST,
    MAGIC,
    MIDDLE,
    WalFormatError,
    WalWriter,
    read_records,
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
# Write-ahead log: helpers.

_seeds = st.integers(0, 2**32 - 1)
#: Record sizes: small ones, ones of up to about a block, and ones around a block's size (they
#: exercise FIRST/MIDDLE/LAST chunks and the zero padding of a block's last < 7 bytes).
_sizes = st.one_of(
    st.integers(0, 200),
    st.integers(0, 40_000),
    st.integers(BLOCK_SIZE - 64, BLOCK_SIZE + 16),
)
_record_specs = st.lists(st.tuples(_seeds, _sizes), min_size=1, max_size=8)


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _payloads(specs: list[tuple[int, int]]) -> list[bytes]:
    """Distinct payloads: each starts with its index, then ``size`` random bytes."""
    return [i.to_bytes(4, "little") + _random_bytes(seed, size)
            for i, (seed, size) in enumerate(specs)]


def _write(path: Path, payloads: list[bytes], many: bool) -> list[tuple[int, int]]:
    """Write a new log of ``payloads``; return each record's (start, end) offsets (start is where
    the writer stood, so it may precede zero padding that ends a block)."""
    path.unlink(missing_ok=True)
    w = WalWriter(path)
    spans = []
    try:
        if many:
            size = w.size
            for p in payloads:
                end = size + len(walfile.frame(p, size))
                spans.append((size, end))
                size = end
            w.append_many(payloads)
            assert w.size == size
        else:
            for p in payloads:
                start = w.size
                w.append(p)
                spans.append((start, w.size))
    finally:
        w.close()
    assert path.stat().st_size == spans[-1][1]
    return spans


def _block(offset: int) -> int:
    return (offset - HEADER_SIZE) // BLOCK_SIZE


def _first_chunk(start: int) -> int:
    """Where the first chunk of a record appended at ``start`` begins (after any padding)."""
    left = BLOCK_SIZE - (start - HEADER_SIZE) % BLOCK_SIZE
    return start + left if left < CHUNK_HEADER else start


def _assert_subsequence(got: list[bytes], payloads: list[bytes]) -> None:
    """Every record read is one that was written, in the written order, none twice."""
    index = {p: i for i, p in enumerate(payloads)}
    positions = [index.get(r) for r in got]
    assert None not in positions, "a record that was never written was read back"
    assert positions == sorted(set(positions)), f"records out of order or repeated: {positions}"


def _read(path: Path) -> list[bytes]:
    got = list(read_records(path))
    assert all(type(r) is bytes for r in got)
    return got


def _assert_reopen_appends(path: Path, before: list[bytes]) -> None:
    """Reopening cuts the log after its last intact record; a new record then reads back last,
    after exactly the records that were readable before."""
    marker = b"appended after reopening"
    w = WalWriter(path)
    try:
        w.append(marker)
    finally:
        w.close()
    assert _read(path) == [*before, marker]


# ---------------------------------------------------------------------------------------------
# Write-ahead log: arbitrary files.

_not_quite_logs = st.one_of(
    st.binary(max_size=64),
    st.tuples(st.integers(0, HEADER_SIZE), st.binary(max_size=64)).map(
        lambda t: MAGIC[: t[0]] + t[1]
    ),
)


@settings(max_examples=300, **_COMMON)
@given(raw=_not_quite_logs)
def test_wal_reader_on_arbitrary_bytes_raises_only_format_error(wal_dir: Path, raw: bytes) -> None:
    path = wal_dir / "arbitrary.wal"
    path.write_bytes(raw)
    if raw[:HEADER_SIZE] == MAGIC or MAGIC.startswith(raw):
        _read(path)  # a log (or a header cut short): read, never raise
        _assert_reopen_appends(path, _read(path))
    else:
        with pytest.raises(WalFormatError):
            list(read_records(path))
        with pytest.raises(WalFormatError):
            WalWriter(path)
        assert path.read_bytes() == raw  # a file that is not a log is left alone


_bodies = st.one_of(
    st.binary(max_size=2048),
    st.tuples(_seeds, st.integers(0, 3 * BLOCK_SIZE)).map(lambda t: _random_bytes(*t)),
)


@settings(max_examples=200, **_COMMON)
@given(body=_bodies)
def test_wal_reader_on_header_plus_garbage_never_raises(wal_dir: Path, body: bytes) -> None:
    path = wal_dir / "garbage.wal"
    path.write_bytes(MAGIC + body)
    got = _read(path)
    _assert_reopen_appends(path, got)


# Chunk soups: sequences of chunks of any type (unknown ones included), good or bad CRCs, true
# or false lengths, and zero-filled block ends, laid out on the block grid as a writer would.
# The reader's output is predicted exactly from the module doc's rules (see _expected_records).
_PAD = "pad"
_chunk_tuple = st.tuples(
    st.sampled_from([FULL, FIRST, MIDDLE, LAST] * 2 + [FIRST, LAST, 0, 255]),
    st.one_of(
        st.binary(max_size=40),
        st.tuples(_seeds, st.integers(0, 40_000)).map(lambda t: _random_bytes(*t)),
    ),
    st.sampled_from([True] * 5 + [False]),  # CRC intact
    st.sampled_from([0] * 8 + [1, -1, 4096, 0xFFFF]),  # how much the length field lies
)
_chunk = st.one_of(_chunk_tuple, _chunk_tuple, _chunk_tuple, st.just(_PAD))
_BIG = b"\xab" * BLOCK_SIZE  # truncated to fill the rest of its block


@dataclasses.dataclass(frozen=True)
class _Seen:
    """One thing the reader meets: a chunk header, or a zero one (``kind is None``)."""

    block: int
    kind: int | None = None
    piece: bytes = b""
    good: bool = True
    declared_end: int = 0  # where the chunk ends according to its length field


def _lay_out(chunks: list[Any]) -> tuple[bytes, list[_Seen]]:
    """The log bytes of ``chunks``, and the chunk headers in them, in order."""
    buf = bytearray(MAGIC)
    seen: list[_Seen] = []
    for c in chunks:
        left = BLOCK_SIZE - (len(buf) - HEADER_SIZE) % BLOCK_SIZE
        if c == _PAD or left < CHUNK_HEADER:
            if left >= CHUNK_HEADER:  # (a shorter block end is skipped without a look)
                seen.append(_Seen(_block(len(buf))))
            buf += bytes(left)
            if c == _PAD:
                continue
            left = BLOCK_SIZE
        kind, payload, crc_ok, lie = c
        piece = payload[: left - CHUNK_HEADER]
        crc = zlib.crc32(piece, zlib.crc32(bytes([kind])))
        if not crc_ok:
            crc ^= 0x80000000
        length = min(max(len(piece) + lie, 0), 0xFFFF)
        good = crc_ok and length == len(piece) and kind in (FULL, FIRST, MIDDLE, LAST)
        start = len(buf) + CHUNK_HEADER
        seen.append(_Seen(_block(len(buf)), kind, piece, good, start + length))
        buf += struct.pack("<IHB", crc, length, kind) + piece
    return bytes(buf), seen


def _expected_records(seen: list[_Seen], size: int) -> list[bytes]:
    """What the reader must yield: FULL records, and FIRST MIDDLE* LAST runs. A MIDDLE or LAST
    with no FIRST before it is skipped; a run that a FULL, another FIRST, a zero-filled block end
    or a damaged chunk interrupts is dropped; a damaged chunk loses the rest of its block, and
    one that reaches the end of the file is a torn tail, where reading stops."""
    out: list[bytes] = []
    parts: list[bytes] | None = None
    skip_block = -1
    last_block = _block(size - 1)
    for item in seen:
        if item.block == skip_block:
            continue
        if item.kind is None or not item.good:
            if item.kind is not None and item.block == last_block and item.declared_end >= size:
                break
            skip_block = item.block
            parts = None
            continue
        if item.kind == FULL:
            out.append(item.piece)
            parts = None
        elif item.kind == FIRST:
            parts = [item.piece]
        elif item.kind == MIDDLE:
            if parts is not None:
                parts.append(item.piece)
        elif parts is not None:  # LAST
            out.append(b"".join([*parts, item.piece]))
            parts = None
    return out


@settings(max_examples=250, **_COMMON)
@given(chunks=st.lists(_chunk, max_size=25))
# A run of chunks that something cuts is dropped, not joined across the cut:
@example(chunks=[(FIRST, b"a", True, 0), _PAD, (LAST, b"b", True, 0)])  # a zero-filled block end
@example(chunks=[(FIRST, b"a", True, 0), (FULL, b"c", True, 0), (LAST, b"b", True, 0)])
@example(chunks=[(FIRST, b"a", True, 0), (FIRST, b"c", True, 0), (LAST, b"b", True, 0)])
@example(chunks=[(FIRST, _BIG, True, 0), (MIDDLE, _BIG, False, 0), (LAST, b"b", True, 0)])
@example(chunks=[(FIRST, _BIG, True, 0), (LAST, b"b", False, 0), (FIRST, _BIG, True, 0),
                 (LAST, b"d", True, 0)])  # a damaged block in the middle
@example(chunks=[(FIRST, _BIG, True, 0), (MIDDLE, _BIG, True, 0), (LAST, b"b", True, 0)])
def test_wal_reader_on_chunk_soup(wal_dir: Path, chunks: list[Any]) -> None:
    raw, seen = _lay_out(chunks)
    path = wal_dir / "soup.wal"
    path.write_bytes(raw)
    got = _read(path)
    assert got == _expected_records(seen, len(raw))
    _assert_reopen_appends(path, got)


# ---------------------------------------------------------------------------------------------
# Write-ahead log: damaged valid logs.


@settings(max_examples=200, **_COMMON)
@given(specs=_record_specs, many=st.booleans(), data=st.data())
def test_wal_single_flipped_byte_loses_at_most_its_block(
    wal_dir: Path, specs: list[tuple[int, int]], many: bool, data: st.DataObject
) -> None:
    path = wal_dir / "flipped.wal"
    payloads = _payloads(specs)
    spans = _write(path, payloads, many)
    buf = bytearray(path.read_bytes())
    at = data.draw(st.integers(HEADER_SIZE, len(buf) - 1), label="offset")
    buf[at] ^= data.draw(st.integers(1, 255), label="xor")
    path.write_bytes(buf)

    got = _read(path)
    _assert_subsequence(got, payloads)
    k = _block(at)
    damaged = [i for i, (s, e) in enumerate(spans) if _first_chunk(s) <= at < e]
    if not damaged:  # the byte was zero padding at a block's end: nothing is lost
        assert got == payloads
    else:
        (d,) = damaged
        assert payloads[d] not in got, "a record with a flipped byte was read back"
        # Records that end before the damage, and records wholly in later blocks, survive.
        must = [
            p for p, (s, e) in zip(payloads, spans, strict=True)
            if e <= at or _block(_first_chunk(s)) > k
        ]
        missing = [payloads.index(p) for p in must if p not in got]
        assert not missing, f"records {missing} lost to a flip at {at} (block {k})"
    _assert_reopen_appends(path, got)


@settings(max_examples=150, **_COMMON)
@given(specs=_record_specs, data=st.data())
def test_wal_truncation_keeps_exactly_the_whole_records(
    wal_dir: Path, specs: list[tuple[int, int]], data: st.DataObject
) -> None:
    path = wal_dir / "truncated.wal"
    payloads = _payloads(specs)
    spans = _write(path, payloads, many=False)
    cut = data.draw(st.integers(0, spans[-1][1]), label="cut")
    with open(path, "r+b") as f:
        f.truncate(cut)
    got = _read(path)
    assert got == [p for p, (_s, e) in zip(payloads, spans, strict=True) if e <= cut]
    _assert_reopen_appends(path, got)


@settings(max_examples=50, **_COMMON)
@given(at=st.integers(0, HEADER_SIZE - 1), xor=st.integers(1, 255), n=st.integers(0, 3))
def test_wal_damaged_header_is_not_a_log(wal_dir: Path, at: int, xor: int, n: int) -> None:
    path = wal_dir / "header.wal"
    if n:
        _write(path, _payloads([(i, 10) for i in range(n)]), many=False)
    else:
        path.write_bytes(MAGIC)
    buf = bytearray(path.read_bytes())
    buf[at] ^= xor
    path.write_bytes(buf)
    with pytest.raises(WalFormatError):
        list(read_records(path))
    with pytest.raises(WalFormatError):
        WalWriter(path)


_MUTATIONS = ("flip", "truncate", "insert", "delete", "zero")


@settings(max_examples=250, **_COMMON)
@given(specs=_record_specs, many=st.booleans(), data=st.data())
def test_wal_mutations_never_raise_nor_forge_records(
    wal_dir: Path, specs: list[tuple[int, int]], many: bool, data: st.DataObject
) -> None:
    path = wal_dir / "mutated.wal"
    payloads = _payloads(specs)
    _write(path, payloads, many)
    buf = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        if len(buf) <= HEADER_SIZE:
            break
        op = data.draw(st.sampled_from(_MUTATIONS), label="op")
        at = data.draw(st.integers(HEADER_SIZE, len(buf) - 1), label="at")
        if op == "flip":
            buf[at] ^= data.draw(st.integers(1, 255), label="xor")
        elif op == "truncate":
            del buf[at:]
        elif op == "insert":
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=64), label="garbage")
        elif op == "delete":  # a few bytes gone (a whole block gone is not detected: the FIRST
            # and LAST chunks around a lost MIDDLE block would join into a shorter record)
            del buf[at : at + data.draw(st.integers(1, 64), label="length")]
        else:  # zero-filled range (a lost write), up to a whole block
            n = data.draw(st.integers(1, BLOCK_SIZE), label="length")
            buf[at : at + n] = bytes(len(buf[at : at + n]))
    path.write_bytes(buf)

    got = _read(path)
    _assert_subsequence(got, payloads)
    _assert_reopen_appends(path, got)


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
    assert [r.seq for r in batch.records] == seqs
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
    assert values_equal(_plain(batch.records), _plain(expected))
    assert batch.writer == req.writer
    assert batch.ref == (req.run if req.HasField("run") else None)
