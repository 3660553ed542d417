"""Blobs on the local disk.

Layout under the root (``<data root>/blobs``)::

    sha256/ab/cdef...   a blob: named by its hex SHA-256, read-only (0400)
    tmp/<random>        writes in progress (a crash leaves them; clean_temp removes them)

A write goes to ``tmp/``, is hashed while written, fsynced, then renamed onto its key and the
key's directory fsynced: a blob is durable once the call that wrote it returns. Two
writers of the same bytes both succeed: the second rename replaces an identical file, or (when
the key exists already) the temp file is dropped and the blob is reported as not new.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from trackd_daemon.blobs.base import CHUNK_BYTES, BlobInfo, md5_b64

BLOB_MODE = 0o400


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Writer:
    """A streamed write into ``tmp/``; see :class:`LocalBlobStore`."""

    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self._tmp = store.tmp_dir / secrets.token_hex(16)
        self._fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5()  # W&B's digest (a content id), not a security hash
        self._size = 0
        self._open = True

    def write(self, chunk: bytes | memoryview) -> None:
        self._sha.update(chunk)
        self._md5.update(chunk)
        view = memoryview(chunk)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._size += len(chunk)

    def commit(self) -> BlobInfo:
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._open = False
        key = self._sha.hexdigest()
        final = self._store.path_of(key)
        with self._store.lock:
            try:
                os.utime(final)  # held again: the collector leaves blobs touched since it began
                new = False
            except FileNotFoundError:
                new = True
                self._store.make_dir(final.parent)
                os.chmod(self._tmp, BLOB_MODE)
                os.replace(self._tmp, final)
        if new:
            # The rename is durable once its directory is: concurrent writers' directory
            # fsyncs share the file system's journal commits.
            _fsync_dir(final.parent)
        else:
            self._tmp.unlink(missing_ok=True)
        return BlobInfo(key, md5_b64(self._md5.digest()), self._size, new)

    def abort(self) -> None:
        if self._open:
            os.close(self._fd)
            self._open = False
        self._tmp.unlink(missing_ok=True)


class LocalBlobStore:
    """:class:`~trackd_daemon.blobs.base.BlobStore` in a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self._objects = root / "sha256"
        #: Orders "blob exists, keep it" (a write of known bytes) against "delete it" (the
        #: collector): a blob rewritten after a collection began is never deleted by it.
        self.lock = threading.Lock()
        for d in (self.root, self.tmp_dir, self._objects):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path_of(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key (hex SHA-256): {key!r}")
        return self._objects / key[:2] / key[2:]

    def ingest(self, src: Path, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        w = _Writer(self)
        buf = bytearray(CHUNK_BYTES)
        view = memoryview(buf)
        try:
            with open(src, "rb", buffering=0) as f:
                while n := f.readinto(buf):  # type: ignore[attr-defined]
                    w.write(view[:n])
                    if on_bytes is not None:
                        on_bytes(n)
            return w.commit()
        except BaseException:
            w.abort()
            raise

    def writer(self) -> _Writer:
        return _Writer(self)

    def make_dir(self, directory: Path) -> None:
        """Create a fan-out directory (``sha256/ab``) durably (called under ``lock``)."""
        if not directory.exists():
            directory.mkdir(mode=0o700)
            _fsync_dir(directory.parent)

    def exists(self, key: str) -> bool:
        return self.path_of(key).exists()

    def open(self, key: str) -> BinaryIO:
        return open(self.path_of(key), "rb")  # the caller closes it

    def local_path(self, key: str) -> Path | None:
        return self.path_of(key)

    def delete(self, key: str, untouched_since: float | None = None) -> int:
        path = self.path_of(key)
        with self.lock:
            try:
                st = path.stat()
                if untouched_since is not None and st.st_mtime >= untouched_since:
                    return 0
                path.unlink()
            except FileNotFoundError:
                return 0
        return st.st_size

    def scan(self) -> Iterator[tuple[str, int, float]]:
        for sub in sorted(self._objects.iterdir()):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                st = entry.stat()
                yield sub.name + entry.name, st.st_size, st.st_mtime

    def clean_temp(self, older_than_seconds: float = 0.0) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in os.scandir(self.tmp_dir):
            try:
                if entry.stat().st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed
