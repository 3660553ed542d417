"""Python values <-> ``trackd.v1.Value`` trees, and normalisation of what users log.

``normalize`` runs in the caller's thread (inside ``log()``): it validates and converts a logged
value into plain JSON-like Python (dict/list/str/int/float/bool/None), so that type errors reach
the caller and later mutation of the caller's objects cannot change what was logged.
``fill_map``/``to_python`` run in the background sender and in the daemon.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import os
from collections.abc import Mapping, Sequence
from itertools import accumulate, chain
from typing import Any

import msgpack

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: numpy arrays with more elements than this are logged as a 32-bin histogram (as W&B does).
ARRAY_HISTOGRAM_THRESHOLD = 32
HISTOGRAM_BINS = 32

_SCALARS = frozenset((float, str, bool, type(None)))

#: Values of other libraries' types that are logged as a data type, by (top-level module, type
#: name): filled by the data types' modules (``pandas.DataFrame`` -> ``trackd.Table``), so that
#: nothing here imports them.
CONVERTERS: dict[tuple[str, str], Any] = {}


#: Limits on one logged row, checked by the SDK (ValueError) and the daemon (INVALID_ARGUMENT).
MAX_KEYS = 10_000  # keys at the top level of a row
MAX_KEY_LENGTH = 256  # characters in one key, nested keys included
MAX_ROW_BYTES = 16 * 1024 * 1024  # about the encoded size of one row


def normalize_row(data: Mapping[str, Any], media: Any = None) -> dict[str, Any]:
    """Return a validated copy of one ``log()`` payload.

    Data types stored as files (``trackd.Image``...) are added to ``media`` (a
    :class:`trackd.media.pipeline.Jobs`) as encoder jobs, each with the empty dict the row
    holds in its place until the job fills it; without ``media`` they cannot be logged
    (TypeError).

    :raises TypeError: a key is not a ``str``, or a value has a type that cannot be logged.
    :raises ValueError: an integer does not fit in 64 bits, or the row breaks a limit
        (``MAX_KEYS``, ``MAX_KEY_LENGTH``, empty keys, ``MAX_ROW_BYTES``).
    """
    out = dict(data)
    if len(out) > MAX_KEYS:
        raise ValueError(f"a logged row may have at most {MAX_KEYS} keys, this one has {len(out)}")
    size = 0
    for key, value in out.items():
        if type(key) is not str:
            raise TypeError(f"Key {key!r} in logged data is not a string (got {type(key).__name__})")
        t = type(value)
        if t in _SCALARS:
            if t is str:
                size += len(value)
                if not value.isascii():
                    check_text(value, key)
            continue
        if t is int and INT64_MIN <= value <= INT64_MAX:
            continue
        value = out[key] = normalize(value, key, media)
        size += approx_size(value)
    if out:
        check_keys(out, "logged data")
    if size > MAX_ROW_BYTES:
        raise ValueError(f"a logged row may be at most {MAX_ROW_BYTES >> 20} MiB; this one is about "
                         f"{size / (1 << 20):.1f} MiB (log large data as files or artifacts)")
    return out


def check_text(text: str, where: str) -> None:
    """:raises ValueError: ``text`` is not valid Unicode (a lone surrogate, as undecodable
    file names produce), so it cannot be sent as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: text is not valid Unicode ({exc.reason} at position "
                         f"{exc.start}); decode it properly or log it with errors='replace'") from None


def check_keys(d: Mapping[str, Any], where: str) -> None:
    """:raises ValueError: an empty key, a key longer than ``MAX_KEY_LENGTH``, or a key that is
    not valid Unicode."""
    if "" in d:
        raise ValueError(f"{where}: keys may not be empty")
    if not all(map(str.isascii, d)):
        for k in d:
            check_text(k, f"{where}: key {k!r}")
    longest = max(map(len, d))
    if longest > MAX_KEY_LENGTH:
        key = next(k for k in d if len(k) == longest)
        raise ValueError(f"{where}: key {key[:40]!r}... is {longest} characters long; the limit "
                         f"is {MAX_KEY_LENGTH}")


