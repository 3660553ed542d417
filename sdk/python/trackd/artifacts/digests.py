"""File digests as W&B writes them (base64 of the raw MD5), copy-and-hash in one pass, and a
checksum cache so that unchanged files are never hashed twice.

MD5 here is a content id (the manifest format fixes it), not a security measure. ``hashlib``
releases the GIL while hashing, so the thread pools below use every core.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trackd._shared.writeback import start_writeback
from trackd.artifacts import dirs

if TYPE_CHECKING:
    from trackd.artifacts.manifest import ArtifactManifestEntry

#: Bytes read per system call when hashing or copying: large enough that per-call overhead
#: vanishes, small enough that a pool of workers stays a few MiB of memory.
CHUNK = 1 << 20


def hash_workers() -> int:
    """Threads for hashing: one per core (MD5 is CPU-bound and releases the GIL)."""
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)


def b64_md5(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64_to_hex(digest: str) -> str:
    """``sZRqySSS0jR8YjW00mERhA==`` → ``b1946ac92492d2347c6235b4d2611184``."""
    return base64.b64decode(digest).hex()


def hex_to_b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii")


def md5_bytes_b64(data: bytes) -> str:
    return b64_md5(hashlib.md5(data).digest())


_local = threading.local()


def _buffer() -> bytearray:
    """This thread's read buffer: allocated once per thread (a fresh 1 MiB buffer per file is
    memory mapped and unmapped each time, which costs more system time than reading)."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


def md5_file_b64(path: str | os.PathLike[str]) -> str:
    """The base64 MD5 of a file's content, read in chunks (never the whole file at once)."""
    h = hashlib.md5()
    buf = _buffer()
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return b64_md5(h.digest())


def copy_and_hash(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> tuple[str, int]:
    """Copy ``src`` to a new file ``dst`` and hash what was copied, reading ``src`` once.

    Returns ``(base64 md5, size)`` of the bytes written: the copy is what the digest
    describes, even if ``src`` changes meanwhile. The disk starts writing the copy at once:
    the daemon makes it durable when it stores it, and then finds little left to write.
    """
    h = hashlib.md5()
    buf = _buffer()
    view = memoryview(buf)
    size = 0
    with open(src, "rb", buffering=0) as f, open(dst, "xb", buffering=0) as out:
        while n := f.readinto(buf):
            chunk = view[:n]
            h.update(chunk)
            out.write(chunk)
            size += n
        start_writeback(out.fileno())
    return b64_md5(h.digest()), size


@dataclass(frozen=True)
class FileStat:
    """What identifies an unchanged file: same place, same inode, size and timestamps."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class ChecksumCache:
    """Digests of local files keyed by absolute path, valid while the file's size, mtime,
    ctime, inode and device are unchanged (as git's index does). Shared by every process of
    the user through a small SQLite file; a broken or locked file only costs re-hashing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False,
                                 isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS sums (path TEXT PRIMARY KEY, size INTEGER, "
                       "mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER, dev INTEGER, "
                       "digest TEXT)")
        except sqlite3.Error:
            return None
        self._db, self._pid = db, os.getpid()
        return db

    def lookup(self, items: Sequence[tuple[str, FileStat]]) -> dict[str, str]:
        """``{path: digest}`` for the paths whose recorded stat equals the given one."""
        out: dict[str, str] = {}
        with self._lock:
            db = self._conn()
            if db is None:
                return out
            want = dict(items)
            paths = list(want)
            try:
                for i in range(0, len(paths), 500):  # SQLite's bound on host parameters
                    chunk = paths[i:i + 500]
                    rows = db.execute(
                        "SELECT path, size, mtime_ns, ctime_ns, ino, dev, digest FROM sums "
                        f"WHERE path IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                    for path, *stat, digest in rows:
                        if FileStat(*stat) == want[path]:
                            out[path] = digest
            except sqlite3.Error:
                return {}
        return out

    def store(self, items: Iterable[tuple[str, FileStat, str]]) -> None:
        rows = [(p, s.size, s.mtime_ns, s.ctime_ns, s.ino, s.dev, d) for p, s, d in items]
        if not rows:
            return
        with self._lock:
            db = self._conn()
            if db is None:
                return
            try:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO sums VALUES (?,?,?,?,?,?,?)", rows)
                db.execute("COMMIT")
            except sqlite3.Error:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def prune(self) -> int:
        """Forget files that are gone or changed since; returns how many."""
        with self._lock:
            db = self._conn()
            if db is None:
                return 0
            try:
                rows = db.execute("SELECT path, size, mtime_ns, ctime_ns, ino, dev FROM sums").fetchall()
                stale = []
                for path, *stat in rows:
                    try:
                        if FileStat.of(os.stat(path)) != FileStat(*stat):
                            stale.append((path,))
                    except OSError:
                        stale.append((path,))
                db.execute("BEGIN")
                db.executemany("DELETE FROM sums WHERE path = ?", stale)
                db.execute("COMMIT")
            except sqlite3.Error:
                return 0
        return len(stale)


_pool: ThreadPoolExecutor | None = None
_pool_pid = -1
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """This process's hashing/copying pool (a new one after fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(hash_workers(), thread_name_prefix="trackd-hash")
            _pool_pid = os.getpid()
        return _pool


def parallel(fn: Callable[..., object], items: Iterable[tuple[object, ...]]) -> list[object]:
    """``[fn(*item) for item in items]`` on the pool, in order; the first error is raised."""
    futures = [pool().submit(fn, *item) for item in items]
    return [f.result() for f in futures]


#: The process's checksum cache (see :func:`checksums`).
_checksums: ChecksumCache | None = None


def checksums() -> ChecksumCache:
    """The checksum cache (``<cache_dir>/artifacts/checksums.db``)."""
    global _checksums
    path = dirs.cache_dir() / "checksums.db"
    if _checksums is None or _checksums.path != path:
        _checksums = ChecksumCache(path)
    return _checksums


def resolve_digests(entries: Sequence[ArtifactManifestEntry]) -> None:
    """Hash the local files of entries whose digest is not known yet (in parallel), and
    remember the digests of files that did not change since they were added."""
    pending = [e for e in entries if e._digest is None]
    if not pending:
        return
    for e in pending:
        if not e.local_path:
            raise ValueError(f"manifest entry {e.path!r} has neither a digest nor a local file")
    digests = parallel(md5_file_b64, [(e.local_path,) for e in pending])
    remember = []
    for e, d in zip(pending, digests, strict=True):
        e._digest = str(d)
        if e._source and e._source_stat is not None:
            if e._staged:
                remember.append((e._source, e._source_stat, e._digest))
            else:
                try:
                    now = FileStat.of(os.stat(e._source))
                except OSError:
                    continue
                if now == e._source_stat:
                    remember.append((e._source, now, e._digest))
    checksums().store(remember)
