"""Rows of floats that stay packed from the wire to the store.

Most rows a training loop logs are flat maps of floats under the same keys, step after step.
Packed (``trackd._shared.values.pack_row``, MessagePack), such rows differ only in their
values' bytes: the same map header, the same keys, a float64 marker before each value. A
request's rows that all match one such layout (a :class:`Layout`) are checked in a few numpy
calls over the whole request instead of decoded one by one, and the daemon never makes a dict
of them: each is stored as its own bytes with ``_step``, ``_runtime`` and ``_timestamp``
spliced in (:meth:`Layout.stored`), byte for byte what packing the decoded row with those keys
added gives. Only the last row of each run of them is decoded, for the run's summary.

Any other row (an int or a string value, nesting, a key set of its own in the request, an
encoding that is not the shortest) goes the general way: decoded and checked value by value.
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


class Layout:
    """The packed layout of a flat row of floats under ``keys`` (shortest encodings): where
    its fixed bytes are and what they hold, and how to read its values."""

    __slots__ = ("fixed", "fixed_at", "head_len", "keys", "size", "stored_head", "values")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        head = _map_header(len(keys))
        self.head_len = len(head)
        self.stored_head = _map_header(len(keys) + len(ADDED_KEYS))
        parts = [head]
        fmt = [">", f"{len(head)}x"]
        for k in keys:
            kb = k.encode()
            prefix = _str_header(len(kb)) + kb + bytes((_FLOAT64,))
            parts.append(prefix + bytes(8))
            fmt.append(f"{len(prefix)}xd")
        image = np.frombuffer(b"".join(parts), np.uint8)
        fixed = np.ones(len(image), bool)
        at = len(head)
        for part in parts[1:]:
            at += len(part)
            fixed[at - 8 : at] = False  # the value
        self.size = len(image)
        self.fixed_at = np.flatnonzero(fixed)
        self.fixed = image[self.fixed_at]
        self.values = struct.Struct("".join(fmt))

    def matches(self, joined: bytes, n: int) -> bool:
        """True when ``joined`` is ``n`` rows of this layout, end to end."""
        if len(joined) != n * self.size:
            return False
        rows = np.frombuffer(joined, np.uint8).reshape(n, self.size)
        return bool((rows[:, self.fixed_at] == self.fixed).all())

    def row(self, blob: bytes) -> dict[str, float]:
        """The row ``blob`` (of this layout) decoded."""
        return dict(zip(self.keys, self.values.unpack(blob)))

    def stored(self, blob: bytes, step: int, runtime: float, timestamp: float) -> bytes:
        """The stored encoding of row ``blob`` (of this layout) with ``_step``, ``_runtime``
        and ``_timestamp`` added after its keys: what packing the decoded row so gives."""
        tail, marker = _TAILS[step.bit_length()]
        end = tail.pack(_STEP, marker, step, _RUNTIME, runtime, _TIMESTAMP, timestamp)
        return b"".join((self.stored_head, blob[self.head_len :], end))


class Packed(NamedTuple):
    """A row that stays packed: its bytes, in ``layout``."""

    blob: bytes
    layout: Layout

    def decoded(self) -> dict[str, Any]:
        return self.layout.row(self.blob)


#: Layouts by key set, shared by the worker threads (a race at worst builds one twice),
#: cleared when they would hold more than ``LAYOUTS_FIXED_BYTES`` fixed bytes in all (a layout
#: keeps 9 bytes for each: some 10 MiB at most; a row of ten short keys has about 60). A layout
#: larger than that alone is used without being kept.
_LAYOUTS: dict[tuple[str, ...], Layout] = {}
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
    layout = _LAYOUTS.get(keys)
    if layout is None:
        if ADDED_KEYS.intersection(keys) or set(map(type, row.values())) != {float}:
            return None
        layout = Layout(keys)
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
    _LAYOUTS[layout.keys] = layout
    _layouts_fixed += size
