"""``pack_row``: the packed encoding of a ``log()`` row of plain values, in a few C calls.

What ``pack_map(normalize_row(data))`` gives for a flat row of floats, integers in the int64
range, text, booleans and None under valid keys; None for any other row (nested data, NumPy
values, data types, a key or value ``normalize_row`` refuses), which ``normalize_row`` then
converts or refuses with its clear error. Two things it learns make the common row cheap:

* a row of floats only, whose packed bytes match a *float layout* it has seen (the map's
  header, each key's header and each value's float64 marker, at the same places), is that
  layout's row: one packing and one comparison of a few bytes, whatever its keys;
* any other row is looked up by its *signature*, its keys then its values' types, so that the
  key and type checks of the first row of a signature stand for every later one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import ormsgpack

from trackd._shared.values import INT64_MAX, MAX_KEY_LENGTH, MAX_KEYS, MAX_ROW_BYTES

#: Packs rows that hold only plain values, and nothing else (a value of another type raises
#: TypeError: ``pack_row`` then leaves the row to ``normalize_row``): ormsgpack gives msgpack's
#: bytes for them, two to four times faster (ten floats 0.31 against 0.67 µs, 1,000 floats 15
#: against 59 µs, measured), and its import costs ``import trackd`` about 1 ms (it needs
#: little that trackd has not imported already). It refuses what a signature does not show: a
#: key that is a str subclass, a float or int subclass (NumPy's float64 among them), an integer
#: beyond 64 bits, text that is not valid Unicode.
_pack_plain_row = ormsgpack.packb
_FAST = frozenset((float, str, bool, type(None), int))

#: The float layouts learnt, by the length of their packed rows: up to ``_LAYOUTS_PER_LENGTH``
#: (pick, image) pairs each. ``pick(row)`` (a ``struct`` unpacking that skips the rest) gives
#: the bytes at the places that say the row's structure: the map's header, each key's header
#: (its length in bytes) and each value's marker; ``image`` is what they are in a row of the
#: layout. A row that shows the image is a map of as many keys, of the same lengths, each with
#: a float64 (the marker at a value's place says which kind of value it is, and every value
#: before it has the size of a float64). Its keys' text need not be looked at: ormsgpack
#: packed them, so they are str and valid Unicode, and a layout is learnt from ASCII keys of 1
#: to ``MAX_KEY_LENGTH`` characters, so a key of the same length in bytes is as long in
#: characters or shorter. Comparing these few bytes costs less than comparing the whole row:
#: ``pack_row`` of ten floats takes 7,264 CPU instructions against 8,530
#: (``tests/benchmarks/bench_log_instructions.py``). Rows of up to ``_LAYOUT_MAX_BYTES``
#: (4,000 keys or so) only; emptied when its picks hold ``_LAYOUT_BYTES_MAX`` (with
#: ``_SIGNATURES``: a layout is learnt with its signature).
_Pick = Callable[[bytes], tuple[int, ...]]
_FLOAT_LAYOUTS: dict[int, tuple[tuple[_Pick, tuple[int, ...]], ...]] = {}
_LAYOUTS_PER_LENGTH = 4
_LAYOUT_MAX_BYTES = 64 * 1024
_LAYOUT_BYTES_MAX = 4 * 1024 * 1024
#: What a layout holds for each place it picks, measured: 32 bytes of the ``struct``'s code
#: and 8 of its image's item.
_PLACE_BYTES = 40
_layout_bytes = 0
_FLOAT64 = 0xCB
#: The float layout of the last row that took one, tried first (most loops log one row shape
#: after another): its length, pick and image (see ``_FLOAT_LAYOUTS``).
_last_layout: tuple[int, _Pick, tuple[int, ...]] = (-1, tuple, ())

#: What ``pack_row`` learnt of the other rows it packed, by signature: a row's keys, then its
#: values' types, in one tuple (hashed and compared in C; most rows of a run share one). Its
#: value says what each row of that signature still needs: ``_HAS_INT``, a range check when its
#: packed bytes may hold an integer beyond int64 (a uint 64: MessagePack's 0xcf); ``_REORDER``,
#: its float-valued keys put first (as ``pack_map`` puts them). Only signatures whose keys
#: passed the key checks, of rows of plain values, are kept. Cleared when it holds
#: ``_SIGNATURES_MAX`` (8 MiB at most: rows of up to ``_SIGNATURE_MAX_KEYS`` keys only).
_SIGNATURES: dict[tuple[Any, ...], int] = {}
_SIGNATURES_MAX = 512
_SIGNATURE_MAX_KEYS = 1024
_HAS_INT, _REORDER = 1, 2
_UINT64 = b"\xcf"


def pack_row(data: Any) -> bytes | None:
    """The packed encoding of one ``log()`` payload when it holds only plain scalars (float,
    int in the int64 range, str, bool, None) under valid keys: what ``pack_map(normalize_row(
    data))`` gives, in a few C calls. None for any other row: ``normalize_row`` then converts
    it or raises its clear error (see the module doc)."""
    if type(data) is not dict:
        return None
    try:
        blob: bytes = _pack_plain_row(data)
    except (UnicodeEncodeError, TypeError, ValueError, OverflowError):
        return None  # not plain values (or a key or text normalize_row names)
    size, pick, image = _last_layout
    if len(blob) == size and pick(blob) == image:
        return blob
    layouts = _FLOAT_LAYOUTS.get(len(blob))
    if layouts is not None:
        for pick, image in layouts:
            if pick(blob) == image:
                _remember(len(blob), pick, image)
                return blob
    signature = (*data, *map(type, data.values()))
    needs = _SIGNATURES.get(signature)
    if needs is None:
        needs = _learn_signature(data, signature)
        if needs is None:
            return None
        if needs == 0 and float in signature[len(data):]:
            _learn_float_layout(blob, len(data))
    if len(blob) > MAX_ROW_BYTES:
        return None
    if needs & _REORDER:
        blob = _pack_plain_row({**{k: v for k, v in data.items() if type(v) is float},
                                **{k: v for k, v in data.items() if type(v) is not float}})
    if needs & _HAS_INT and _UINT64 in blob and not all(
            v <= INT64_MAX for v in data.values() if type(v) is int):
        return None
    return blob


def _remember(size: int, pick: _Pick, image: tuple[int, ...]) -> None:
    global _last_layout
    _last_layout = (size, pick, image)  # one tuple: a thread reads all three or none


def _learn_signature(data: dict[Any, Any], signature: tuple[Any, ...]) -> int | None:
    """Check a row of a signature ``pack_row`` has not seen: what each row of it needs (see
    ``_SIGNATURES``), kept for the next; None when such rows are not for ``pack_row``."""
    types = signature[len(data):]
    if not _FAST.issuperset(types):
        return None
    keys = tuple(data)
    if (not keys or len(keys) > MAX_KEYS or set(map(type, keys)) != {str}
            or "" in data or not all(map(str.isascii, keys))
            or max(map(len, keys)) > MAX_KEY_LENGTH):
        return None
    needs = _HAS_INT if int in types else 0
    first_other = next((i for i, t in enumerate(types) if t is not float), len(types))
    if float in types[first_other:]:  # a float after another value: floats go first
        needs |= _REORDER
    if len(keys) <= _SIGNATURE_MAX_KEYS:
        if len(_SIGNATURES) >= _SIGNATURES_MAX:
            _SIGNATURES.clear()
        _SIGNATURES[signature] = needs
    return needs


def _learn_float_layout(blob: bytes, n_keys: int) -> None:
    """Keep the float layout of ``blob``, a row of ``n_keys`` checked keys (ASCII, as
    ``_learn_signature`` makes sure) whose values are all floats (see ``_FLOAT_LAYOUTS``)."""
    global _layout_bytes
    if len(blob) > _LAYOUT_MAX_BYTES:
        return
    at = 1 if n_keys < 16 else 3 if n_keys < 0x10000 else 5  # the map's header
    places = list(range(at))
    for _ in range(n_keys):
        head = blob[at]
        size = (1 if head & 0xE0 == 0xA0 else 2 if head == 0xD9 else 3 if head == 0xDA
                else 0)  # a fixstr's, a str 8's or a str 16's header
        if not size:
            return
        places.extend(range(at, at + size))
        at += size + (head & 0x1F if size == 1 else int.from_bytes(blob[at + 1:at + size], "big"))
        if blob[at] != _FLOAT64:
            return
        places.append(at)
        at += 9
    if at != len(blob):
        return
    image = tuple(blob[i] for i in places)
    fmt, last = ["<"], -1
    for i in places:  # "B" for each place, "Nx" for the N bytes skipped before it
        fmt.append(f"{i - last - 1}xB" if i - last > 1 else "B")
        last = i
    fmt.append(f"{len(blob) - last - 1}x")
    pick = struct.Struct("".join(fmt)).unpack
    known = _FLOAT_LAYOUTS.get(len(blob), ())
    if len(known) >= _LAYOUTS_PER_LENGTH:  # (a row of a layout known never gets here)
        return
    if _layout_bytes + _PLACE_BYTES * len(places) > _LAYOUT_BYTES_MAX:
        _FLOAT_LAYOUTS.clear()  # and the signatures: their rows learn their layouts again
        _SIGNATURES.clear()
        _layout_bytes = 0
        known = ()
    _FLOAT_LAYOUTS[len(blob)] = (*known, (pick, image))
    _layout_bytes += _PLACE_BYTES * len(places)