def approx_size(value: Any) -> int:
    """About how many bytes ``value`` (normalised) takes on the wire."""
    t = type(value)
    if t is str:
        return len(value)
    if t is dict:
        return sum(len(k) + approx_size(v) for k, v in value.items())
    if t is list:
        return sum(approx_size(v) for v in value)
    return 9


def normalize(value: Any, where: str = "value", media: Any = None) -> Any:
    """Convert one value to plain JSON-like Python; see :func:`normalize_row`."""
    t = type(value)
    if t in _SCALARS:
        if t is str and not value.isascii():
            check_text(value, where)
        return value
    if t is int or isinstance(value, int) and not isinstance(value, (bool, enum.Enum)):
        value = int(value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{where}: integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: nested key {k!r} is not a string (got {type(k).__name__})")
            out[str(k)] = normalize(v, f"{where}.{k}", media)
        if out:
            check_keys(out, where)
        return out
    if isinstance(value, (list, tuple)):
        if value and getattr(type(value[0]), "_trackd_media", False) \
                and all(type(v) is type(value[0]) for v in value):
            return _media_job(list(value), where, media)  # logged together (images/separated)
        return [normalize(v, f"{where}[{i}]", media) for i, v in enumerate(value)]
    if getattr(t, "_trackd_media", False):  # a data type stored as files (trackd.Image...)
        return _media_job(value, where, media)
    to_json = getattr(t, "_trackd_json", None)
    if to_json is not None:  # a data type (trackd.Histogram...): its W&B JSON dict
        return normalize(to_json(value), where)
    module = t.__module__.split(".", 1)[0]
    if module == "numpy":
        return _normalize_numpy(value, where)
    if module == "torch" and hasattr(value, "detach"):
        return _normalize_numpy(value.detach().cpu().numpy(), where)
    convert = CONVERTERS.get((module, t.__name__))
    if convert is not None:
        return normalize(convert(value), where, media)
    if isinstance(value, enum.Enum):
        return normalize(value.value, where)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (set, frozenset)):
        return [normalize(v, f"{where}[]") for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "__float__") and t.__name__ in ("Decimal", "Fraction"):
        return float(value)
    raise TypeError(f"{where}: values of type {t.__module__}.{t.__qualname__} cannot be logged")


def _media_job(value: Any, where: str, media: Any) -> Any:
    """Queue ``value`` (a data type, or a list of one type) with ``media`` (a
    :class:`trackd.media.pipeline.Jobs`); returns the empty slot its JSON will fill."""
    if media is None:
        first = value[0] if isinstance(value, list) else value
        raise TypeError(f"{where}: a {type(first).__name__} can be logged with run.log() or "
                        "put in a run's summary, not stored here")
    return media.add(value, where.split("[", 1)[0])


def _normalize_numpy(value: Any, where: str) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return normalize(value.item(), where)
    arr = np.asarray(value)
    if arr.size > ARRAY_HISTOGRAM_THRESHOLD and arr.dtype.kind in "biuf":
        counts, edges = histogram(arr, HISTOGRAM_BINS)
        return {"_type": "histogram", "values": counts, "bins": edges}
    return normalize(arr.tolist(), where)


def histogram(values: Any, bins: int) -> tuple[list[int], list[float]]:
    """Counts and edges (``bins + 1`` of them, spanning the values' minimum and maximum, as
    ``numpy.histogram``) of the finite numbers in ``values`` (any array-like); NaN and
    infinities are left out rather than making the whole histogram fail."""
    import numpy as np

    flat = np.asarray(values, dtype=np.float64).ravel()
    finite = flat[np.isfinite(flat)]
    counts, edges = np.histogram(finite, bins=bins, range=None if finite.size else (0.0, 1.0))
    return counts.tolist(), edges.tolist()


# ---------------------------------------------------------------------------------------------
# Encoding (Python -> Value). Values must already be normalised.


