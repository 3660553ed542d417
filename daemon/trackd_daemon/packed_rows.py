"""Rows of plain numbers that stay packed from the wire to the store.

Most rows a training loop logs are flat maps of numbers under the same keys, step after step.
Packed (``trackd._shared.row_packing.pack_row``, MessagePack), such rows differ only in their
values' bytes: the same map header, the same keys, the same marker before each value (a
float64's, a uint 16's...) while the values keep their kind and size. A request's rows that
all match one such layout (a :class:`Layout`) are checked a few kilobytes at a time, as big
integers, instead of decoded one by one, and the daemon never makes a dict of them: each is
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
from typing import Any

import msgpack

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
#: Each kind's encoding in the image of a row: its marker byte (kept as is in every row), then
#: the bits of each byte after it that its check looks at and what they must be (a fixint or a
#: boolean is one byte that its check covers; a uint 8 of 5 would be stored as a fixint by the
#: general way, so its byte must be at least 0x80). The high bytes of a uint 16 or 32 must not
#: be all zero (at least 256, 65,536): not a bit test, see ``Layout.nonzero``.
_ENCODING: dict[int, tuple[bytes, bytes, bytes]] = {
    FLOAT: (b"\xcb", bytes(8), bytes(8)),
    POSITIVE_FIXINT: (b"", b"\x80", b"\x00"),
    NEGATIVE_FIXINT: (b"", b"\xe0", b"\xe0"),
    UINT8: (b"\xcc", b"\x80", b"\x80"),
    UINT16: (b"\xcd", bytes(2), bytes(2)),
    UINT32: (b"\xce", bytes(4), bytes(4)),
    BOOL: (b"", b"\xfe", b"\xc2"),  # 0xc2 false, 0xc3 true
    NIL: (b"\xc0", b"", b""),
}
#: Bytes of a request checked by one big-integer test (see :meth:`Layout.matches`): each layout
#: keeps a mask and an image this long (two integers of some 4 KiB). Checking 250 KiB of rows
#: of ten floats took 0.17 ms in blocks of 4 KiB (NumPy, over the whole request, 0.16).
CHECK_BYTES = 4096


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
    floats), in the shortest encodings: which bits of a row must hold what (its fixed bytes,
    and the bits its values' checks look at), and how to read its values.

    The check runs on the bytes of many rows at once as Python integers (one ``AND`` and one
    comparison in C for each ``CHECK_BYTES``), so the daemon needs no array library to ingest
    history."""

    __slots__ = ("head_len", "keep_bytes", "keys", "kinds", "mask", "nonzero", "per_check",
                 "size", "stored_head", "values", "want")

    def __init__(self, keys: tuple[str, ...], kinds: tuple[int, ...] | None = None) -> None:
        self.keys = keys
        self.kinds = kinds
        head = _map_header(len(keys))
        self.head_len = len(head)
        self.stored_head = _map_header(len(keys) + len(ADDED_KEYS))
        mask = bytearray(b"\xff" * len(head))  # the bits a check looks at in one row
        want = bytearray(head)  # and what they must hold
        fmt = [">", f"{len(head)}x"]  # reads the values of a row of floats
        #: Where a uint's high bytes are (one column for a uint 16, two for a uint 32): they
        #: must not be zero together in any row.
        nonzero: list[tuple[int, ...]] = []
        for k, kind in zip(keys, kinds or [FLOAT] * len(keys), strict=True):
            kb = k.encode()
            marker, value_mask, value_want = _ENCODING[kind]
            prefix = _str_header(len(kb)) + kb + marker
            mask += b"\xff" * len(prefix)
            want += prefix
            if kind == UINT16:
                nonzero.append((len(mask),))
            elif kind == UINT32:
                nonzero.append((len(mask), len(mask) + 1))
            mask += value_mask
            want += value_want
            fmt.append(f"{len(prefix)}xd")
        self.size = len(mask)
        self.nonzero = nonzero
        self.per_check = max(1, CHECK_BYTES // self.size)  # rows a test takes
        self.mask = int.from_bytes(bytes(mask) * self.per_check, "little")
        self.want = int.from_bytes(bytes(want) * self.per_check, "little")
        self.keep_bytes = 2 * self.per_check * self.size  # what keeping it holds, about
        self.values = struct.Struct("".join(fmt)) if kinds is None else None

    def matches(self, joined: bytes, n: int) -> bool:
        """True when ``joined`` is ``n`` rows of this layout, end to end."""
        size = self.size
        if len(joined) != n * size:
            return False
        step = self.per_check * size
        mask, want = self.mask, self.want
        whole = len(joined) - len(joined) % step
        from_bytes = int.from_bytes
        for at in range(0, whole, step):
            if from_bytes(joined[at : at + step], "little") & mask != want:
                return False
        if whole < len(joined):  # the last rows, fewer than a test takes
            low = (1 << 8 * (len(joined) - whole)) - 1
            if from_bytes(joined[whole:], "little") & mask & low != want & low:
                return False
        for cols in self.nonzero:
            high = joined[cols[0] :: size]
            if len(cols) == 2:
                high = (from_bytes(high, "little")
                        | from_bytes(joined[cols[1] :: size], "little")).to_bytes(n, "little")
            if b"\0" in high:
                return False
        return True

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

    def stored_many(self, blobs: Sequence[bytes], stamps: Sequence[float], first_step: int,
                    start_time: float) -> list[tuple[int, bytearray]]:
        """``(step, stored(blob, step, runtime, timestamp))`` for consecutive rows of this
        layout from ``first_step`` on, ``runtime`` being ``max(0.0, timestamp -
        start_time)``: the same bytes as :meth:`stored` gives row by row, in a comprehension
        a run of steps of one bit length (a method call a row was a third of a round's time
        to apply rows of ten floats).

        Each is a bytearray, made as fast as bytes: SQLite's module binds a bytearray as it
        is, and looks for an adapter for every bytes value first (0.3 to 0.5 µs a row of
        the insert, measured)."""
        head, cut, join = self.stored_head, self.head_len, bytearray().join
        out: list[tuple[int, bytearray]] = []
        lo, end = first_step, first_step + len(blobs)
        while lo < end:
            bits = lo.bit_length()
            hi = min(end, 1 << bits)  # the steps whose tail has this one's shape
            tail, marker = _TAILS[bits]
            pack = tail.pack
            out += [(step, join((head, blob[cut:], pack(
                        _STEP, marker, step, _RUNTIME, ts - start_time if ts > start_time
                        else 0.0, _TIMESTAMP, ts))))
                    for step, blob, ts in zip(range(lo, hi), blobs[lo - first_step:hi - first_step],
                                              stamps[lo - first_step:hi - first_step])]
            lo = hi
        return out


#: Layouts by key set and kinds, shared by the worker threads (a race at worst builds one twice),
#: cleared when their masks and images would take more than ``LAYOUTS_BYTES`` in all (a layout
#: keeps ``Layout.keep_bytes``: twice ``CHECK_BYTES`` for most, twice a row for rows longer than
#: that; 4 MiB is a thousand runs of different keys, or 130 layouts of rows of 1,000 floats). A
#: layout larger than that alone is used without being kept.
_LAYOUTS: dict[tuple[tuple[str, ...], tuple[int, ...] | None], Layout] = {}
_layouts_bytes = 0
LAYOUTS_BYTES = 4 << 20
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
    global _layouts_bytes
    size = layout.keep_bytes
    if size > LAYOUTS_BYTES:
        return
    if _layouts_bytes + size > LAYOUTS_BYTES:
        _LAYOUTS.clear()
        _layouts_bytes = 0
    _LAYOUTS[layout.keys, layout.kinds] = layout
    _layouts_bytes += size
