"""The write-ahead-log file format (trackd._shared.walfile): framing, torn tails, corruption."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

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
    repair_tail,
)


def _payload(i: int, size: int) -> bytes:
    """A deterministic payload whose content depends on ``i`` (so records are told apart)."""
    seed = f"record-{i}:".encode()
    return (seed * (size // len(seed) + 1))[:size]


def _write(path: Path, payloads: list[bytes]) -> list[tuple[int, int]]:
    """Write ``payloads`` one by one; return each record's (start, end) file offsets."""
    spans = []
    w = WalWriter(path)
    try:
        for p in payloads:
            start = w.size
            w.append(p)
            spans.append((start, w.size))
    finally:
        w.close()
    return spans


def _chunks(data: bytes) -> list[tuple[int, int, int]]:
    """Parse a well-formed log: (offset, type, length) of each chunk, skipping block padding."""
    out = []
    pos = HEADER_SIZE
    while pos < len(data):
        left = BLOCK_SIZE - ((pos - HEADER_SIZE) % BLOCK_SIZE)
        if left < CHUNK_HEADER:
            assert data[pos : pos + left] == b"\0" * left
            pos += left
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        payload = data[pos + CHUNK_HEADER : pos + CHUNK_HEADER + length]
        assert crc == zlib.crc32(bytes([kind]) + payload)
        out.append((pos, kind, length))
        pos += CHUNK_HEADER + length
    return out


def _block_of(offset: int) -> int:
    return (offset - HEADER_SIZE) // BLOCK_SIZE


# -- header ------------------------------------------------------------------------------------


