"""The artifact download cache: files keyed by their content, with a size bound.

Layout (W&B's) under ``<cache_dir>/artifacts``::

    obj/md5/<hex[:2]>/<hex[2:]>      a file, keyed by the hex MD5 of its content
    obj/etag/<h[:2]>/<h[2:]>         a downloaded reference, h = sha256(sha256(uri) + sha256(etag))
    tmp/                             files being written (renamed into obj/ when complete)
    index.db                         size and last use of every object (SQLite, shared by processes)

The cache never grows past its bound (the ``artifact_cache_max_size`` setting; by default 10%
of the free disk): after each download the least recently used objects are deleted until the
total fits. ``trackd artifact cache cleanup [--max-size]`` does the same on demand and also
forgets objects deleted by hand and adopts ones the index lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from trackd._shared.processes import alive
from trackd.artifacts import dirs
from trackd.artifacts.digests import b64_to_hex

#: Default bound: this fraction of the space free on the cache's disk (plus what the cache
#: already holds), so that the cache gives way as the disk fills up.
DEFAULT_FRACTION = 0.10

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3,
          "gb": 1000**3, "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2,
          "gib": 1024**3, "tib": 1024**4}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*|%)\s*$")


def parse_size(text: str | int, free: int | None = None) -> int:
    """Bytes for ``"20GB"``, ``"500MiB"``, ``"1048576"`` or ``"10%"`` (of ``free``).

    :raises ValueError: anything else.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"cache size must not be negative, got {text}")
        return text
    m = _SIZE_RE.match(str(text))
    unit = m.group(2).lower() if m else None
    if m is None or (unit not in _UNITS and unit != "%"):
        raise ValueError(f"invalid cache size {text!r}: use bytes, a size like 20GB or 500MiB, "
                         "or a percentage of the free disk like 10%")
    number = float(m.group(1))
    if unit == "%":
        if number > 100:
            raise ValueError(f"invalid cache size {text!r}: a percentage is at most 100%")
        return int((free or 0) * number / 100)
    return int(number * _UNITS[unit])


class ArtifactFileCache:
    """One cache directory; safe to use from several threads and processes at once."""

    def __init__(self, root: Path, max_size: str | int | None = None) -> None:
        self.root = root
        self._max_size = max_size
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = -1

    # -- paths ---------------------------------------------------------------------------------

    def md5_path(self, b64digest: str) -> Path:
        hexdigest = b64_to_hex(b64digest)
        return self.root / "obj" / "md5" / hexdigest[:2] / hexdigest[2:]

    def ref_path(self, uri: str, etag: str) -> Path:
        h = hashlib.sha256(hashlib.sha256(uri.encode()).digest()
                           + hashlib.sha256(etag.encode()).digest()).hexdigest()
        return self.root / "obj" / "etag" / h[:2] / h[2:]

    def tmp_path(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{os.getpid()}-{secrets.token_hex(8)}"

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- index ---------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self.root.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.root / "index.db", timeout=10.0, check_same_thread=False,
                             isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, size INTEGER "
                   "NOT NULL, used REAL NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS objects_used ON objects (used)")
        self._db, self._pid = db, os.getpid()
        return db

    def _write(self, sql: str, rows: Iterable[tuple[object, ...]]) -> None:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(sql, rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def touch(self, paths: Iterable[Path]) -> None:
        """Mark objects as just used (they are evicted last)."""
        now = time.time()
        rows = []
        for p in paths:
            try:
                rows.append((self._key(p), p.stat().st_size, now))
            except OSError:
                continue
        if rows:
            self._write("INSERT INTO objects VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET "
                        "used=excluded.used, size=excluded.size", rows)

    def size(self) -> int:
        """Bytes the index says the cache holds."""
        with self._lock:
            return int(self._conn().execute("SELECT COALESCE(SUM(size), 0) FROM objects").fetchone()[0])

    # -- reading and writing ---------------------------------------------------------------------

    def lookup(self, path: Path) -> bool:
        """Whether the object is cached (and if so, mark it used)."""
        if path.is_file():
            self.touch([path])
            return True
        return False

    def insert(self, tmp: Path, path: Path) -> Path:
        """Move a complete file from ``tmp/`` to its place and record it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
        self.touch([path])
        return path

    # -- the bound -------------------------------------------------------------------------------

    def bound(self) -> int:
        """The size bound in bytes (see the module doc)."""
        setting = self._max_size if self._max_size is not None else dirs.settings().artifact_cache_max_size
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free + self.size()
        if setting is None or setting == "":
            return int(free * DEFAULT_FRACTION)
        return parse_size(setting, free)

    def evict(self, bound: int | None = None) -> int:
        """Delete least recently used objects until the cache fits ``bound`` (default: the
        configured bound); returns the bytes freed."""
        limit = self.bound() if bound is None else bound
        freed = 0
        with self._lock:
            db = self._conn()
            total = int(db.execute("SELECT COALESCE(SUM(size), 0) FROM objects").fetchone()[0])
            if total <= limit:
                return 0
            victims = []
            for key, size in db.execute("SELECT key, size FROM objects ORDER BY used"):
                if total <= limit:
                    break
                victims.append(key)
                total -= size
                freed += size
            for key in victims:
                try:
                    os.unlink(self.root / key)
                except FileNotFoundError:
                    pass
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM objects WHERE key = ?", [(k,) for k in victims])
            db.execute("COMMIT")
        return freed

    def cleanup(self, max_size: str | int | None = None) -> tuple[int, int]:
        """Reconcile the index with the files on disk, remove abandoned temporary files, then
        evict down to ``max_size`` (default: the configured bound). Returns ``(bytes freed,
        bytes left)``."""
        on_disk: dict[str, tuple[int, float]] = {}
        obj = self.root / "obj"
        for dirpath, _, files in os.walk(obj):
            for name in files:
                p = Path(dirpath) / name
                try:
                    st = p.stat()
                except OSError:
                    continue
                on_disk[self._key(p)] = (st.st_size, st.st_atime)
        freed = 0
        tmp = self.root / "tmp"
        if tmp.is_dir():
            for p in tmp.iterdir():
                try:
                    pid = int(p.name.split("-", 1)[0])
                except ValueError:
                    pid = -1
                if pid != os.getpid() and not alive(pid):
                    try:
                        freed += p.stat().st_size
                        p.unlink()
                    except OSError:
                        pass
        with self._lock:
            db = self._conn()
            indexed = {k: (s, u) for k, s, u in db.execute("SELECT key, size, used FROM objects")}
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM objects WHERE key = ?",
                           [(k,) for k in indexed if k not in on_disk])
            db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?)",
                           [(k, s, indexed.get(k, (0, a))[1]) for k, (s, a) in on_disk.items()])
            db.execute("COMMIT")
        if max_size is not None:
            free = shutil.disk_usage(self.root).free + self.size()
            limit = parse_size(max_size, free)
        else:
            limit = self.bound()
        freed += self.evict(limit)
        return freed, self.size()


_cache: ArtifactFileCache | None = None


def get_cache() -> ArtifactFileCache:
    """The cache for the current settings' ``cache_dir``."""
    global _cache
    root = dirs.cache_dir()
    if _cache is None or _cache.root != root:
        _cache = ArtifactFileCache(root)
    return _cache
