"""Getting written bytes to the disk: per file (``fsync``), or for many files at once.

Making each of a thousand new files durable with its own ``fsync`` costs a journal commit per
file (seconds for a directory of small files). Linux's ``syncfs(2)`` flushes every dirty page
and the journal of one file system in one call, so a batch of files costs about what writing
their bytes to the disk costs. Python's ``os`` module has no ``syncfs``; it is called through
the C library here. Where it is missing (not Linux) :func:`sync_filesystem` says so and callers
fall back to an ``fsync`` per file.

``syncfs`` reports write-back errors (EIO, ENOSPC) since Linux 5.8; an older kernel may not.

:func:`start_writeback` asks the kernel to begin writing a file's dirty pages now, without
waiting (``sync_file_range(SYNC_FILE_RANGE_WRITE)``): the disk then works while the CPU hashes
the next files, and the flush at the end of a batch finds little left to write.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

#: ``sync_file_range`` flag: start writing dirty pages of the range, do not wait.
SYNC_FILE_RANGE_WRITE = 2


def _libc_function(name: str, argtypes: list[type]) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_syncfs = _libc_function("syncfs", [ctypes.c_int])
_sync_file_range = _libc_function(
    "sync_file_range", [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint])


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> bool:
    """Flush the whole file system holding ``path`` (data, metadata and journal) and wait
    for it. Returns ``False``, having done nothing, where ``syncfs`` is not available: the
    caller must then ``fsync`` what it wrote itself.

    :raises OSError: the flush failed (a write-back error).
    """
    if _syncfs is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            if err in (38, 95):  # ENOSYS, EOPNOTSUPP: as if missing
                return False
            raise OSError(err, f"syncfs({path}): {os.strerror(err)}")
    finally:
        os.close(fd)
    return True


def start_writeback(fd: int) -> None:
    """Start writing the file's dirty pages to the disk, without waiting (a hint: does
    nothing where unsupported, and failures are left to the flush that follows)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)
