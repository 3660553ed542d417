"""The write-ahead-log file format (``*.wal``), shared by the daemon and offline runs.

A log is a 7-byte file header followed by 32 KiB blocks of chunks (the framing of LevelDB's
log, which W&B's ``.wandb`` transaction log also uses):

* header: ``b"TRKD"``, the magic ``0x7D1E`` as little-endian uint16, format version ``1``;
* chunk: ``uint32 crc`` (little-endian CRC-32/IEEE, ``zlib.crc32``, over the type byte and
  the payload), ``uint16 length``, ``uint8 type``, then ``length`` payload bytes;
* type: FULL=1 (a whole record), or FIRST=2, MIDDLE=3, LAST=4 for a record split across
  blocks; a chunk never crosses a block boundary; when fewer than 7 bytes are left in a block
  they are zero-filled and the next chunk starts in the next block.

Each record's payload is one serialized ``trackd.v1.WalEntry`` (a batch of records). A torn
write at the tail (a crash mid-append) is detected by its CRC or length and cut off by
:func:`repair_tail` before the log is appended to again; corruption in the middle skips to the
next block, so a bad block loses only the records it holds.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

MAGIC = b"TRKD" + struct.pack("<H", 0x7D1E) + bytes([1])
HEADER_SIZE = len(MAGIC)
BLOCK_SIZE = 32 * 1024
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_BYTES = {t: bytes([t]) for t in (FULL, FIRST, MIDDLE, LAST)}
_HDR = struct.Struct("<IHB")


class WalFormatError(ValueError):
    """The file is not a trackd write-ahead log."""


def frame(payload: bytes, offset: int) -> bytes:
    """Return the bytes that append ``payload`` as one record to a log whose size is ``offset``."""
    return b"".join(frame_parts(payload, offset))


def frame_parts(payload: bytes, offset: int) -> list[bytes | memoryview]:
    """:func:`frame` in pieces, end to end: chunk headers, padding, and slices of ``payload``
    itself (views, not copies: a writer hands them to the OS as they are)."""
    out: list[bytes | memoryview] = []
    pos = offset
    view = memoryview(payload)
    first = True
    while True:
        left_in_block = BLOCK_SIZE - ((pos - HEADER_SIZE) % BLOCK_SIZE)
        if left_in_block < CHUNK_HEADER:
            out.append(bytes(left_in_block))
            pos += left_in_block
            continue
        room = left_in_block - CHUNK_HEADER
        piece = view[:room]
        view = view[room:]
        last = len(view) == 0
        kind = FULL if first and last else FIRST if first else LAST if last else MIDDLE
        tb = _TYPE_BYTES[kind]
        crc = zlib.crc32(piece, zlib.crc32(tb))
        out.append(_HDR.pack(crc, len(piece), kind))
        out.append(piece)
        pos += CHUNK_HEADER + len(piece)
        first = False
        if last:
            return out


#: Buffers one ``writev`` takes at most (the OS's ``IOV_MAX``; POSIX guarantees 16, Linux and
#: macOS take 1,024).
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16


def _write_all(fd: int, parts: list[bytes | memoryview]) -> None:
    """Write ``parts`` end to end, in as few system calls as ``IOV_MAX`` allows (one for a
    request's appends), going on after a short write. Without ``writev`` (Windows), joined
    into one buffer."""
    if not hasattr(os, "writev"):
        parts = [b"".join(parts)]
    while parts:
        if len(parts) == 1:
            n = os.write(fd, parts[0])
        else:
            n = os.writev(fd, parts[:_IOV_MAX])
        i = 0
        while i < len(parts) and n >= len(parts[i]):
            n -= len(parts[i])
            i += 1
        parts = parts[i:]
        if n:
            parts[0] = memoryview(parts[0])[n:]


class WalWriter:
    """Appends records to one log file. Not thread-safe; one writer per file.

    Opening an existing log first cuts off a torn tail, so new records follow the last good one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size >= HEADER_SIZE:
            end = repair_tail(self.path)
        else:  # new, or a torn header (checked to be a prefix of it by read)
            if self.path.exists() and not MAGIC.startswith(self.path.read_bytes()):
                raise WalFormatError(f"{self.path} is not a trackd write-ahead log")
            with open(self.path, "wb") as f:
                # Written at once (readers can open an empty log) but not fsynced: the first
                # group fsync covers it, and a header torn by a power loss reads as empty.
                f.write(MAGIC)
            end = HEADER_SIZE
        self._file = open(self.path, "r+b", buffering=0)  # noqa: SIM115 - owned by the writer
        self._file.seek(end)
        self.size = end

    def append(self, payload: bytes) -> None:
        """Write one record; when this returns the bytes are in the OS (they survive a crash of
        this process, not of the machine: call :meth:`sync` for that).

        :raises OSError: the write failed (a full disk, say); the log is left as it was.
        """
        self.append_many([payload])

    def append_many(self, payloads: list[bytes]) -> None:
        """Write several records, with one system call as a rule (all or, on an error, none of
        them). The payloads go to the OS as they are, framed by ``writev``: joined into one
        buffer first, a request's megabyte was copied three times over, and the daemon's peak
        memory held the copies."""
        parts: list[bytes | memoryview] = []
        size = self.size
        for p in payloads:
            pieces = frame_parts(p, size)
            parts += pieces
            size += sum(map(len, pieces))
        try:
            _write_all(self._file.fileno(), parts)
        except OSError:
            self._cut_back()
            raise
        self.size = size

    def _cut_back(self) -> None:
        """Remove a partly written append, so later records follow the last good one."""
        try:
            self._file.truncate(self.size)
            self._file.seek(self.size)
        except OSError:
            pass

    def sync(self) -> None:
        """fsync the file: what was appended survives a power loss."""
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._file.closed:
            self._file.close()


def read_records(
    path: str | os.PathLike[str], on_skip: Callable[[int, int], None] | None = None
) -> Iterator[bytes]:
    """Yield each intact record's payload in order (see the module doc for damaged logs).

    ``on_skip(offset, length)`` is called for every damaged stretch skipped in the middle of
    the log (a torn tail is not reported: it is where a crash cut the last write).
    """
    for payload, _end in _scan(Path(path), on_skip):
        yield payload


def repair_tail(path: Path) -> int:
    """Truncate a torn tail; return the offset just after the last intact record."""
    end = HEADER_SIZE
    for _payload, end in _scan(path):
        pass
    if path.stat().st_size != end:
        with open(path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    return end


def _scan(
    path: Path, on_skip: Callable[[int, int], None] | None = None
) -> Iterator[tuple[bytes, int]]:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER_SIZE or data[:HEADER_SIZE] != MAGIC:
        if MAGIC.startswith(data):
            return  # empty, or a header cut short by a crash: no records yet
        raise WalFormatError(f"{path} is not a trackd write-ahead log")
    pos = HEADER_SIZE
    parts: list[bytes] = []
    n = len(data)
    while pos < n:
        block_left = BLOCK_SIZE - ((pos - HEADER_SIZE) % BLOCK_SIZE)
        if block_left < CHUNK_HEADER:
            pos += block_left
            continue
        if pos + CHUNK_HEADER > n:
            return
        crc, length, kind = _HDR.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:
            pos += block_left  # zero padding: skip to the next block
            parts = []
            continue
        start = pos + CHUNK_HEADER
        piece = data[start : start + length]
        if (
            length > block_left - CHUNK_HEADER
            or len(piece) != length
            or kind not in _TYPE_BYTES
            or zlib.crc32(piece, zlib.crc32(_TYPE_BYTES[kind])) != crc
        ):
            if pos + block_left >= n and (start + length >= n or len(piece) != length):
                return  # torn tail (the file ends in this block; else it is corruption)
            if on_skip is not None:
                on_skip(pos, block_left)
            pos += block_left  # corrupt chunk: resync at the next block
            parts = []
            continue
        pos = start + length
        if kind == FULL:
            parts = []
            yield piece, pos
        elif kind == FIRST:
            parts = [piece]
        elif kind == MIDDLE:
            if parts:
                parts.append(piece)
        else:  # LAST
            if parts:
                parts.append(piece)
                yield b"".join(parts), pos
            parts = []
