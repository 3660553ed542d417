"""The packed encoding of a row (``HistoryRecord.packed_data``, one MessagePack map): exact
round trips, the same rows as the Value-tree encoding, and malformed input refused with the
record named — never a value outside ``value.proto``'s mapping let through."""

from __future__ import annotations

import datetime as dt
import functools
import random
import struct
from typing import Any

import msgpack
import numpy as np
import pytest

from tests.unit.test_values import ROUND_TRIP, _round_trip, _same
from trackd._shared import row_packing
from trackd._shared.record_spans import expand
from trackd._shared.row_packing import pack_row
from trackd._shared.values import (
    MAX_ROW_BYTES,
    MalformedValueError,
    normalize_row,
    pack_map,
    unpack_map,
    unpack_maps,
)
from trackd.v1 import record_pb2
from trackd_daemon.errors import InvalidRecordError
from trackd_daemon.records import History, Rows, decode_record, each_seq, parse_batch
from trackd_daemon.store.row_codec import pack_plain, unpack_plain


def test_round_trip_is_exact_and_equals_the_value_tree_encoding() -> None:
    out = unpack_map(pack_map(ROUND_TRIP))
    assert _same(out, ROUND_TRIP)
    tree, _ = _round_trip(ROUND_TRIP)
    assert _same(dict(sorted(out.items())), dict(sorted(tree.items())))


def test_what_is_not_plain_is_normalised_while_packing() -> None:
    row = {"np": np.float32(0.5), "i": np.int64(3), "t": (1, 2), "d": dt.date(2026, 12, 6)}
    assert unpack_map(pack_map(row)) == normalize_row(row)


def _record(data: bytes, seq: int = 7) -> record_pb2.Record:
    rec = record_pb2.Record(seq=seq)
    rec.history.packed_data = data
    rec.history.timestamp = 1.0
    return rec


def test_a_packed_record_decodes_like_a_value_tree_record() -> None:
    decoded = decode_record(_record(pack_map({"loss": 0.25, "n": 3})))
    assert isinstance(decoded, History)
    assert decoded.data == {"loss": 0.25, "n": 3} and type(decoded.data["n"]) is int


