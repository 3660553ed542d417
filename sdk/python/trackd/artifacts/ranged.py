"""Multipart downloads: one large file fetched as several byte ranges at once.

A source (the daemon's ``ReadArtifactFile``, an S3, GCS or Azure object, an HTTP URL that
takes ``Range``) gives a ``read_part(offset, length, out)`` that writes the bytes of one range
to ``out``; :func:`download` sizes the destination file, runs the parts in a bounded pool,
each writing at its own offset, and checks that every part got exactly its length. The file it
writes is the caller's temporary file: the callers verify the whole (MD5 against the manifest,
or the object's version and size) before it is moved into the cache or under the root, and
delete it on any failure, so an interrupted part never leaves a corrupt file behind.

When: ``multipart=True`` splits any file larger than one part; ``None`` (the default) splits
files of :data:`AUTO_THRESHOLD` bytes or more, as W&B does; ``False`` never splits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

#: Files at least this large are split when ``multipart`` is None: W&B's threshold (2 GiB,
#: the size from which its uploads are multipart too).
AUTO_THRESHOLD = 2 << 30
#: Bytes per part: W&B's part size (100 MiB, the size of its upload parts). Large enough that
#: a request's set-up cost is small next to its transfer; small enough that 2 GiB is 21 parts.
PART_SIZE = 100 << 20
#: Parts in flight in this process, over all files being downloaded at once. Eight streams
#: fill a fast link or a local daemon's read throughput (see the benchmark in
#: ``tests/benchmarks/bench_multipart_download.py``) while bounding open connections and
#: the buffered bytes (each part writes as it reads, one chunk at a time).
PARTS_IN_FLIGHT = 8
#: Bytes per write while a part streams in.
WRITE_CHUNK = 1 << 20

_slots = threading.BoundedSemaphore(PARTS_IN_FLIGHT)


class PartWriter:
    """A file-like ``write`` target for one part: writes at its own offset of ``fd`` (with
    ``pwrite``, so parts never share a file position) and counts what it got."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self._fd = fd
        self._pos = offset
        self._end = offset + length
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        if self._pos + len(view) > self._end:
            raise OSError(f"a part got more bytes than its range ({self._end - self._pos} "
                          f"left, {len(view)} sent)")
        done = 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], self._pos + done)
        self._pos += done
        self.written += done
        return done

    def flush(self) -> None:  # file-like, for libraries that flush their target
        pass


#: Writes the ``length`` bytes at ``offset`` of the source into the writer.
ReadPart = Callable[[int, int, PartWriter], None]


def wanted(multipart: bool | None, size: int | None) -> bool:
    """Whether a file of ``size`` bytes is fetched in parts."""
    if size is None or size <= PART_SIZE or multipart is False:
        return False
    return multipart is True or size >= AUTO_THRESHOLD


def parts(size: int, part_size: int | None = None) -> list[tuple[int, int]]:
    """``(offset, length)`` of each part of a ``size``-byte file (parts of ``PART_SIZE``)."""
    part_size = part_size or PART_SIZE
    return [(off, min(part_size, size - off)) for off in range(0, size, part_size)]


def download(dest: str, size: int, read_part: ReadPart, part_size: int | None = None) -> None:
    """Write the ``size`` bytes of a source to the new file ``dest``, in parts at once.

    :raises OSError: a part came back short or long (the source changed or broke off), or
        writing failed. ``dest`` is left for the caller to delete.
    Whatever ``read_part`` raises is raised as well, after the other parts stop.
    """
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.ftruncate(fd, size)
        failed = threading.Event()

        def one(offset: int, length: int) -> None:
            with _slots:
                if failed.is_set():  # another part failed: do not start this one
                    return
                out = PartWriter(fd, offset, length)
                try:
                    read_part(offset, length, out)
                    if out.written != length:
                        raise OSError(f"the part at byte {offset} got {out.written} of its "
                                      f"{length} bytes")
                except BaseException:
                    failed.set()
                    raise

        ranges = parts(size, part_size)
        # A pool per file: parts of one file never wait behind another file's parts for a
        # thread, while ``_slots`` bounds the parts running over all files.
        with ThreadPoolExecutor(min(PARTS_IN_FLIGHT, len(ranges)),
                                thread_name_prefix="trackd-part") as ex:
            futures = [ex.submit(one, off, n) for off, n in ranges]
            errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
    finally:
        os.close(fd)