def test_header_bytes_match_the_documented_format(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    WalWriter(path).close()
    # b"TRKD", magic 0x7D1E as little-endian uint16, format version 1.
    assert path.read_bytes() == b"TRKD\x1e\x7d\x01"
    assert MAGIC == b"TRKD\x1e\x7d\x01"
    assert HEADER_SIZE == 7
    assert BLOCK_SIZE == 32 * 1024
    assert CHUNK_HEADER == 7
    assert (FULL, FIRST, MIDDLE, LAST) == (1, 2, 3, 4)
    assert list(read_records(path)) == []


def test_chunk_layout_is_crc_length_type_payload(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    _write(path, [b"hello"])
    data = path.read_bytes()
    chunk = data[HEADER_SIZE:]
    crc, length, kind = struct.unpack("<IHB", chunk[:7])
    assert (length, kind) == (5, FULL)
    assert crc == zlib.crc32(b"\x01hello")  # CRC-32/IEEE over the type byte and the payload
    assert chunk[7:] == b"hello"
    assert len(data) == HEADER_SIZE + CHUNK_HEADER + 5


# -- round trips -------------------------------------------------------------------------------


def test_round_trip_of_many_records_of_all_sizes(tmp_path: Path) -> None:
    sizes = [0, 1, 6, 7, 100, 0, 1000, BLOCK_SIZE - 14, BLOCK_SIZE, 3 * BLOCK_SIZE + 123, 0, 5,
             40_000, 33 * 1024, 17]
    payloads = [_payload(i, s) for i, s in enumerate(sizes)]
    payloads += [_payload(100 + i, (i * 37) % 300) for i in range(200)]
    path = tmp_path / "a.wal"
    _write(path, payloads)
    assert list(read_records(path)) == payloads
    # A second writer on the intact log keeps every record and appends after them.
    w = WalWriter(path)
    size_before = path.stat().st_size
    assert w.size == size_before
    w.append(b"tail")
    w.close()
    assert list(read_records(path)) == [*payloads, b"tail"]


def test_empty_payload_is_a_record(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    _write(path, [b"", b"", b"x", b""])
    assert list(read_records(path)) == [b"", b"", b"x", b""]
    assert [(k, n) for _, k, n in _chunks(path.read_bytes())] == [
        (FULL, 0), (FULL, 0), (FULL, 1), (FULL, 0)
    ]


def test_large_record_spans_blocks_as_first_middle_last(tmp_path: Path) -> None:
    big = _payload(1, 3 * BLOCK_SIZE + 500)  # > 32 KiB: needs four chunks
    path = tmp_path / "a.wal"
    _write(path, [b"before", big, b"after"])
    data = path.read_bytes()
    chunks = _chunks(data)
    kinds = [k for _, k, _ in chunks]
    assert kinds == [FULL, FIRST, MIDDLE, MIDDLE, LAST, FULL]
    # No chunk crosses a block boundary, and the pieces add up to the payload.
    for off, _, length in chunks:
        assert _block_of(off) == _block_of(off + CHUNK_HEADER + length - 1)
    assert sum(n for _, k, n in chunks if k != FULL) == len(big)
    # The middle chunks fill whole blocks.
    for off, k, length in chunks:
        if k == MIDDLE:
            assert (off - HEADER_SIZE) % BLOCK_SIZE == 0
            assert length == BLOCK_SIZE - CHUNK_HEADER
    assert list(read_records(path)) == [b"before", big, b"after"]


def test_append_many_matches_append_byte_for_byte(tmp_path: Path) -> None:
    payloads = [_payload(i, s) for i, s in enumerate([0, 10, BLOCK_SIZE + 5, 3, 70_000, 1, 0])]
    one, many = tmp_path / "one.wal", tmp_path / "many.wal"
    _write(one, payloads)
    w = WalWriter(many)
    w.append(b"")  # start append_many at an offset that is not the header's end
    w.append_many(payloads[1:])
    w.append_many([])
    w.close()
    assert many.read_bytes() == one.read_bytes()
    assert list(read_records(many)) == payloads


def test_frame_is_what_append_writes(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    w = WalWriter(path)
    w.append(b"x" * 100)
    size = w.size
    w.close()
    framed = walfile.frame(b"y" * 50_000, size)
    w = WalWriter(path)
    w.append(b"y" * 50_000)
    w.close()
    assert path.read_bytes()[size:] == framed


@pytest.mark.parametrize("left", [1, 2, 3, 4, 5, 6])
def test_block_is_zero_padded_when_fewer_than_7_bytes_remain(tmp_path: Path, left: int) -> None:
    filler = b"f" * (BLOCK_SIZE - CHUNK_HEADER - left)  # leaves `left` bytes in block 0
    path = tmp_path / "a.wal"
    spans = _write(path, [filler, b"next", b""])
    data = path.read_bytes()
    block1 = HEADER_SIZE + BLOCK_SIZE
    assert spans[0][1] == block1 - left
    assert data[block1 - left : block1] == b"\0" * left
    _crc, length, kind = struct.unpack_from("<IHB", data, block1)
    assert (length, kind) == (4, FULL)
    assert data[block1 + CHUNK_HEADER : block1 + CHUNK_HEADER + 4] == b"next"
    assert list(read_records(path)) == [filler, b"next", b""]


def test_exactly_7_bytes_left_holds_an_empty_chunk_not_padding(tmp_path: Path) -> None:
    filler = b"f" * (BLOCK_SIZE - 2 * CHUNK_HEADER)  # leaves exactly 7 bytes in block 0
    path = tmp_path / "a.wal"
    _write(path, [filler, b"", filler, b"spills"])
    data = path.read_bytes()
    chunks = _chunks(data)
    # The empty record fills block 0 exactly; the 2nd filler then leaves 7 bytes of block 1,
    # where "spills" starts with a zero-length FIRST chunk and ends with LAST in block 2.
    assert [(k, n) for _, k, n in chunks] == [
        (FULL, len(filler)), (FULL, 0), (FULL, len(filler)), (FIRST, 0), (LAST, 6)
    ]
    assert list(read_records(path)) == [filler, b"", filler, b"spills"]


# -- empty and foreign files --------------------------------------------------------------------


def test_empty_file_reads_as_no_records(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    path.write_bytes(b"")
    assert list(read_records(path)) == []
    # A writer opening an empty file writes the header and appends normally.
    w = WalWriter(path)
    assert w.size == HEADER_SIZE
    w.append(b"one")
    w.close()
    assert path.read_bytes()[:HEADER_SIZE] == MAGIC
    assert list(read_records(path)) == [b"one"]


def test_writer_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "x" / "y" / "a.wal"
    _write(path, [b"r"])
    assert list(read_records(path)) == [b"r"]


@pytest.mark.parametrize(
    "content",
    [
        b"not a log at all, just some text",
        b"TRKX",  # shorter than the header, and not a part of it
        b"TRKD\x1e\x7d\x02" + b"\0" * 20,  # another format version
        b"TRKE\x1e\x7d\x01",
        b"\x00" * 64,
    ],
)
def test_a_file_that_is_not_a_log_raises_wal_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.wal"
    path.write_bytes(content)
    with pytest.raises(WalFormatError):
        list(read_records(path))
    with pytest.raises(WalFormatError):
        WalWriter(path)
    assert path.read_bytes() == content  # left untouched
    assert issubclass(WalFormatError, ValueError)


def test_a_header_cut_short_by_a_crash_is_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "a.wal"
    path.write_bytes(MAGIC[:4])
    assert list(read_records(path)) == []
    w = WalWriter(path)
    w.append(b"after")
    w.close()
    assert path.read_bytes()[:HEADER_SIZE] == MAGIC
    assert list(read_records(path)) == [b"after"]


# -- torn tails --------------------------------------------------------------------------------


def _check_every_truncation(tmp_path: Path, earlier: list[bytes], last: bytes) -> None:
    src = tmp_path / "src.wal"
    spans = _write(src, [*earlier, last])
    full = src.read_bytes()
    good_end = spans[-2][1] if earlier else HEADER_SIZE
    assert spans[-1] == (good_end, len(full))
    path = tmp_path / "torn.wal"
    for cut in range(good_end, len(full)):
        path.write_bytes(full[:cut])
        assert list(read_records(path)) == earlier, f"cut at {cut}"
        w = WalWriter(path)  # repairs the tail
        try:
            assert w.size == good_end, f"cut at {cut}"
            assert path.stat().st_size == good_end
            w.append(b"appended")
        finally:
            w.close()
        assert list(read_records(path)) == [*earlier, b"appended"], f"cut at {cut}"
    # And the complete file keeps its last record.
    path.write_bytes(full)
    assert repair_tail(path) == len(full)
    assert list(read_records(path)) == [*earlier, last]


def test_torn_tail_of_a_single_chunk_record(tmp_path: Path) -> None:
    _check_every_truncation(tmp_path, [_payload(i, 20 + i) for i in range(5)], _payload(9, 60))


def test_torn_tail_of_the_only_record(tmp_path: Path) -> None:
    _check_every_truncation(tmp_path, [], b"lonely record")


def test_torn_tail_of_a_record_split_across_a_block_boundary(tmp_path: Path) -> None:
    # The filler leaves 30 bytes of block 0, so the last record is FIRST(23) + LAST(rest).
    filler = b"f" * (BLOCK_SIZE - CHUNK_HEADER - 30)
    last = _payload(7, 80)
    _check_every_truncation(tmp_path, [filler], last)
    kinds = [k for _, k, _ in _chunks((tmp_path / "src.wal").read_bytes())]
    assert kinds == [FULL, FIRST, LAST]


def test_torn_tail_after_block_padding(tmp_path: Path) -> None:
    # 3 bytes of padding end block 0, then the last record starts block 1.
    filler = b"f" * (BLOCK_SIZE - CHUNK_HEADER - 3)
    _check_every_truncation(tmp_path, [filler], b"in block one")


def test_torn_tail_of_a_multi_block_record(tmp_path: Path) -> None:
    earlier = [b"a", _payload(1, 500)]
    big = _payload(2, 2 * BLOCK_SIZE + 1000)
    src = tmp_path / "src.wal"
    spans = _write(src, [*earlier, big])
    full = src.read_bytes()
    good_end = spans[-2][1]
    chunk_offsets = [off for off, _, _ in _chunks(full) if off >= good_end]
    # Cuts around every chunk header and block boundary, plus a coarse stride through the rest.
    cuts = set(range(good_end, len(full), 997))
    for off in chunk_offsets:
        cuts.update(c for c in range(off - 2, off + CHUNK_HEADER + 2) if good_end <= c < len(full))
    path = tmp_path / "torn.wal"
    for cut in sorted(cuts):
        path.write_bytes(full[:cut])
        assert list(read_records(path)) == earlier, f"cut at {cut}"
        assert repair_tail(path) == good_end
        assert path.stat().st_size == good_end
    w = WalWriter(path)
    w.append(b"z")
    w.close()
    assert list(read_records(path)) == [*earlier, b"z"]


def test_zero_filled_tail_is_cut_off(tmp_path: Path) -> None:
    # A crash can leave the file longer than what was written, the rest zeros.
    path = tmp_path / "a.wal"
    spans = _write(path, [b"one", b"two"])
    with open(path, "ab") as f:
        f.write(b"\0" * (BLOCK_SIZE + 100))
    assert list(read_records(path)) == [b"one", b"two"]
    w = WalWriter(path)
    assert w.size == spans[-1][1]
    w.append(b"three")
    w.close()
    assert list(read_records(path)) == [b"one", b"two", b"three"]


# -- corruption in the middle ------------------------------------------------------------------


def _build_multi_block(tmp_path: Path) -> tuple[Path, list[bytes], list[tuple[int, int]]]:
    payloads = [_payload(i, 900 + (i % 7) * 50) for i in range(150)]  # about 4.5 blocks
    path = tmp_path / "a.wal"
    spans = _write(path, payloads)
    assert _block_of(spans[-1][0]) >= 3
    return path, payloads, spans


def _first_record_in_block(spans: list[tuple[int, int]], block: int) -> int:
    """Index of the first record whose first byte lies in ``block`` or later."""
    for i, (start, _) in enumerate(spans):
        data_start = start
        left = BLOCK_SIZE - ((start - HEADER_SIZE) % BLOCK_SIZE)
        if left < CHUNK_HEADER:
            data_start += left
        if _block_of(data_start) >= block:
            return i
    raise AssertionError("no such record")


@pytest.mark.parametrize("field", ["payload", "crc", "type"])
def test_corruption_in_the_middle_of_a_block_skips_only_that_block(
    tmp_path: Path, field: str
) -> None:
    path, payloads, spans = _build_multi_block(tmp_path)
    # A record that lies wholly in the middle of block 1.
    victim = next(i for i, (s, e) in enumerate(spans)
                  if _block_of(s) == 1 and _block_of(e - 1) == 1
                  and (s - HEADER_SIZE) % BLOCK_SIZE > 5000)
    start = spans[victim][0]
    offset = {"payload": start + CHUNK_HEADER + 10, "crc": start + 1, "type": start + 6}[field]
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))
    # Records before the bad chunk are read; the rest of block 1 is lost, up to the first record
    # that begins in block 2 (a record continuing from block 1 into block 2 is lost too).
    resume = _first_record_in_block(spans, 2)
    expected = payloads[:victim] + payloads[resume:]
    assert list(read_records(path)) == expected
    assert resume < len(payloads) - 10  # later blocks really were read
    # Reopening does not cut the good records after the damage.
    size = len(data)
    w = WalWriter(path)
    assert w.size == size
    w.append(b"after repair")
    w.close()
    assert list(read_records(path)) == [*expected, b"after repair"]


def test_corrupt_length_field_does_not_lose_later_blocks(tmp_path: Path) -> None:
    # A length that points past the end of a short file is corruption, not a torn tail, when
    # more blocks follow: reading must resync at the next block and repair must not truncate.
    payloads = [_payload(i, 1000) for i in range(40)]  # a bit more than one block
    path = tmp_path / "a.wal"
    spans = _write(path, payloads)
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, spans[0][0] + 4, 0xFFFF)
    path.write_bytes(bytes(data))
    resume = _first_record_in_block(spans, 1)
    expected = payloads[resume:]
    assert expected
    assert list(read_records(path)) == expected
    w = WalWriter(path)
    assert w.size == len(data)
    w.close()
    assert path.stat().st_size == len(data)


def test_corrupt_first_chunk_drops_the_spanning_record_but_not_the_next(tmp_path: Path) -> None:
    big = _payload(3, BLOCK_SIZE + 2000)  # FIRST in block 0, LAST in block 1
    path = tmp_path / "a.wal"
    spans = _write(path, [b"head", big, b"tail-1", b"tail-2"])
    data = bytearray(path.read_bytes())
    data[spans[1][0] + CHUNK_HEADER + 3] ^= 0xFF  # inside the FIRST chunk
    path.write_bytes(bytes(data))
    # The orphaned LAST chunk at the start of block 1 is ignored; what follows it is read.
    assert list(read_records(path)) == [b"head", b"tail-1", b"tail-2"]


def test_corruption_in_the_last_block_keeps_earlier_blocks(tmp_path: Path) -> None:
    path, payloads, spans = _build_multi_block(tmp_path)
    victim = len(payloads) - 5
    data = bytearray(path.read_bytes())
    data[spans[victim][0] + CHUNK_HEADER] ^= 0x01
    path.write_bytes(bytes(data))
    assert list(read_records(path)) == payloads[:victim]
    w = WalWriter(path)
    assert w.size == spans[victim - 1][1]
    w.append(b"new")
    w.close()
    assert list(read_records(path)) == [*payloads[:victim], b"new"]


def test_append_many_goes_on_after_short_writes(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may take fewer bytes than asked (writev included): the rest follows, in order."""
    real_writev, real_write = os.writev, os.write
    monkeypatch.setattr(walfile.os, "writev",
                        lambda fd, bufs: real_writev(fd, [bytes(bufs[0])[:1000]]))
    monkeypatch.setattr(walfile.os, "write", lambda fd, buf: real_write(fd, bytes(buf)[:1000]))
    payloads = [b"a" * 70_000, b"", b"b" * 5]
    short = tmp_path / "short.wal"
    w = WalWriter(short)
    w.append_many(payloads)
    w.close()
    monkeypatch.undo()
    assert list(read_records(short)) == payloads
    whole = tmp_path / "whole.wal"
    _write(whole, payloads)
    assert short.read_bytes() == whole.read_bytes()