def _ext_timestamp() -> bytes:
    return msgpack.packb({"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, datetime=True)


MALFORMED = {
    "not a map": msgpack.packb([1.0, 2.0]),
    "a scalar": msgpack.packb(1.0),
    "bin": msgpack.packb({"b": b"bytes"}, use_bin_type=True),
    "empty bin": msgpack.packb({"b": b""}, use_bin_type=True),
    "ext": _ext_timestamp(),
    "uint64 beyond int64": msgpack.packb({"big": 2**63}),
    "nested uint64": msgpack.packb({"n": {"l": [1, 2**64 - 1]}}),
    "int key": msgpack.packb({1: 1.0}, strict_types=False),
    "nested int key": msgpack.packb({"n": {2: "x"}}),
    "invalid UTF-8": b"\x81\xa1k\xa2\xff\xfe",  # {"k": <2 bytes that are not UTF-8>}
    "truncated": msgpack.packb({"loss": 0.5})[:-3],
    "trailing bytes": msgpack.packb({"loss": 0.5}) + b"\x00",
    "nil": msgpack.packb(None),
}


@pytest.mark.parametrize("blob", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_packed_data_is_refused(blob: bytes) -> None:
    with pytest.raises(MalformedValueError):
        unpack_map(blob)
    with pytest.raises(InvalidRecordError, match="record 7"):
        decode_record(_record(blob))


def test_int64_extremes_and_float32_are_accepted() -> None:
    blob = msgpack.packb({"min": -(2**63), "max": 2**63 - 1}) + b""
    assert unpack_map(blob) == {"min": -(2**63), "max": 2**63 - 1}
    f32 = b"\x81\xa1f" + b"\xca" + struct.pack(">f", 0.5)  # {"f": float 32 0.5}
    assert unpack_map(f32) == {"f": 0.5}


def test_longer_encodings_than_the_shortest_are_accepted_and_trailing_bytes_are_not() -> None:
    """Other encoders' longer forms pass; bytes after the map do not, also where the row in
    its shortest form would be as long as what came."""
    long_forms = (b"\xde\x00\x02"  # map 16 holding 2 pairs
                  b"\xd9\x01n" b"\xd3" + struct.pack(">q", 5)  # str 8 "n": int 64 5
                  + b"\xa1f" b"\xca" + struct.pack(">f", 0.5))  # "f": float 32 0.5
    assert unpack_map(long_forms) == {"n": 5, "f": 0.5}
    f32 = b"\x81\xa1f\xca" + struct.pack(">f", 0.5)  # 4 bytes shorter than its float 64 form
    for trailing in (b"\x00" * 4, b"\xc0" * 4, b"\x00"):
        with pytest.raises(MalformedValueError):
            unpack_map(f32 + trailing)


@pytest.mark.parametrize("value", [
    {"deep": [[[[{"x": [1.0]}]]]] * 2, "s": "ü" * 40, "big": 2**63 - 1, "t": True, "n": None},
    {"sub": type("F", (float,), {})(1.5)},  # a float subclass: msgpack packs it
    {"nested": functools.reduce(lambda acc, _: [acc], range(300), [])},  # deeper than ormsgpack
], ids=["plain", "subclass", "deep"])
def test_pack_plain_gives_msgpacks_bytes_and_unpack_plain_reads_them(value: Any) -> None:
    blob = pack_plain(value)
    assert blob == msgpack.packb(value, use_bin_type=True)
    assert msgpack.unpackb(blob) == unpack_plain(blob)
    assert unpack_plain(msgpack.packb({b"k": 1}, use_bin_type=True)) == {b"k": 1}


def test_a_record_with_both_encodings_is_refused() -> None:
    rec = _record(pack_map({"a": 1.0}))
    rec.history.data.keys.append("b")
    rec.history.data.doubles.append(2.0)
    with pytest.raises(InvalidRecordError, match="both data and packed_data"):
        decode_record(rec)


def test_the_row_limits_hold_for_packed_rows() -> None:
    with pytest.raises(InvalidRecordError, match="keys may not be empty"):
        decode_record(_record(msgpack.packb({"": 1.0})))
    with pytest.raises(InvalidRecordError, match="characters long"):
        decode_record(_record(msgpack.packb({"k" * 300: 1.0})))


PLAIN_ROWS = [
    {"loss": 0.25, "acc": 1.0, "nan": float("nan"), "neg_zero": -0.0},
    {"epoch": 3, "max": 2**63 - 1, "min": -(2**63), "ok": True, "none": None, "name": "ü ✓"},
    {f"k{i}": float(i) for i in range(1000)},
]


@pytest.mark.parametrize("row", PLAIN_ROWS, ids=["floats", "scalars", "wide"])
def test_pack_row_gives_what_normalising_then_packing_gives(row: dict[str, Any]) -> None:
    assert pack_row(row) == pack_map(normalize_row(row))
    assert pack_row(row) == pack_map(normalize_row(row))  # its key set checked already


def test_pack_row_gives_what_normalising_then_packing_gives_for_any_plain_row() -> None:
    rnd = random.Random(7)
    kinds = [lambda: rnd.uniform(-1e300, 1e300), lambda: rnd.randint(-2**63, 2**63 - 1),
             lambda: rnd.randint(-40, 70_000), lambda: "x" * rnd.choice([0, 31, 32, 255, 70_000]),
             lambda: "é✓" * rnd.randint(0, 40), lambda: rnd.choice([True, False, None]),
             lambda: float("nan")]
    for _ in range(3000):
        row = {f"k{j}" + "y" * rnd.choice([0, 30, 200]): rnd.choice(kinds)()
               for j in range(rnd.randint(1, 30))}
        assert pack_row(row) == pack_map(normalize_row(row)), row


class _Str(str):
    pass


NOT_FAST = {
    "numpy": {"x": np.float32(1.0)},
    "nested": {"x": {"a": 1.0}},
    "list": {"x": [1.0]},
    "tuple": {"x": (1.0,)},
    "bytes": {"x": b"raw"},
    "beyond int64": {"x": 2**63},
    "below int64": {"x": -(2**63) - 1},
    "int key": {1: 1.0},
    "str subclass key": {_Str("k"): 1.0},
    "empty key": {"": 1.0},
    "long key": {"k" * 257: 1.0},
    "non-ASCII key": {"clé": 1.0},
    "surrogate": {"x": "\udc80"},
    "empty": {},
    "not a dict": type("M", (dict,), {})(a=1.0),
}


@pytest.mark.parametrize("row", NOT_FAST.values(), ids=NOT_FAST.keys())
def test_pack_row_leaves_every_other_row_to_normalize_row(
        row: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # What pack_row learnt of the rows of earlier tests is forgotten: a non-ASCII key of the
    # same length in bytes as a learnt float layout's key is that layout's (see the test of
    # other keys of the same lengths below), and packs to the bytes normalize_row's path gives.
    _forget_what_pack_row_learnt(monkeypatch)
    assert pack_row(row) is None


def _forget_what_pack_row_learnt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_packing, "_FLOAT_LAYOUTS", {})
    monkeypatch.setattr(row_packing, "_SIGNATURES", {})
    monkeypatch.setattr(row_packing, "_last_layout", (-1, tuple, ()))


# Rows of the same packed length as {"x": 1.0} (nine bytes a value) but another structure: after
# the float layout of {"x": ...} is learnt, each goes the way its values say.
SAME_LENGTH = {
    "a list of eight fixints": ({"x": [1, 2, 3, 4, 5, 6, 7, 8]}, None),
    "eight bytes of text": ({"x": "abcdefgh"}, "plain"),
    "an int64": ({"x": -(2**40)}, "plain"),
    "a uint 64 beyond int64": ({"x": 2**64 - 1}, None),
    "a float32 and padding": ({"x": np.float32(1.0)}, None),
    "another key": ({"y": 2.0}, "plain"),
}


@pytest.mark.parametrize("row, kind", SAME_LENGTH.values(), ids=SAME_LENGTH.keys())
def test_a_learnt_float_layout_takes_only_rows_of_floats_under_its_keys(
        row: dict[str, Any], kind: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_what_pack_row_learnt(monkeypatch)
    assert pack_row({"x": 0.5}) == pack_map({"x": 0.5})
    assert list(row_packing._FLOAT_LAYOUTS) == [len(pack_map({"x": 0.5}))]
    if kind is None:
        assert pack_row(row) is None
    else:
        assert pack_row(row) == pack_map(normalize_row(row))
    assert pack_row({"x": float("nan")}) == pack_map({"x": float("nan")})


def test_a_float_layout_takes_rows_of_other_keys_of_the_same_lengths_and_no_others(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_what_pack_row_learnt(monkeypatch)
    learnt = {"ab": 0.5, "c" * 40: 1.5, "d" * 256: 2.5}  # a fixstr, a str 8 and a str 16 key
    assert pack_row(learnt) == pack_map(learnt)
    assert len(row_packing._SIGNATURES) == 1
    # keys of the same lengths in bytes: their layout's, with no signature of their own
    for row in ({"xy": 1.0, "e" * 40: 2.0, "f" * 256: 3.0},
                {"é": 1.0, "e" * 40: 2.0, "f" * 254 + "é": 3.0}):  # non-ASCII: fewer characters
        assert pack_row(row) == pack_map(normalize_row(row))
    assert len(row_packing._SIGNATURES) == 1
    # rows as long whose keys have other lengths are not the layout's, nor keys that break a
    # limit (normalize_row names them)
    other = {"abc": 1.0, "c" * 39: 1.5, "d" * 256: 2.5}
    empty = {"": 1.0, "c" * 42: 1.5, "d" * 256: 2.5}
    too_long = {"ab": 1.0, "c" * 39: 1.5, "d" * 257: 2.5}
    assert {len(pack_map(row)) for row in (other, empty, too_long)} == {len(pack_map(learnt))}
    assert pack_row(other) == pack_map(other)
    assert len(row_packing._SIGNATURES) == 2  # its own, learnt
    for row in (empty, too_long):
        assert pack_row(row) is None
        with pytest.raises(ValueError):
            normalize_row(row)
    assert pack_row({"ab": 1.0, "c" * 40: 1, "d" * 256: 2.5}) == pack_map(
        {"ab": 1.0, "d" * 256: 2.5, "c" * 40: 1})  # an int: floats first, as pack_map puts them


def test_rows_of_floats_go_through_their_layout_and_give_the_same_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_what_pack_row_learnt(monkeypatch)
    rnd = random.Random(3)
    shapes = [[f"k{j}" + "y" * rnd.choice([0, 30, 200]) for j in range(n)]
              for n in (1, 10, 15, 16, 300, 2000)]
    for keys in shapes:
        for _ in range(20):
            row = {k: rnd.choice([rnd.uniform(-1e9, 1e9), float("inf"), -0.0]) for k in keys}
            assert pack_row(row) == pack_map(normalize_row(row))
    # every shape learnt its layout (the one past 64 KiB excepted), and its rows used it
    learnt = {len(pack_map(dict.fromkeys(keys, 0.0))) for keys in shapes}
    assert set(row_packing._FLOAT_LAYOUTS) == {n for n in learnt if n <= 64 * 1024}
    monkeypatch.setattr(row_packing, "_SIGNATURES", {})  # no signature to fall back on
    for keys in shapes[:-1]:
        row = dict.fromkeys(keys, 1.5)
        assert pack_row(row) == pack_map(row)
    assert row_packing._SIGNATURES == {}


def test_the_float_layouts_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_what_pack_row_learnt(monkeypatch)
    monkeypatch.setattr(row_packing, "_layout_bytes", 0)
    monkeypatch.setattr(row_packing, "_LAYOUT_BYTES_MAX", 10_000)
    for n in range(1, 200):
        row = {f"key{j}": float(j) for j in range(n % 40 + 1)} | {f"s{n}": 1.0}
        assert pack_row(row) == pack_map(row)
        assert row_packing._layout_bytes <= 10_000
        assert all(len(v) <= 4 for v in row_packing._FLOAT_LAYOUTS.values())


def _rows(seq: int, rows: list[dict[str, Any]]) -> record_pb2.Record:
    rec = record_pb2.Record(seq=seq)
    rec.history_rows.packed_data.extend(pack_map(r) for r in rows)
    rec.history_rows.timestamps.extend(float(i) for i in range(len(rows)))
    return rec


def _entry(*recs: record_pb2.Record) -> bytes:
    return record_pb2.WalEntry(records=recs).SerializeToString()


def test_a_rows_record_stands_for_one_record_a_row() -> None:
    metric = record_pb2.Record(seq=4)
    metric.metric.definition.name = "loss"
    batch = parse_batch(_entry(_rows(1, [{"a": 1.0}, {"a": 2.0}, {"b": "x"}]), metric,
                               _rows(5, [{"a": 3.0}])))
    # the second {"a": ...} record stays packed (its key set was checked in the first): one
    # record for its rows
    assert [type(r) for r in batch.records][-1] is Rows
    records = each_seq(batch.records)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert [r.data for r in records if isinstance(r, History)] == [
        {"a": 1.0}, {"a": 2.0}, {"b": "x"}, {"a": 3.0}]
    assert [r.timestamp for r in records if isinstance(r, History)] == [0.0, 1.0, 2.0, 0.0]
    # expanded for readers that go record by record (trackd sync): the same rows
    one_by_one = [r for rec in (_rows(1, [{"a": 1.0}, {"a": 2.0}]),) for r in expand(rec)]
    assert [(r.seq, unpack_map(r.history.packed_data)) for r in one_by_one] == [
        (1, {"a": 1.0}), (2, {"a": 2.0})]


def test_the_record_after_a_rows_record_follows_its_last_row() -> None:
    with pytest.raises(InvalidRecordError, match="consecutive seqs; 4 follows 2"):
        parse_batch(_entry(_rows(1, [{"a": 1.0}, {"a": 2.0}]), _rows(4, [{"a": 3.0}])))
    after = record_pb2.Record(seq=2)
    after.exit.exit_code = 0
    with pytest.raises(InvalidRecordError, match="consecutive seqs; 2 follows 2"):
        parse_batch(_entry(_rows(1, [{"a": 1.0}, {"a": 2.0}]), after))


def test_a_malformed_rows_record_is_refused_naming_the_row() -> None:
    empty = record_pb2.Record(seq=1)
    empty.history_rows.SetInParent()
    with pytest.raises(InvalidRecordError, match="1 to 10000 rows"):
        parse_batch(_entry(empty))
    short = _rows(1, [{"a": 1.0}, {"a": 2.0}])
    del short.history_rows.timestamps[-1]
    with pytest.raises(InvalidRecordError, match="one timestamp each"):
        parse_batch(_entry(short))
    bad = _rows(7, [{"a": 1.0}, {"a": 2.0}])
    bad.history_rows.packed_data[1] = msgpack.packb({"big": 2**64 - 1})
    with pytest.raises(InvalidRecordError, match="record 8"):
        parse_batch(_entry(bad))
    with pytest.raises(InvalidRecordError, match="record 9.*keys may not be empty"):
        parse_batch(_entry(_rows(8, [{"a": 1.0}, {"": 2.0}])))


@pytest.mark.parametrize("blob", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_row_among_good_ones_is_named_by_the_bulk_decoder(blob: bytes) -> None:
    good = msgpack.packb({"a": 1.0})
    rows = _rows(10, [{"a": 1.0}] * 3)
    rows.history_rows.packed_data[1] = blob
    assert unpack_maps([good, blob, good]) is None
    with pytest.raises(InvalidRecordError, match="record 11"):
        parse_batch(_entry(rows))


def test_rows_whose_bytes_shift_between_them_are_refused() -> None:
    """Two maps in one row and none in the next decode, concatenated, as two good rows:
    each row must end where its own bytes end."""
    a, b = msgpack.packb({"a": 1.0}), msgpack.packb({"b": 2.0})
    assert unpack_maps([a + b, b""]) is None
    assert unpack_maps([a[:3], a[3:]]) is None
    shifted = _rows(1, [{"a": 1.0}, {"b": 2.0}])
    shifted.history_rows.packed_data[0] = a + b
    shifted.history_rows.packed_data[1] = b""
    with pytest.raises(InvalidRecordError, match="record 1"):
        parse_batch(_entry(shifted))


def test_the_bulk_decoder_gives_what_decoding_each_row_gives() -> None:
    rows = [{"loss": 0.5, "i": 3, "s": "ü", "n": None, "t": True},
            {"nested": {"x": [1, 2.5, {"y": "z"}]}, "big": 2**63 - 1, "min": -(2**63)},
            {}, {"loss": float("inf")}]
    blobs = [msgpack.packb(r, use_bin_type=True) for r in rows]
    assert unpack_maps(blobs) == [unpack_map(b) for b in blobs] == rows
    assert unpack_maps([]) == []


def test_the_first_row_with_bad_keys_is_named_whatever_key_sets_come_before() -> None:
    rows = [{"a": 1.0}, {"b": 1.0}, {"c": 1.0, "": 1.0}, {"a": 2.0}, {"": 1.0}]
    with pytest.raises(InvalidRecordError, match="record 23"):
        parse_batch(_entry(_rows(21, rows)))


def test_what_a_learnt_row_signature_does_not_show_is_still_refused() -> None:
    """pack_row remembers each row signature (keys, value types) it checked: a row of the
    same signature must still be refused for what the signature does not show."""
    assert pack_row({"k": 1.0}) is not None
    assert pack_row({_Str("k"): 1.0}) is None  # equal to "k", but a str subclass
    assert pack_row({"n": 5}) is not None
    assert pack_row({"n": 2**63}) is None and pack_row({"n": -(2**63) - 1}) is None
    assert pack_row({"n": 2**64}) is None
    assert pack_row({"s": "ok"}) is not None
    assert pack_row({"s": "\udc80"}) is None
    assert pack_row({"big": "x" * 10}) is not None
    assert pack_row({"big": "x" * (MAX_ROW_BYTES + 1)}) is None
    # A uint 64's marker byte inside a float does not refuse a row with an int.
    cf = struct.unpack(">d", b"\x3f\xf0\xcf\xcf\x00\x00\x00\x00")[0]
    assert pack_row({"f": cf, "n": 1}) == pack_map(normalize_row({"f": cf, "n": 1}))


@pytest.mark.parametrize("row", [
    {"epoch": 3, "loss": 0.5, "name": "a", "acc": 1.0},  # floats after others: reordered
    {"loss": 0.5, "acc": 1.0, "epoch": 3, "x": None},  # floats first already
])
def test_a_learnt_signature_packs_its_next_rows_as_normalising_would(row: dict[str, Any]) -> None:
    for i in range(3):
        row = {k: (v + i if type(v) in (int, float) else v) for k, v in row.items()}
        assert pack_row(row) == pack_map(normalize_row(row))
