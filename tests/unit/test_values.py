"""The value codec (trackd._shared.values): normalisation of logged data and Value trees."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import math
import struct
import types
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest

from trackd._shared.values import (
    ARRAY_HISTOGRAM_THRESHOLD,
    HISTOGRAM_BINS,
    INT64_MAX,
    INT64_MIN,
    MalformedValueError,
    fill_map,
    fill_value,
    map_to_python,
    normalize,
    normalize_row,
    to_python,
    values_equal,
)
from trackd.v1 import value_pb2

NAN = float("nan")
INF = float("inf")


def _same(a: Any, b: Any) -> bool:
    """Exact equality: same types, floats bit for bit (NaN, -0.0), dict keys and list order."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a):
            return math.isnan(b)
        return struct.pack("<d", a) == struct.pack("<d", b)
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _round_trip(data: dict[str, Any]) -> tuple[dict[str, Any], value_pb2.MapValue]:
    mv = value_pb2.MapValue()
    fill_map(mv, data)
    wire = value_pb2.MapValue.FromString(mv.SerializeToString())
    return map_to_python(wire), wire


class Color(enum.Enum):
    RED = 1
    BLUE = "blue"


class Level(enum.IntEnum):
    HIGH = 3


# -- normalize_row -----------------------------------------------------------------------------


def test_normalize_row_keeps_plain_values_and_returns_a_copy() -> None:
    data = {"f": 1.5, "i": 3, "s": "x", "b": True, "n": None, "l": [1, [2]], "d": {"k": [3]}}
    out = normalize_row(data)
    assert _same(out, data)
    assert out is not data
    data["l"][1].append(99)  # later mutation of the caller's objects changes nothing
    data["d"]["k"].append(4)
    data["new"] = 1
    assert out == {"f": 1.5, "i": 3, "s": "x", "b": True, "n": None, "l": [1, [2]], "d": {"k": [3]}}


@pytest.mark.parametrize("key", [1, 2.5, None, ("a",), b"bytes"])
def test_normalize_row_rejects_non_str_keys_naming_the_key(key: Any) -> None:
    with pytest.raises(TypeError) as err:
        normalize_row({"ok": 1, key: 2})
    assert repr(key) in str(err.value)


def test_nested_non_str_key_is_a_type_error_naming_key_and_path() -> None:
    with pytest.raises(TypeError) as err:
        normalize_row({"outer": {"inner": {7: 1}}})
    msg = str(err.value)
    assert "7" in msg and "outer.inner" in msg


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30, -(10**30)])
def test_integers_beyond_int64_are_value_errors(value: int) -> None:
    with pytest.raises(ValueError, match="64 bits"):
        normalize_row({"x": value})
    with pytest.raises(ValueError, match=r"x\.y\[1\]"):
        normalize_row({"x": {"y": [0, value]}})
    with pytest.raises(ValueError):
        normalize(value)


def test_int64_extremes_are_accepted() -> None:
    out = normalize_row({"max": INT64_MAX, "min": INT64_MIN, "l": [INT64_MAX, INT64_MIN]})
    assert out == {"max": 2**63 - 1, "min": -(2**63), "l": [2**63 - 1, -(2**63)]}


def test_bool_stays_bool_and_int_subclasses_become_int() -> None:
    class MyInt(int):
        pass

    class MyFloat(float):
        pass

    out = normalize_row({"t": True, "f": False, "mi": MyInt(5), "mf": MyFloat(0.5)})
    assert _same(out, {"t": True, "f": False, "mi": 5, "mf": 0.5})
    assert normalize(True) is True


def test_numpy_scalars() -> None:
    out = normalize_row({
        "i64": np.int64(-5), "u8": np.uint8(200), "i32": np.int32(7), "f32": np.float32(0.5),
        "f64": np.float64(2.25), "b": np.bool_(True), "s": np.str_("text"),
        "nan": np.float64("nan"),
    })
    assert _same(out, {"i64": -5, "u8": 200, "i32": 7, "f32": 0.5, "f64": 2.25, "b": True,
                       "s": "text", "nan": NAN})
    assert normalize(np.float32(0.1)) == float(np.float32(0.1))
    assert normalize(np.int64(INT64_MIN)) == INT64_MIN
    with pytest.raises(ValueError):
        normalize(np.uint64(2**64 - 1))


def test_small_numpy_arrays_become_lists() -> None:
    assert _same(normalize(np.arange(3)), [0, 1, 2])
    assert _same(normalize(np.array([[1.0, 2.0], [3.0, 4.0]])), [[1.0, 2.0], [3.0, 4.0]])
    assert _same(normalize(np.array([True, False])), [True, False])
    assert _same(normalize(np.array(4.5)), 4.5)  # 0-d
    exact = normalize(np.arange(ARRAY_HISTOGRAM_THRESHOLD, dtype=np.float32))
    assert type(exact) is list and len(exact) == 32
    assert all(type(v) is float for v in exact)
    # Many non-numeric elements are a list too.
    assert normalize(np.array(["a"] * 40)) == ["a"] * 40


def test_numpy_arrays_over_32_elements_become_a_32_bin_histogram() -> None:
    assert ARRAY_HISTOGRAM_THRESHOLD == 32 and HISTOGRAM_BINS == 32
    arr = np.arange(100, dtype=np.int64).reshape(10, 10)
    h = normalize_row({"h": arr})["h"]
    assert h["_type"] == "histogram"
    assert len(h["values"]) == 32 and len(h["bins"]) == 33
    assert sum(h["values"]) == 100
    assert h["bins"][0] == 0.0 and h["bins"][-1] == 99.0
    assert all(type(v) is int for v in h["values"])
    assert all(type(b) is float for b in h["bins"])
    assert h["bins"] == sorted(h["bins"])
    # Non-finite elements are left out of the counts.
    with_nan = np.concatenate([np.linspace(0.0, 1.0, 40), [np.nan, np.inf, -np.inf]])
    h2 = normalize(with_nan)
    assert h2["_type"] == "histogram" and sum(h2["values"]) == 40
    assert h2["bins"][0] == 0.0 and h2["bins"][-1] == 1.0
    # The result is plain data: it round-trips through the codec.
    out, _ = _round_trip({"h": h})
    assert _same(out, {"h": h})


def test_tuples_sets_and_mappings_become_lists_and_dicts() -> None:
    out = normalize_row({
        "t": (1, 2.0, ("x", None)),
        "s": {3},
        "fs": frozenset({4}),
        "m": types.MappingProxyType({"a": (1,)}),
    })
    assert _same(out, {"t": [1, 2.0, ["x", None]], "s": [3], "fs": [4], "m": {"a": [1]}})
    assert sorted(normalize({1, 2, 3})) == [1, 2, 3]


def test_enums_become_their_values() -> None:
    out = normalize_row({"c": Color.RED, "b": Color.BLUE, "lvl": Level.HIGH, "l": [Color.RED]})
    assert _same(out, {"c": 1, "b": "blue", "lvl": 3, "l": [1]})


def test_datetimes_become_iso_strings() -> None:
    when = dt.datetime(2024, 2, 29, 13, 5, 7, 123456)
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    out = normalize_row({"dt": when, "aware": aware, "d": dt.date(2024, 3, 1),
                         "t": dt.time(1, 2, 3)})
    assert out == {"dt": "2024-02-29T13:05:07.123456", "aware": "2024-01-01T00:00:00+00:00",
                   "d": "2024-03-01", "t": "01:02:03"}


def test_paths_become_strings() -> None:
    out = normalize_row({"p": Path("/a/b.txt"), "pp": PurePosixPath("rel/c")})
    assert out == {"p": "/a/b.txt", "pp": "rel/c"}


def test_decimal_and_fraction_become_floats() -> None:
    out = normalize_row({"d": decimal.Decimal("1.25"), "f": fractions.Fraction(1, 4)})
    assert _same(out, {"d": 1.25, "f": 0.25})


@pytest.mark.parametrize("value", [object(), lambda: 1, complex(1, 2), Ellipsis])
def test_unknown_objects_are_type_errors(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot be logged"):
        normalize_row({"x": value})
    with pytest.raises(TypeError, match=r"x\.y\[0\]"):
        normalize_row({"x": {"y": [value]}})


def test_custom_class_is_a_type_error_naming_its_type() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError) as err:
        normalize(Opaque(), "where")
    assert "Opaque" in str(err.value) and "where" in str(err.value)


# -- Value trees -------------------------------------------------------------------------------


ROUND_TRIP = {
    "nan": NAN,
    "inf": INF,
    "-inf": -INF,
    "neg_zero": -0.0,
    "zero": 0.0,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "int_max": INT64_MAX,
    "int_min": INT64_MIN,
    "int_zero": 0,
    "one_int": 1,
    "one_float": 1.0,
    "true": True,
    "false": False,
    "none": None,
    "empty_str": "",
    "text": "héllo ✓ 日本語 🎉",
    "ключ": "unicode key",
    "emoji 🎉 key": 2,
    "": "empty key",
    "dotted.key": 3,
    "empty_dict": {},
    "empty_list": [],
    "nested": {
        "list": [1, 1.0, True, None, "x", [], {}, [NAN, -0.0, INF], [[[]]]],
        "deep": {"a": {"b": {"c": INT64_MIN, "d": -0.0}}},
        "dicts": [{"x": 1.5}, {"y": False}, {}],
    },
}


def test_map_round_trip_is_exact() -> None:
    out, wire = _round_trip(ROUND_TRIP)
    assert _same(out, ROUND_TRIP)
    assert math.copysign(1.0, out["neg_zero"]) == -1.0
    assert math.copysign(1.0, out["nested"]["deep"]["a"]["b"]["d"]) == -1.0
    assert type(out["true"]) is bool and type(out["one_int"]) is int
    assert type(out["one_float"]) is float
    # Decoding follows the keys as they are on the wire.
    assert list(out) == list(wire.keys)
    assert values_equal(out, ROUND_TRIP)


@pytest.mark.parametrize(
    "data",
    [
        {"z": 1.0, "a": 2.0, "m": NAN, "b": -0.0},  # only floats
        {"z": 1, "a": "x", "m": None, "b": [1.0], "c": {"q": 2.0}},  # no float at the top
    ],
)
def test_key_order_is_kept_within_a_map_of_one_kind(data: dict[str, Any]) -> None:
    out, _ = _round_trip(data)
    assert list(out) == list(data)
    assert _same(out, data)


def test_nested_key_order_is_kept() -> None:
    data = {"outer": {"z": 1, "a": 2, "m": 3}, "l": [{"y": "a", "b": "c"}]}
    out, _ = _round_trip(data)
    assert list(out["outer"]) == ["z", "a", "m"]
    assert list(out["l"][0]) == ["y", "b"]


def test_many_float_keys_round_trip() -> None:
    data = {f"m{i}": i / 7 for i in range(500)}
    data.update({f"i{i}": i for i in range(50)})
    out, _ = _round_trip(data)
    assert _same(dict(sorted(out.items())), dict(sorted(data.items())))


def test_empty_map_round_trip() -> None:
    out, wire = _round_trip({})
    assert out == {}
    assert len(wire.keys) == 0


@pytest.mark.parametrize(
    "value",
    [NAN, -0.0, INF, INT64_MAX, INT64_MIN, True, False, 0, None, "", "ü", [], {}, [1, [2.5]],
     {"a": {"b": [None]}}],
)
def test_single_value_round_trip(value: Any) -> None:
    msg = value_pb2.Value()
    fill_value(msg, value)
    assert msg.WhichOneof("kind") is not None
    back = to_python(value_pb2.Value.FromString(msg.SerializeToString()))
    assert _same(back, value)


def test_fill_value_normalizes_what_is_not_plain() -> None:
    msg = value_pb2.Value()
    fill_value(msg, (1, 2))
    assert to_python(msg) == [1, 2]


def test_value_with_no_kind_is_malformed() -> None:
    assert issubclass(MalformedValueError, ValueError)
    with pytest.raises(MalformedValueError):
        to_python(value_pb2.Value())
    bad_map = value_pb2.MapValue(keys=["a"], values=[value_pb2.Value()])
    with pytest.raises(MalformedValueError):
        map_to_python(bad_map)
    in_list = value_pb2.Value(list_value=value_pb2.ListValue(values=[value_pb2.Value()]))
    with pytest.raises(MalformedValueError):
        to_python(in_list)
    nested = value_pb2.MapValue(keys=["outer"], values=[value_pb2.Value(map_value=bad_map)])
    with pytest.raises(MalformedValueError):
        map_to_python(nested)


@pytest.mark.parametrize(
    ("keys", "n_values"),
    [(["a", "b"], 1), (["a"], 0), ([], 1), (["a", "b", "c"], 2)],
)
def test_keys_and_values_count_mismatch_is_malformed(keys: list[str], n_values: int) -> None:
    values = [value_pb2.Value(int_value=i) for i in range(n_values)]
    mv = value_pb2.MapValue(keys=keys, values=values)
    with pytest.raises(MalformedValueError):
        map_to_python(mv)
    in_list = value_pb2.ListValue(values=[value_pb2.Value(map_value=mv)])
    wrapped = value_pb2.Value(list_value=in_list)
    with pytest.raises(MalformedValueError):
        to_python(wrapped)


def test_packed_doubles_count_mismatch_is_malformed() -> None:
    too_many = value_pb2.MapValue(keys=["a"], doubles=[1.0, 2.0])
    with pytest.raises(MalformedValueError):
        map_to_python(too_many)
    too_few = value_pb2.MapValue(keys=["a", "b"], doubles=[1.0])
    with pytest.raises(MalformedValueError):
        map_to_python(too_few)


def test_floats_in_values_decode_like_packed_ones() -> None:
    # A writer may put floats in either part of a MapValue; readers treat both the same.
    mv = value_pb2.MapValue(keys=["p", "v", "i"], doubles=[1.5],
                            values=[value_pb2.Value(double_value=-0.0),
                                    value_pb2.Value(int_value=2)])
    out = map_to_python(mv)
    assert _same(out, {"p": 1.5, "v": -0.0, "i": 2})


# -- values_equal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (NAN, NAN, True),
        (1.0, 1.0, True),
        (1, 1.0, False),
        (True, 1, False),
        (False, 0, False),
        (0, 0.0, False),
        (INF, INF, True),
        (INF, -INF, False),
        (None, None, True),
        ("a", "a", True),
        ("a", "b", False),
        ([1, NAN], [1, NAN], True),
        ([1], [1, 1], False),
        ([1], (1,), False),
        ({"a": NAN, "b": [1]}, {"b": [1], "a": NAN}, True),
        ({"a": 1}, {"a": 1.0}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": {"b": [NAN]}}, {"a": {"b": [NAN]}}, True),
        ({}, [], False),
    ],
)
def test_values_equal(a: Any, b: Any, equal: bool) -> None:
    assert values_equal(a, b) is equal
    assert values_equal(b, a) is equal
