"""Getting written bytes to the disk: per file (``fsync``), or for many files at once.

Making each of a thousand new files durable with its own ``fsync`` costs a journal commit per
file (seconds for a directory of small files). Linux's ``syncfs(2)`` flushes every dirty page
and the journal of one file system in one call, so a batch of files costs about what writing
their bytes to the disk costs. Python's ``os`` module has no ``syncfs``; it is called through
the C library here. Where it is missing (not Linux) :func:`sync_filesystem` says so and callers
fall back to an ``fsync`` per file.

``syncfs`` reports write-back errors (EIO, ENOSPC) since Linux 5.8; an older kernel may not.

Writers start the writeback of each file as they finish it
(:func:`trackd._shared.writeback.start_writeback`), so that a flush finds little left to write.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from trackd._shared.writeback import libc_function

_syncfs = libc_function("syncfs", [ctypes.c_int])


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
