"""Property-based fuzzing (hypothesis) of the write-ahead-log reader
(``trackd._shared.walfile``): arbitrary files, arbitrary chunk sequences, and valid logs with
flipped bytes, truncations, inserted and removed garbage. The record decoder and the value codec
are fuzzed in test_fuzz_records.py.

Each property runs a modest number of examples with no deadline, so the file stays fast. The
example database is off: nothing is written into the repository, and every run starts fresh
(a failure prints the ``@reproduce_failure`` blob to replay it).
"""

from __future__ import annotations

import dataclasses
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trackd._shared import walfile
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


