"""Asking the kernel to start writing a file's dirty pages to the disk now, without waiting.

A new file's bytes sit in the page cache until the kernel's own writeback comes by (up to
half a minute later, or when memory runs short). Whoever makes those bytes durable later (the
daemon's flush of a batch of stored files) then waits for all of them at once. Starting the
writeback as each file is written (``sync_file_range(SYNC_FILE_RANGE_WRITE)``) keeps the disk
busy meanwhile, so the flush finds little left. Python's ``os`` module has no
``sync_file_range``; it is called through the C library (Linux only; elsewhere nothing is done).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

#: ``sync_file_range`` flag: start writing dirty pages of the range, do not wait.
SYNC_FILE_RANGE_WRITE = 2


def libc_function(name: str, argtypes: list[type]) -> Callable[..., int] | None:
    """A C library function returning int, or ``None`` where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_sync_file_range = libc_function(
    "sync_file_range", [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint])


def start_writeback(fd: int) -> None:
    """Start writing the file's dirty pages to the disk, without waiting (a hint: does
    nothing where unsupported; failures are left to whoever flushes the file)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)
