"""Blobs on the local disk.

Layout under the root (``<data root>/blobs``)::

    blake3/ab/cdef...   a blob: named by its key, the hex BLAKE3 of its bytes, read-only
                        (0400); the 256 fan-out directories are made with the store
    sha256/ab/cdef...   the same, in a store made before BLAKE3 keys: its keys stay SHA-256
                        (one of the two directories exists; see ``keys.py``)
    tmp/<random>        writes in progress (a crash leaves them; clean_temp removes them)

One blob (``ingest``, a writer's ``commit``): written to ``tmp/`` (``ingest``: copied there as
``prepare`` copies, from a path or an open descriptor) and hashed, fsynced, then renamed onto
its key and the key's directory fsynced: durable once the call returns.

Many blobs (``prepare`` each, then ``publish`` them together): each is copied to ``tmp/``
inside the kernel (``copy_file_range``), the kernel is asked to start writing the copy to the
disk at once (no fsync), and the copy is hashed while that goes on (what is hashed is what is
stored; where the kernel cannot copy, the file is copied and hashed in one pass in user
space). ``publish`` flushes the file system once (``syncfs``), renames every file onto its
key, and flushes again so that the renames are durable too. A file is under its key only once
its bytes are durable, so a file found under a key is always whole, even after a power loss.
A staged file handed over with ``take`` is hard-linked into ``tmp/`` instead of copied, then
hashed (for its key only, when the caller gave the MD5 it computed while writing the copy) and
published the same way. Where ``syncfs`` is missing, ``publish`` fsyncs each file
and each directory it renamed into.

Two writers of the same bytes both succeed: the second rename replaces an identical file, or
(when the key exists already) the temp file is dropped and the blob is reported as not new.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import mmap
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from trackd._shared.writeback import start_writeback
from trackd_daemon.blobs.base import CHUNK_BYTES, BlobInfo, PendingBlob, md5_b64
from trackd_daemon.blobs.flush import fsync_dir, sync_filesystem
from trackd_daemon.blobs.keys import DEFAULT_KEY_HASH, KEY_HASHES, Hasher, is_key

BLOB_MODE = 0o400
#: In a store shared by several daemons, a file in ``tmp/`` is taken for a leftover only once
#: it is this old (a write in progress on another machine is younger: its copy is written,
#: hashed and published within minutes).
SHARED_TEMP_SECONDS = 6 * 3600.0

_local = threading.local()


def _buffer() -> mmap.mmap:
    """This thread's copy buffer. Allocated once per thread: a fresh 1 MiB buffer per file is
    memory the allocator maps and unmaps each time, which cost more system time than the copy
    itself. An anonymous mapping, whose pages take memory once written: a thread that copied
    only small files (a run's metadata, its requirements) holds what they needed, where a
    ``bytearray`` is zeroed whole (1 MiB of each worker thread that ever copied a file)."""
    buf: mmap.mmap | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = mmap.mmap(-1, CHUNK_BYTES)
    return buf


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        n = os.write(fd, chunk)
        chunk = chunk[n:]


def _open_source(src: Path | int) -> BinaryIO:
    """``src`` for reading from its start: a path opened here, or a descriptor (read from
    offset 0, left open when the file object closes)."""
    if isinstance(src, int):
        os.lseek(src, 0, os.SEEK_SET)
        return open(src, "rb", buffering=0, closefd=False)  # noqa: SIM115 - the caller closes
    return open(src, "rb", buffering=0)  # noqa: SIM115 - the caller closes


def _copy_hashing(src: Path | int, dst: Path, key: Hasher,
                  on_bytes: Callable[[int], None] | None) -> tuple[str, str, int]:
    """Copy ``src`` to the new file ``dst``, hashing in the same pass: (key, md5 b64, size),
    ``key`` being the store's new key hash. The disk starts writing the copy before this
    returns."""
    md5 = hashlib.md5()  # W&B's digest (a content id)
    buf = _buffer()
    view = memoryview(buf)
    size = 0
    with _open_source(src) as f:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while n := f.readinto(buf):  # type: ignore[attr-defined]
                chunk = view[:n]
                key.update(chunk)
                md5.update(chunk)
                _write_all(fd, chunk)
                size += n
                if on_bytes is not None:
                    on_bytes(n)
            start_writeback(fd)
        finally:
            os.close(fd)
    return key.hexdigest(), md5_b64(md5.digest()), size


#: Devices of sources copy_file_range refused to copy from (another file system type): their
#: files are copied in user space from then on. Only ever grows (set.add is atomic).
_no_kernel_copy: set[int] = set()


def _kernel_copy(src: Path | int, dst: Path) -> bool:
    """Copy ``src`` to the new file ``dst`` inside the kernel (``copy_file_range``: no trip
    through a user-space buffer; a shared extent where the file system has them). ``False``,
    leaving no ``dst``, where that is not possible (not Linux, another file system type): the
    caller then copies and hashes in user space."""
    if not hasattr(os, "copy_file_range"):
        return False
    with _open_source(src) as f:
        st = os.fstat(f.fileno())
        if st.st_dev in _no_kernel_copy:
            return False
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            copied = 0
            # To the end, even if the file grew meanwhile (the caller's stat check sees it).
            while n := os.copy_file_range(f.fileno(), fd, max(st.st_size - copied, CHUNK_BYTES)):
                copied += n
        except OSError as exc:
            os.close(fd)
            dst.unlink(missing_ok=True)
            if copied or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP,
                                           errno.EINVAL):
                raise
            _no_kernel_copy.add(st.st_dev)
            return False
        os.close(fd)
    return True


def _hash_file(path: Path, key: Hasher, on_bytes: Callable[[int], None] | None,
               known_md5: str = "") -> tuple[str, str, int]:
    """Hash a file that is to be kept as it is (a taken-over file): (key, md5 b64, size),
    ``key`` being the store's new key hash; with ``known_md5`` given, only the key is
    computed. The disk starts writing whatever of it is not on the disk yet first."""
    md5 = None if known_md5 else hashlib.md5()
    buf = _buffer()
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        start_writeback(f.fileno())
        while n := f.readinto(buf):  # type: ignore[attr-defined]
            chunk = view[:n]
            key.update(chunk)
            if md5 is not None:
                md5.update(chunk)
            size += n
            if on_bytes is not None:
                on_bytes(n)
    return key.hexdigest(), known_md5 if md5 is None else md5_b64(md5.digest()), size


def _private(src: Path) -> bool:
    """Whether ``src`` is a regular file of the daemon's own user with no other name (so
    nobody else can change it, and it is nobody's original)."""
    try:
        st = os.lstat(src)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()


def _link_private(src: Path, dst: Path) -> bool:
    """Hard-link ``src`` to ``dst`` when it is :func:`_private`; ``False`` (nothing done) when
    it is not, or when it cannot be linked (another file system)."""
    if not _private(src):
        return False
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:  # EXDEV, EPERM (protected_hardlinks), EMLINK, ...: copy it instead
        return False
    return True


def copy_in(src: Path | int, tmp: Path, key_hash: Hasher,
            on_bytes: Callable[[int], None] | None = None, take: bool = False,
            md5: str = "") -> PendingBlob:
    """Put the bytes of ``src`` in the new file ``tmp`` and hash them (``key_hash``: the
    store's key hash, new), as :meth:`LocalBlobStore.prepare` describes: ``src`` taken over
    (hard-linked) where ``take`` asks and it is private, else copied (inside the kernel where
    it can, hashing the copy; else copied and hashed in one pass). What is hashed is what
    ``tmp`` holds. The pending blob's token is ``tmp``'s name; nothing is left on failure."""
    taken = take and isinstance(src, Path) and _link_private(src, tmp)
    try:
        if taken:  # the caller's MD5 of its own copy is trusted; the key is computed here
            key, md5, size = _hash_file(tmp, key_hash, on_bytes, md5)
        elif _kernel_copy(src, tmp):
            # Hashing what the store holds (the copy): one read.
            key, md5, size = _hash_file(tmp, key_hash, on_bytes)
        else:
            key, md5, size = _copy_hashing(src, tmp, key_hash, on_bytes)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PendingBlob(key, md5, size, tmp.name, taken)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
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
        self._key = store.new_key_hash()
        self._md5 = hashlib.md5()  # W&B's digest (a content id), not a security hash
        self._size = 0
        self._open = True

    def write(self, chunk: bytes | memoryview) -> None:
        self._key.update(chunk)
        self._md5.update(chunk)
        _write_all(self._fd, memoryview(chunk))
        self._size += len(chunk)

    def commit(self) -> BlobInfo:
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._open = False
        key = self._key.hexdigest()
        return BlobInfo(key, md5_b64(self._md5.digest()), self._size,
                        self._store.place_durably(self._tmp, key))

    def abort(self) -> None:
        if self._open:
            os.close(self._fd)
            self._open = False
        self._tmp.unlink(missing_ok=True)


class LocalBlobStore:
    """:class:`~trackd_daemon.blobs.base.BlobStore` in a directory."""

    def __init__(self, root: Path, shared: bool = False) -> None:
        self.root = root
        #: Other daemons (machines) write to the same directory (a shared file system, NFS):
        #: their writes in progress in ``tmp/`` are not this daemon's to remove early.
        self.shared = shared
        self.tmp_dir = root / "tmp"
        #: A store made before BLAKE3 keys has a sha256/ directory and keeps SHA-256 keys.
        self.key_hash = "sha256" if (root / "sha256").is_dir() else DEFAULT_KEY_HASH
        self.new_key_hash = KEY_HASHES[self.key_hash]
        self._objects = root / self.key_hash
        #: Orders "blob exists, keep it" (a write of known bytes) against "delete it" (the
        #: collector): a blob rewritten after a collection began is never deleted by it.
        self.lock = threading.Lock()
        #: Names of prepared files in tmp/: unique to this store object (a random prefix) and
        #: cheaper than a random name each.
        self._prefix = secrets.token_hex(8)
        self._names = itertools.count()
        for d in (self.root, self.tmp_dir, self._objects):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        fan_out = [f"{i:02x}" for i in range(256)]
        if not set(fan_out) <= set(os.listdir(self._objects)):
            # Made once, so that storing many blobs never waits for a directory's creation.
            for name in fan_out:
                (self._objects / name).mkdir(mode=0o700, exist_ok=True)
            fsync_dir(self._objects)

    def path_of(self, key: str) -> Path:
        if not is_key(key):
            raise ValueError(f"not a blob key (64 lowercase hex digits): {key!r}")
        return self._objects / key[:2] / key[2:]

    def ingest(self, src: Path | int, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        pending = self.prepare(src, on_bytes)
        tmp = self.tmp_dir / pending.token
        try:
            _fsync_file(tmp)  # one file: its own flush, not the whole file system's
            new = self.place_durably(tmp, pending.key)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return BlobInfo(pending.key, pending.md5, pending.size, new)

    def place_durably(self, tmp: Path, key: str) -> bool:
        """Put the flushed file ``tmp`` under ``key`` (dropped when the key is there already),
        durably once this returns; whether the blob is new."""
        with self.lock:
            new = self._place(tmp, key)
        if not new:
            tmp.unlink(missing_ok=True)
        # The rename is durable once its directory is (also when another writer renamed it
        # and has not flushed yet); concurrent writers' fsyncs share journal commits.
        fsync_dir(self.path_of(key).parent)
        return new

    def _place(self, tmp: Path, key: str, taken: bool = False) -> bool:
        """Rename ``tmp`` onto ``key`` unless the key is there (then it is touched: held
        again, the collector leaves blobs touched since it began); whether it was renamed.
        Called under ``lock``."""
        final = self.path_of(key)
        try:
            os.utime(final)
            return False
        except FileNotFoundError:
            self.make_dir(final.parent)
            if taken:
                os.utime(tmp)  # the collector's grace counts from now, not from the copy
            os.chmod(tmp, BLOB_MODE)
            os.replace(tmp, final)
            return True

    def prepare(self, src: Path | int, on_bytes: Callable[[int], None] | None = None,
                take: bool = False, md5: str = "") -> PendingBlob:
        tmp = self.tmp_dir / f"{self._prefix}-{next(self._names)}"
        return copy_in(src, tmp, self.new_key_hash(), on_bytes, take, md5)

    def can_take(self, src: Path) -> bool:
        return _private(src)

    def publish(self, pending: Sequence[PendingBlob]) -> list[BlobInfo]:
        if not pending:
            return []
        tmps = [self.tmp_dir / p.token for p in pending]
        if not sync_filesystem(self.root):
            for tmp in tmps:
                _fsync_file(tmp)
        infos: list[BlobInfo] = []
        dirs: set[Path] = set()
        with self.lock:
            for p, tmp in zip(pending, tmps, strict=True):
                new = self._place(tmp, p.key, p.taken)
                dirs.add(self.path_of(p.key).parent)
                infos.append(BlobInfo(p.key, p.md5, p.size, new))
        for tmp, info in zip(tmps, infos, strict=True):
            if not info.new:
                tmp.unlink(missing_ok=True)
        # The renames (and renames of the same keys by other writers not flushed yet).
        if not sync_filesystem(self.root):
            for d in dirs:
                fsync_dir(d)
        return infos

    def discard(self, pending: Sequence[PendingBlob]) -> None:
        for p in pending:
            (self.tmp_dir / p.token).unlink(missing_ok=True)

    def writer(self) -> _Writer:
        return _Writer(self)

    def make_dir(self, directory: Path) -> None:
        """Create a fan-out directory (``blake3/ab``) durably, should it be missing (called
        under ``lock``)."""
        if not directory.exists():
            directory.mkdir(mode=0o700)
            fsync_dir(directory.parent)

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
        """Remove files in ``tmp/`` untouched for ``older_than_seconds``; in a shared store,
        for ``SHARED_TEMP_SECONDS`` at least, as they may be another daemon's writes."""
        if self.shared:
            older_than_seconds = max(older_than_seconds, SHARED_TEMP_SECONDS)
        cutoff = time.time() - older_than_seconds
        removed = 0
        for entry in os.scandir(self.tmp_dir):
            try:
                st = entry.stat()
                # ctime too: a file just linked in (taken over) keeps its old mtime.
                if max(st.st_mtime, st.st_ctime) <= cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def close(self) -> None:
        """Nothing to release: every call ends its own work (the protocol's ``close``)."""