def fill_map(mv: Any, data: Mapping[str, Any]) -> None:
    """Fill an empty ``MapValue`` message ``mv`` from ``data`` (floats packed first)."""
    fkeys: list[str] = []
    fvals: list[float] = []
    rest: list[tuple[str, Any]] = []
    for k, v in data.items():
        if type(v) is float:
            fkeys.append(k)
            fvals.append(v)
        else:
            rest.append((k, v))
    mv.keys.extend(fkeys)
    mv.doubles.extend(fvals)
    if not rest:
        return
    mv.keys.extend([k for k, _ in rest])
    add = mv.values.add
    for _, v in rest:
        t = type(v)
        if t is int:
            add(int_value=v)
        elif t is str:
            add(string_value=v)
        elif t is bool:
            add(bool_value=v)
        elif v is None:
            add(null_value=0)
        elif t is dict:
            m = add().map_value
            m.SetInParent()
            fill_map(m, v)
        elif t is list:
            lv = add().list_value
            lv.SetInParent()
            fill_list(lv, v)
        else:
            fill_value(add(), v)


def fill_list(lv: Any, items: list[Any]) -> None:
    """Append ``items`` to a ``ListValue`` message."""
    add = lv.values.add
    for v in items:
        fill_value(add(), v)


def fill_value(msg: Any, v: Any) -> None:
    """Set a ``Value`` message from one normalised Python value."""
    t = type(v)
    if t is float:
        msg.double_value = v
    elif t is bool:
        msg.bool_value = v
    elif t is int:
        msg.int_value = v
    elif t is str:
        msg.string_value = v
    elif v is None:
        msg.null_value = 0
    elif t is dict:
        msg.map_value.SetInParent()
        fill_map(msg.map_value, v)
    elif t is list:
        msg.list_value.SetInParent()
        fill_list(msg.list_value, v)
    else:
        fill_value(msg, normalize(v))


# ---------------------------------------------------------------------------------------------
# Decoding (Value -> Python).


class MalformedValueError(ValueError):
    """A Value tree is not well formed (no kind set, or keys and values differ in number)."""


def map_to_python(mv: Any) -> dict[str, Any]:
    """Decode a ``MapValue`` into a dict."""
    keys = list(mv.keys)
    doubles = mv.doubles
    values = mv.values
    d = len(doubles)
    if len(keys) != d + len(values):
        raise MalformedValueError(
            f"map has {len(keys)} keys but {d} packed doubles and {len(values)} values"
        )
    out: dict[str, Any] = dict(zip(keys[:d], doubles)) if d else {}
    for k, v in zip(keys[d:], values):
        kind = v.WhichOneof("kind")
        if kind == "double_value":
            out[k] = v.double_value
        else:
            out[k] = _DECODERS[kind](v) if kind else _missing_kind()
    if len(out) != len(keys):
        raise MalformedValueError("map has duplicate keys")
    return out


def to_python(v: Any) -> Any:
    """Decode one ``Value``."""
    kind = v.WhichOneof("kind")
    if kind is None:
        _missing_kind()
    return _DECODERS[kind](v)


def _missing_kind() -> Any:
    raise MalformedValueError("a Value has no kind set")


_DECODERS = {
    "null_value": lambda v: None,
    "bool_value": lambda v: v.bool_value,
    "int_value": lambda v: v.int_value,
    "double_value": lambda v: v.double_value,
    "string_value": lambda v: v.string_value,
    "list_value": lambda v: [to_python(x) for x in v.list_value.values],
    "map_value": lambda v: map_to_python(v.map_value),
}


# ---------------------------------------------------------------------------------------------
# The packed encoding of a row (HistoryRecord.packed_data): one MessagePack map.

#: Packs a normalised row; anything else is normalised first (``normalize``).
_packer = msgpack.Packer(use_bin_type=True, default=lambda v: normalize(v))
_PLAIN = frozenset((float, str, bool, type(None)))


def pack_map(d: dict[str, Any]) -> bytes:
    """A normalised row as the packed encoding (see ``record.proto``), its maps' float-valued
    keys first (see :func:`floats_first`)."""
    return _packer.pack(floats_first(d))  # type: ignore[no-any-return]


def floats_first(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with its float-valued keys first, each part in its own order, in every nested map
    too: the order the Value-tree encoding gives a map (``MapValue.doubles``, then its
    ``values``). The daemon stores a row's keys in the order it receives them, so both
    encodings store the same bytes. ``d`` itself when nothing moves."""
    floats: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    moved = False
    for k, v in d.items():
        t = type(v)
        if t is float:
            floats[k] = v
            moved = moved or bool(rest)
            continue
        if t is dict:
            w = floats_first(v)
        elif t is list:
            w = _floats_first_in(v)
        else:
            w = v
        moved = moved or w is not v
        rest[k] = w
    if not moved:
        return d
    floats.update(rest)
    return floats


def _floats_first_in(items: list[Any]) -> list[Any]:
    out = [floats_first(v) if type(v) is dict else _floats_first_in(v) if type(v) is list else v
           for v in items]
    return items if all(a is b for a, b in zip(out, items, strict=True)) else out


def unpack_map(blob: bytes) -> dict[str, Any]:
    """Decode and check the packed encoding of a row.

    :raises MalformedValueError: not a MessagePack map, or a key or value outside the
        mapping of ``value.proto`` (bin, ext, an integer beyond int64, invalid UTF-8).
    """
    # msgpack, not ormsgpack (faster by a third here; see trackd_daemon.store.row_codec):
    # msgpack interns map keys, so the rows of a batch in flight in the daemon share theirs (a
    # row of 1,000 keys takes half the memory), and it refuses bytes after the map, which
    # ormsgpack ignores.
    try:
        data = msgpack.unpackb(blob, raw=False, strict_map_key=True, max_bin_len=0,
                               max_ext_len=0)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedValueError(f"packed data is not a well-formed MessagePack map: {exc}"
                                  ) from None
    if type(data) is not dict:
        raise MalformedValueError(f"packed data must be a map, got {type(data).__name__}")
    _check_unpacked(data.values())
    return data


def unpack_maps(blobs: Sequence[bytes]) -> list[dict[str, Any]] | None:
    """:func:`unpack_map` of each of ``blobs`` (the rows of a request), decoded by one
    unpacker over their concatenation: a third less time a row of ten floats than one call a
    row. None when any of them is not a well-formed row (or does not end where its bytes end):
    ``unpack_map`` of each then names the first that is not."""
    joined = b"".join(blobs)
    unpacker = msgpack.Unpacker(None, raw=False, strict_map_key=True, max_bin_len=0,
                                max_ext_len=0, max_buffer_size=max(len(joined), 1))
    unpacker.feed(joined)
    out: list[dict[str, Any]] = []
    ends: list[int] = []
    append, end, tell = out.append, ends.append, unpacker.tell
    try:
        for data in unpacker:
            append(data)
            end(tell())
    except (ValueError, TypeError, msgpack.FormatError, msgpack.StackError):
        return None
    if ends != list(accumulate(map(len, blobs))) or (out and set(map(type, out)) != {dict}):
        return None
    if not set(map(type, chain.from_iterable(map(dict.values, out)))) <= _PLAIN:
        try:  # an int, a nested map or list: look into each
            _check_unpacked(list(chain.from_iterable(map(dict.values, out))))
        except MalformedValueError:
            return None
    return out


def _check_unpacked(values: Any) -> None:
    """:raises MalformedValueError: an integer beyond int64 (MessagePack has uint64), a map
    key that is not text or bytes, anywhere in ``values``."""
    types = set(map(type, values))
    if types <= _PLAIN:  # the common row: all floats, nothing to look into
        return
    for v in values:
        t = type(v)
        if t is int:
            if not INT64_MIN <= v <= INT64_MAX:
                raise MalformedValueError(f"packed data holds {v}, beyond the int64 range")
        elif t is dict:
            if not all(type(k) is str for k in v):
                raise MalformedValueError("packed data has a map key that is not text")
            _check_unpacked(v.values())
        elif t is list:
            _check_unpacked(v)
        elif t not in _PLAIN:  # an empty bin (longer ones are refused while unpacking)
            raise MalformedValueError(f"packed data holds a value of type {t.__name__}")


def values_equal(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN and keeps int/float/bool apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)
