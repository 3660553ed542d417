"""Rows of floats the daemon keeps packed (trackd_daemon/packed_rows.py): what is stored and the
run's state are what decoding them and applying them one by one gives, byte for byte; any
other row goes the general way."""

from __future__ import annotations

import random
import struct
from typing import Any

import msgpack
import pytest

from trackd._shared.history import MetricDef, RunHistory
from trackd._shared.values import pack_map
from trackd.v1 import record_pb2
from trackd_daemon import packed_rows, records
from trackd_daemon.actors.history import _apply_packed, _apply_rows
from trackd_daemon.packed_rows import Layout, layout_of
from trackd_daemon.records import Decoded, Rows, each_seq, parse_batch
from trackd_daemon.session import RunSession
from trackd_daemon.store.models import RunInfo, RunKey
from trackd_daemon.store.row_codec import pack_plain, stored_row


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key set is checked and no layout built before each test (the caches are global)."""
    monkeypatch.setattr(records, "_CHECKED_KEYS", set())
    monkeypatch.setattr(packed_rows, "_LAYOUTS", {})
    monkeypatch.setattr(packed_rows, "_layouts_bytes", 0)


STEPS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**40]


def _keys(n: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    # key lengths across the fixstr / str8 boundary (31 / 32 bytes), and non-ASCII keys
    return [f"k{j}é" + "x" * rnd.choice([0, 5, 28, 29, 40, 300]) for j in range(n)]


def _rows(keys: list[str], n: int, seed: int = 1) -> list[dict[str, float]]:
    rnd = random.Random(seed)
    specials = [float("nan"), float("inf"), -0.0, 1e308]
    return [{k: rnd.choice(specials) if rnd.random() < 0.05 else rnd.uniform(-1e6, 1e6)
             for k in keys} for _ in range(n)]


@pytest.mark.parametrize("width", [1, 12, 13, 16, 100, 1000])
def test_a_stored_row_is_the_packed_row_with_the_added_keys(width: int) -> None:
    keys = _keys(width)
    rows = _rows(keys, 3)
    blobs = [pack_map(r) for r in rows]
    layout = layout_of(blobs, {tuple(keys)})
    assert layout is not None
    for step in STEPS:
        for row, blob in zip(rows, blobs):
            want = pack_plain({**row, "_step": step, "_runtime": 12.5, "_timestamp": 1.7e9 + step})
            assert layout.stored(blob, step, 12.5, 1.7e9 + step) == want
            decoded = layout.row(blob)
            assert list(decoded) == keys
            assert msgpack.packb(decoded, use_bin_type=True) == blob


def _mixed_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Rows of every kind a layout holds, each value anywhere in its kind's range."""
    rnd = random.Random(seed)
    return [{"f": rnd.uniform(-1e9, 1e9), "pos": rnd.randrange(0, 128), "neg": rnd.randrange(-32, 0),
             "u8": rnd.randrange(128, 256), "u16": rnd.randrange(256, 65536),
             "u32": rnd.randrange(65536, 2**32), "flag": rnd.random() < 0.5, "none": None,
             "edge": rnd.choice([0, 127]), "also_f": rnd.random()} for _ in range(n)]


def test_rows_of_ints_booleans_and_nil_stay_packed_and_are_stored_the_same() -> None:
    blobs = [pack_map(r) for r in _mixed_rows(200)]
    rows = [msgpack.unpackb(b, raw=False) for b in blobs]  # floats first, as pack_map puts them
    layout = layout_of(blobs, {tuple(rows[0])})
    assert layout is not None
    for step in STEPS:
        for row, blob in zip(rows[:20], blobs):
            want = pack_plain({**row, "_step": step, "_runtime": 1.5, "_timestamp": 1.7e9})
            assert layout.stored(blob, step, 1.5, 1.7e9) == want
            assert layout.row(blob) == row


def _packed(rows: list[dict[str, Any]]) -> list[bytes]:
    return [pack_map(r) for r in rows]


NOT_KEPT_PACKED: dict[str, list[bytes]] = {
    "an int value": _packed([{"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3}]),
    "a string value": _packed([{"a": 1.0, "b": 2.0}, {"a": 1.0, "b": "x"}]),
    "a nested value": _packed([{"a": 1.0, "b": 2.0}, {"a": 1.0, "b": {"c": 1.0}}]),
    "other keys": _packed([{"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 2.0}]),
    "keys in another order": _packed([{"a": 1.0, "b": 2.0}, {"b": 2.0, "a": 1.0}]),
    "a float32": [pack_map({"a": 1.0, "b": 2.0}),
                  b"\x82\xa1a\xcb" + struct.pack(">d", 1.0) + b"\xa1b\xca" + struct.pack(">f", 2)
                  + b"\x00\x00\x00\x00"],
    "a key as str8": [pack_map({"a": 1.0, "b": 2.0}),
                      b"\x82\xd9\x01a\xcb" + struct.pack(">d", 1.0) + b"\xa1b\xcb"
                      + struct.pack(">d", 2.0)[:7]],
    "a trailing byte": [pack_map({"a": 1.0, "b": 2.0}), pack_map({"a": 1.0, "b": 2.0}) + b"\xc0"],
    "an added key": _packed([{"a": 1.0, "_step": 2.0}]),
    "an added key (timestamp)": _packed([{"a": 1.0, "_timestamp": 2.0}]),
    "not a map": [msgpack.packb([1.0, 2.0])],
    "an int that changes size": _packed([{"a": 1.0, "i": 127}, {"a": 1.0, "i": 128}]),
    "an int that changes sign": _packed([{"a": 1.0, "i": 5}, {"a": 1.0, "i": -5}]),
    "a uint 8 holding a fixint": [pack_map({"i": 200}), b"\x81\xa1i\xcc\x05"],
    "a uint 16 holding a uint 8": [pack_map({"i": 300}), b"\x81\xa1i\xcd\x00\xc8"],
    "a uint 32 holding a uint 16": [pack_map({"i": 70000}), b"\x81\xa1i\xce\x00\x00\x01\x2c"],
    "a fixint's byte that is not one": [pack_map({"i": 5}), b"\x81\xa1i\x85"],
    "a negative fixint's byte that is not one": [pack_map({"i": -5}), b"\x81\xa1i\x05"],
    "a boolean's byte that is not one": [pack_map({"b": True}), b"\x81\xa1b\xc0"],
    "an int beyond 32 bits": _packed([{"i": 2**32}, {"i": 2**32 + 1}]),
    "an int below -32": _packed([{"i": -33}, {"i": -34}]),
    "a string": _packed([{"s": "ab"}, {"s": "cd"}]),
}


def _key_sets(blobs: list[bytes]) -> set[tuple[str, ...]]:
    """The key sets of the rows that decode (as if each had been checked)."""
    out = set()
    for blob in blobs:
        try:
            row = msgpack.unpackb(blob, raw=False)
        except (ValueError, msgpack.ExtraData):
            continue
        if type(row) is dict:
            out.add(tuple(row))
    return out


@pytest.mark.parametrize("blobs", NOT_KEPT_PACKED.values(), ids=NOT_KEPT_PACKED.keys())
def test_other_rows_go_the_general_way(blobs: list[bytes]) -> None:
    assert layout_of(blobs, _key_sets(blobs)) is None


def test_one_row_off_its_layout_anywhere_in_a_long_request_is_found() -> None:
    """The check runs a few kilobytes at a time: a row off the layout is found in the first
    block, at a block's edge, in the middle and in the last rows (fewer than a block)."""
    rows = [{"f": float(i), "u16": 256 + i, "u32": 65536 + i, "flag": i % 2 == 0}
            for i in range(1000)]
    blobs = _packed(rows)
    keys = {tuple(msgpack.unpackb(blobs[0], raw=False))}
    layout = layout_of(blobs, keys)
    assert layout is not None
    per = layout.per_check
    assert per < 1000 // 3
    f_at = blobs[0].index(b"\xcb") + 1  # the float's first byte: any value is a float
    u16_at = blobs[0].index(b"\xcd") + 1  # a uint 16's high byte
    u32_at = blobs[0].index(b"\xce") + 1  # a uint 32's two high bytes
    flag_at = len(blobs[0]) - 1
    for i in (0, per - 1, per, 500, 999):
        for at, byte in ((0, 0x83), (2, ord("g")), (u16_at, 0), (flag_at, 0xC0)):
            bad = list(blobs)
            bad[i] = bad[i][:at] + bytes([byte]) + bad[i][at + 1:]
            assert layout_of(bad, keys) is None, (i, at)
        bad = list(blobs)
        bad[i] = bad[i][:u32_at] + b"\0\0" + bad[i][u32_at + 2:]  # a uint 32 of a uint 16
        assert layout_of(bad, keys) is None, i
        fine = list(blobs)
        fine[i] = fine[i][:f_at] + b"\xff" + fine[i][f_at + 1:]  # another float (a NaN)
        fine[i] = fine[i][:u32_at] + b"\0\x01" + fine[i][u32_at + 2:]  # still a uint 32
        assert layout_of(fine, keys) is layout, i


def test_rows_whose_keys_were_never_checked_go_the_general_way() -> None:
    blobs = _packed([{"a": 1.0}, {"a": 2.0}])
    assert layout_of(blobs, set()) is None
    assert layout_of(blobs, {("a",)}) is not None


def _record(seq: int, rows: list[dict[str, Any]], t0: float) -> record_pb2.Record:
    rec = record_pb2.Record(seq=seq)
    rec.history_rows.packed_data.extend(pack_map(r) for r in rows)
    rec.history_rows.timestamps.extend(t0 + i for i in range(len(rows)))
    return rec


def _decode(*recs: record_pb2.Record) -> list[Decoded]:
    return parse_batch(record_pb2.WalEntry(records=recs).SerializeToString()).records


def test_a_request_of_rows_under_checked_keys_stays_packed() -> None:
    keys = [f"m{j}" for j in range(10)]
    first = _record(1, _rows(keys, 3), 100.0)  # checks the key set
    second = _record(4, _rows(keys, 300, seed=2), 200.0)
    mixed = _record(304, [*_rows(keys, 2), {"m0": 1}], 300.0)
    records = _decode(first, second, mixed)
    assert [type(r).__name__ for r in records] == ["History"] * 3 + ["Rows"] + ["History"] * 3
    assert (records[3].seq, records[3].last) == (4, 303)
    rows = each_seq(records)
    assert [r.seq for r in rows] == list(range(1, 307))
    assert repr([r.data for r in rows[3:303]]) == repr(_rows(keys, 300, seed=2))
    assert [r.timestamp for r in rows[3:303]] == [200.0 + i for i in range(300)]


def _both_ways(setup, batches: list[list[Decoded]]) -> tuple[RunHistory, RunHistory]:
    """The same records applied as they came (some packed) and all decoded to dicts."""
    fast, slow = RunHistory(start_time=150.0), RunHistory(start_time=150.0)
    setup(fast)
    setup(slow)
    for batch in batches:
        for rec in batch:  # as the history actor applies them
            if isinstance(rec, Rows):
                _apply_packed(fast, rec)
            else:
                _apply_rows(fast, [rec])  # type: ignore[list-item]
        slow.on_rows([(r.data, r.timestamp) for r in each_seq(batch)])  # type: ignore[union-attr]
    return fast, slow


def _same_state(fast: RunHistory, slow: RunHistory) -> None:
    fast_rows = [(step, stored_row(row)) for step, row in fast.take_rows()]
    slow_rows = [(step, stored_row(row)) for step, row in slow.take_rows()]
    assert len(fast_rows) == 313 + 1 + 30
    assert fast_rows == slow_rows
    assert list(fast.summary) == list(slow.summary)
    assert repr(fast) == repr(slow)  # every field (repr: NaN values compare equal)


def _no_setup(h: RunHistory) -> None:
    return None


def _partial_row(h: RunHistory) -> None:
    h.on_history({"part": 1.0}, None, False, 140.0)


def _metric(h: RunHistory) -> None:
    h.on_metric(MetricDef(name="m1", summary=("min", "max")), False)


@pytest.mark.parametrize("setup", [_no_setup, _partial_row, _metric],
                         ids=["plain", "after a partial row", "with a metric definition"])
def test_rows_kept_packed_leave_the_state_rows_one_by_one_leave(setup) -> None:
    a, b = [f"m{j}" for j in range(10)], [f"w/{j}" for j in range(40)]
    mixed = _mixed_rows(30, seed=6)
    recs = _decode(_record(1, [*_rows(a, 2), *_rows(b, 2)], 100.0),  # checks both key sets
                   _record(5, _rows(a, 260, seed=3), 120.0),  # before start_time: runtime 0
                   _record(265, _rows(b, 50, seed=4), 400.0),
                   _record(315, _rows(a, 3, seed=5), 500.0),
                   _record(318, [{"m0": 1, "s": "x"}], 600.0),
                   _record(319, mixed[:1], 650.0),  # checks its key set
                   _record(320, mixed[1:], 700.0))
    assert [type(r).__name__ for r in recs] == ["History"] * 4 + ["Rows"] * 3 + [
        "History"] * 2 + ["Rows"]
    assert sum(r.last - r.seq + 1 for r in recs if isinstance(r, Rows)) == 313 + 29
    # the first record's rows (decoded: they checked the key sets) are left out, so that the
    # first rows applied are packed ones (after a partial row, in one case); the second
    # request's rows are applied in two rounds
    rows = recs[4]
    assert isinstance(rows, Rows)
    head = rows._replace(last=rows.seq + 95, blobs=rows.blobs[:96],
                         timestamps=rows.timestamps[:96])
    fast, slow = _both_ways(setup, [[head], [rows.after(rows.seq + 96), *recs[5:]]])
    _same_state(fast, slow)


def test_a_layout_is_built_once_for_a_key_set() -> None:
    keys = [f"q{j}" for j in range(5)]
    blobs = _packed(_rows(keys, 4))
    first = layout_of(blobs, {tuple(keys)})
    assert isinstance(first, Layout)
    assert layout_of(blobs[1:], {tuple(keys)}) is first


def test_the_layouts_kept_are_bounded_by_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = {}
    for width in (10, 40, 2000):
        keys = [f"b{width}/{j}" for j in range(width)]
        sizes[width] = Layout(tuple(keys)).keep_bytes
    monkeypatch.setattr(packed_rows, "LAYOUTS_BYTES", sizes[10] + sizes[40] - 1)
    kept = []
    for width in (10, 40, 2000, 40):
        keys = [f"b{width}/{j}" for j in range(width)]
        blobs = _packed(_rows(keys, 2))
        assert layout_of(blobs, {tuple(keys)}) is not None  # used, kept or not
        kept.append(sorted(len(keys) for keys, _ in packed_rows._LAYOUTS))
    # the 40-key layout does not fit beside the 10-key one: the cache is emptied first; the
    # 2,000-key one is larger than the bound alone: used, never kept
    assert kept == [[10], [40], [40], [40]]
    assert packed_rows._layouts_bytes == sizes[40]


def _session() -> RunSession:
    key = RunKey("e", "p", "r")
    info = RunInfo(1, key, "n", "", [], "", "", "running", 0, 0.0, 0.0, 0.0, {}, {}, [], 0,
                   -1, "h", "", 0.0, "", "", 0)
    return RunSession(key, 1, wal=None, history=RunHistory(), info=info)  # type: ignore[arg-type]


@pytest.mark.parametrize("acked", [0, 2, 3, 4, 5, 150, 302, 303, 304, 305, 306, 307])
def test_a_resend_that_overlaps_a_rows_record_keeps_only_its_new_rows(acked: int) -> None:
    keys = [f"m{j}" for j in range(10)]
    exit_ = record_pb2.Record(seq=307)
    exit_.exit.exit_code = 0
    records = _decode(_record(1, _rows(keys, 3), 100.0),  # seqs 1-3, decoded
                      _record(4, _rows(keys, 300, seed=2), 200.0),  # 4-303, one Rows
                      _record(304, _rows(keys, 3, seed=3), 600.0), exit_)  # 304-306, 307
    assert isinstance(records[3], Rows)
    everything = {r.seq: r for r in each_seq(records)}
    s = _session()
    s.acked_seq = acked
    fresh = s.accept(records)
    got = each_seq(fresh)
    assert [r.seq for r in got] == list(range(acked + 1, 308))
    # the same records as sent, and a Rows cut where the acknowledged seqs end
    assert repr(got) == repr([everything[seq] for seq in range(acked + 1, 308)])
    assert s.exit_seq == (307 if acked < 307 else 0)
