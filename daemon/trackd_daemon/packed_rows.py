"""Rows of plain numbers that stay packed from the wire to the store.

Most rows a training loop logs are flat maps of numbers under the same keys, step after step.
Packed (``trackd._shared.values.pack_row``, MessagePack), such rows differ only in their
values' bytes: the same map header, the same keys, the same marker before each value (a
float64's, a uint 16's...) while the values keep their kind and size. A request's rows that
all match one such layout (a :class:`Layout`) are checked in a few numpy calls over the whole
request instead of decoded one by one, and the daemon never makes a dict of them: each is
stored as its own bytes with ``_step``, ``_runtime`` and ``_timestamp`` spliced in
(:meth:`Layout.stored`), byte for byte what packing the decoded row with those keys added
gives. Only the last row of each run of them is decoded, for the run's summary.

The values a layout holds are floats, booleans, nil and integers from -32 to 2**32 - 1, each in
MessagePack's shortest encoding (the check makes sure of it: a longer one would be stored
shorter by the general way). Any other row (a string, a larger integer, nesting, a key set of
its own in the request, an integer that changes size within the request) goes the general way:
decoded and checked value by value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgpack
import numpy as np

#: The keys the daemon adds to every stored row (a row that has one goes the general way: its
#: key keeps its place in the row).
ADDED_KEYS = frozenset(("_step", "_runtime", "_timestamp"))

_FLOAT64 = 0xCB
_STEP = b"\xa5_step"
_RUNTIME = b"\xa8_runtime\xcb"
_TIMESTAMP = b"\xaa_timestamp\xcb"


def _tail(marker: bytes, code: str) -> tuple[struct.Struct, bytes]:
    return struct.Struct(f">{len(_STEP)}s{len(marker)}s{code}{len(_RUNTIME)}sd"
                         f"{len(_TIMESTAMP)}sd"), marker


#: The tail of a stored row by its step's bit length: MessagePack's shortest unsigned int is a
#: positive fixint (7 bits), then uint 8, 16, 32 or 64 behind a marker byte.
_TAILS = ([_tail(b"", "B")] * 8 + [_tail(b"\xcc", "B")] + [_tail(b"\xcd", "H")] * 8
          + [_tail(b"\xce", "I")] * 16 + [_tail(b"\xcf", "Q")] * 32)


def _map_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x80 | n,))
    if n < 0x10000:
        return b"\xde" + n.to_bytes(2, "big")
    return b"\xdf" + n.to_bytes(4, "big")


def _str_header(n: int) -> bytes:
    if n < 32:
        return bytes((0xA0 | n,))
    if n < 0x100:
        return b"\xd9" + bytes((n,))
    if n < 0x10000:
        return b"\xda" + n.to_bytes(2, "big")
    return b"\xdb" + n.to_bytes(4, "big")


#: The kinds of value a layout holds, by how MessagePack encodes them at their shortest.
FLOAT, POSITIVE_FIXINT, NEGATIVE_FIXINT, UINT8, UINT16, UINT32, BOOL, NIL = range(8)
#: Each kind's encoding in the image of a row: its marker byte (kept as is in every row) and
#: how many bytes follow; a fixint or a boolean is one byte that its check covers.
_ENCODING = {FLOAT: (b"\xcb", 8), POSITIVE_FIXINT: (b"", 1), NEGATIVE_FIXINT: (b"", 1),
             UINT8: (b"\xcc", 1), UINT16: (b"\xcd", 2), UINT32: (b"\xce", 4), BOOL: (b"", 1),
             NIL: (b"\xc0", 0)}


def _kind(value: Any) -> int | None:
    """The kind of a decoded value, or None when no layout holds it."""
    t = type(value)
    if t is float:
        return FLOAT
    if t is bool:
        return BOOL
    if value is None:
        return NIL
    if t is int:
        if 0 <= value < 0x80:
            return POSITIVE_FIXINT
        if -32 <= value < 0:
            return NEGATIVE_FIXINT
        if 0x80 <= value < 0x100:
            return UINT8
        if 0x100 <= value < 0x10000:
            return UINT16
        if 0x10000 <= value < 0x100000000:
            return UINT32
    return None


class Layout:
    """The packed layout of a flat row under ``keys`` whose values are of ``kinds`` (None: all
    floats), in the shortest encodings: where its fixed bytes are and what they hold, which
    bytes must pass which check, and how to read its values."""

    __slots__ = ("checks", "fixed", "fixed_at", "head_len", "keys", "kinds", "size",
                 "stored_head", "values")

    def __init__(self, keys: tuple[str, ...], kinds: tuple[int, ...] | None = None) -> None:
        self.keys = keys
        self.kinds = kinds
        head = _map_header(len(keys))
        self.head_len = len(head)
        self.stored_head = _map_header(len(keys) + len(ADDED_KEYS))
        parts = [head]
        fmt = [">", f"{len(head)}x"]  # reads the values of a row of floats
        free: list[int] = []  # where each value's bytes begin
        checked: dict[int, list[int]] = {}  # kind: where the byte its check looks at is
        at = len(head)
        for k, kind in zip(keys, kinds or [FLOAT] * len(keys), strict=True):
            kb = k.encode()
            marker, size = _ENCODING[kind]
            prefix = _str_header(len(kb)) + kb + marker
            parts.append(prefix + bytes(size))
            fmt.append(f"{len(prefix)}xd")
            at += len(prefix)
            free.extend(range(at, at + size))
            if kind != FLOAT and kind != NIL:
                checked.setdefault(kind, []).append(at)
            at += size
        image = np.frombuffer(b"".join(parts), np.uint8)
        fixed = np.ones(len(image), bool)
        fixed[free] = False
        self.size = len(image)
        self.fixed_at = np.flatnonzero(fixed)
        self.fixed = image[self.fixed_at]
        self.checks = [(kind, np.array(cols, np.intp)) for kind, cols in checked.items()]
        self.values = struct.Struct("".join(fmt)) if kinds is None else None

    def matches(self, joined: bytes, n: int) -> bool:
        """True when ``joined`` is ``n`` rows of this layout, end to end."""
        if len(joined) != n * self.size:
            return False
        rows = np.frombuffer(joined, np.uint8).reshape(n, self.size)
        if not (rows[:, self.fixed_at] == self.fixed).all():
            return False
        return all(_CHECKS[kind](rows, cols) for kind, cols in self.checks)

    def row(self, blob: bytes) -> dict[str, Any]:
        """The row ``blob`` (of this layout) decoded."""
        if self.values is not None:
            return dict(zip(self.keys, self.values.unpack(blob)))
        return msgpack.unpackb(blob, raw=False)  # type: ignore[no-any-return]

    def stored(self, blob: bytes, step: int, runtime: float, timestamp: float) -> bytes:
        """The stored encoding of row ``blob`` (of this layout) with ``_step``, ``_runtime``
        and ``_timestamp`` added after its keys: what packing the decoded row so gives."""
        tail, marker = _TAILS[step.bit_length()]
        end = tail.pack(_STEP, marker, step, _RUNTIME, runtime, _TIMESTAMP, timestamp)
        return b"".join((self.stored_head, blob[self.head_len :], end))


#: Each kind's check, on the byte it names in every row (``cols``): the value is of that kind
#: and in its shortest encoding (a uint 8 of 5 would be stored as a fixint by the general way).
_CHECKS = {
    POSITIVE_FIXINT: lambda rows, cols: not (rows[:, cols] & 0x80).any(),
    NEGATIVE_FIXINT: lambda rows, cols: bool((rows[:, cols] >= 0xE0).all()),
    UINT8: lambda rows, cols: bool((rows[:, cols] >= 0x80).all()),
    UINT16: lambda rows, cols: bool(rows[:, cols].all()),  # the high byte: at least 256
    UINT32: lambda rows, cols: bool((rows[:, cols] | rows[:, cols + 1]).all()),  # >= 65,536
    BOOL: lambda rows, cols: bool(((rows[:, cols] | 1) == 0xC3).all()),
}


class Packed(NamedTuple):
    """A row that stays packed: its bytes, in ``layout``."""

    blob: bytes
    layout: Layout

    def decoded(self) -> dict[str, Any]:
        return self.layout.row(self.blob)


#: Layouts by key set and kinds, shared by the worker threads (a race at worst builds one twice),
#: cleared when they would hold more than ``LAYOUTS_FIXED_BYTES`` fixed bytes in all (a layout
#: keeps 9 bytes for each: some 10 MiB at most; a row of ten short keys has about 60). A layout
#: larger than that alone is used without being kept.
_LAYOUTS: dict[tuple[tuple[str, ...], tuple[int, ...] | None], Layout] = {}
_layouts_fixed = 0
LAYOUTS_FIXED_BYTES = 1 << 20
LAYOUT_MAX_KEYS = 10_000


def layout_of(blobs: Sequence[bytes], checked: set[tuple[str, ...]]) -> Layout | None:
    """The layout every row of ``blobs`` (a request's rows) has, or None when they do not all
    share one (they then go the general way). ``checked`` holds the key sets that passed the
    daemon's key checks: the first row's must be one of them."""
    first = blobs[0]
    if not first or first[0] & 0xF0 != 0x80 and first[0] != 0xDE:
        return None  # not a map of fewer than 65,536 keys
    try:
        row = msgpack.unpackb(first, raw=False, strict_map_key=True, max_bin_len=0,
                              max_ext_len=0)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    keys = tuple(row)
    if keys not in checked or not keys or len(keys) > LAYOUT_MAX_KEYS:
        return None
    kinds: tuple[int | None, ...] | None = None  # all floats
    if set(map(type, row.values())) != {float}:
        kinds = tuple(map(_kind, row.values()))
        if None in kinds:
            return None
    layout = _LAYOUTS.get((keys, kinds))
    if layout is None:
        if ADDED_KEYS.intersection(keys):
            return None
        layout = Layout(keys, kinds)  # type: ignore[arg-type]  # no None in kinds
        _keep(layout)
    if not layout.matches(b"".join(blobs), len(blobs)):
        return None
    return layout


def _keep(layout: Layout) -> None:
    global _layouts_fixed
    size = len(layout.fixed)
    if size > LAYOUTS_FIXED_BYTES:
        return
    if _layouts_fixed + size > LAYOUTS_FIXED_BYTES:
        _LAYOUTS.clear()
        _layouts_fixed = 0
    _LAYOUTS[layout.keys, layout.kinds] = layout
    _layouts_fixed += size
