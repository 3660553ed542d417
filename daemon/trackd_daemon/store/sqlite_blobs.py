"""SQLite artifact store, part 3: blob records, the file-stamp digest cache, and what the
garbage collector asks (a mixin of :class:`~trackd_daemon.store.sqlite.SqliteStore`).

A blob is referenced while an entry of a version that is not DELETED names it (pending versions
included, so bytes being stored are never collected), or a version of a run file does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from trackd_daemon.store.artifact_models import (
    COMMITTED,
    PENDING,
    BlobRecord,
    FileStamp,
    VersionInfo,
)
from trackd_daemon.store.sqlite_artifact_rows import load_version

#: SQLite's host-parameter limit is 32766 in current builds; stay well below for older ones.
_IN_CHUNK = 500


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteBlobs:
    """Blob records and garbage-collection queries (mixed into ``SqliteStore``)."""

    _write: Any
    _read: Any

    async def put_blob(self, blob: BlobRecord, uploader_uid: int | None = None) -> None:
        def put(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("INSERT OR IGNORE INTO blobs(blob_key, md5, size, created_at)"
                         " VALUES (?, ?, ?, ?)", (blob.key, blob.md5, blob.size, now))
            if uploader_uid is not None:
                conn.execute("INSERT OR REPLACE INTO blob_uploads(blob_key, uid, created_at)"
                             " VALUES (?, ?, ?)", (blob.key, uploader_uid, now))

        await self._write(put)

    async def get_blob(self, key: str) -> BlobRecord | None:
        row = await self._read(lambda c: c.execute(
            "SELECT blob_key, md5, size FROM blobs WHERE blob_key = ?", (key,)).fetchone())
        return None if row is None else BlobRecord(*row)

    async def get_blobs(self, keys: Sequence[str]) -> dict[str, BlobRecord]:
        def read(conn: sqlite3.Connection) -> dict[str, BlobRecord]:
            out: dict[str, BlobRecord] = {}
            for chunk in _chunks(sorted(set(keys))):
                out.update((r[0], BlobRecord(*r)) for r in conn.execute(
                    "SELECT blob_key, md5, size FROM blobs"
                    f" WHERE blob_key IN ({_marks(len(chunk))})",
                    chunk))
            return out

        return await self._read(read)  # type: ignore[no-any-return]

    async def find_blobs(self, wanted: Sequence[tuple[str, int]], uploaders: Sequence[int] = (),
                         ) -> dict[tuple[str, int], BlobRecord]:
        pairs = set(wanted)
        only = f" AND blob_key IN (SELECT blob_key FROM blob_uploads WHERE uid IN" \
               f" ({_marks(len(uploaders))}))" if uploaders else ""

        def read(conn: sqlite3.Connection) -> dict[tuple[str, int], BlobRecord]:
            out: dict[tuple[str, int], BlobRecord] = {}
            for chunk in _chunks(sorted({md5 for md5, _ in pairs})):
                for r in conn.execute("SELECT blob_key, md5, size FROM blobs WHERE md5 IN"
                                      f" ({_marks(len(chunk))}){only}", (*chunk, *uploaders)):
                    if (r[1], r[2]) in pairs:
                        out.setdefault((r[1], r[2]), BlobRecord(*r))
            return out

        return await self._read(read)  # type: ignore[no-any-return]

    async def blob_uploaded_by(self, key: str, uid: int) -> bool:
        row = await self._read(lambda c: c.execute(
            "SELECT 1 FROM blob_uploads WHERE blob_key = ? AND uid = ?", (key, uid)).fetchone())
        return row is not None

    async def versions_holding(self, key: str, limit: int = 50) -> list[VersionInfo]:
        def read(conn: sqlite3.Connection) -> list[VersionInfo]:
            ids = conn.execute(
                "SELECT DISTINCT e.version_id FROM artifact_entries e JOIN artifact_versions v"
                " ON v.id = e.version_id WHERE e.blob_key = ? AND v.state = ? LIMIT ?",
                (key, COMMITTED, limit)).fetchall()
            found = (load_version(conn, vid) for (vid,) in ids)
            return [v for v in found if v is not None]

        return await self._read(read)  # type: ignore[no-any-return]

    async def file_digests(self, stamps: Sequence[FileStamp]) -> dict[str, BlobRecord]:
        by_path = {s.path: s for s in stamps}

        def read(conn: sqlite3.Connection) -> dict[str, BlobRecord]:
            out: dict[str, BlobRecord] = {}
            for chunk in _chunks(list(by_path)):
                for path, dev, inode, size, mtime_ns, sha, md5, bsize in conn.execute(
                    "SELECT f.path, f.dev, f.inode, f.size, f.mtime_ns, b.blob_key, b.md5, b.size"
                    f" FROM file_digests f JOIN blobs b ON b.blob_key = f.blob_key"
                    f" WHERE f.path IN ({_marks(len(chunk))})", chunk):
                    s = by_path[path]
                    if (s.dev, s.inode, s.size, s.mtime_ns) == (dev, inode, size, mtime_ns):
                        out[path] = BlobRecord(sha, md5, bsize)
            return out

        return await self._read(read)  # type: ignore[no-any-return]

    async def file_stamps(self, after: str, limit: int) -> list[FileStamp]:
        rows = await self._read(lambda c: c.execute(
            "SELECT path, dev, inode, size, mtime_ns FROM file_digests WHERE path > ?"
            " ORDER BY path LIMIT ?", (after, limit)).fetchall())
        return [FileStamp(*r) for r in rows]

    async def forget_file_stamps(self, stamps: Sequence[FileStamp]) -> int:
        def forget(conn: sqlite3.Connection) -> int:
            return sum(conn.execute(
                "DELETE FROM file_digests WHERE path = ? AND dev = ? AND inode = ? AND size = ?"
                " AND mtime_ns = ?", (s.path, s.dev, s.inode, s.size, s.mtime_ns)).rowcount
                for s in stamps)

        return await self._write(forget)  # type: ignore[no-any-return]

    # -- garbage collection ---------------------------------------------------------------------

    async def expired_versions(self, now: float) -> list[str]:
        rows = await self._read(lambda c: c.execute(
            "SELECT id FROM artifact_versions WHERE state = ? AND expires_at > 0"
            " AND expires_at <= ? ORDER BY expires_at", (COMMITTED, now)).fetchall())
        return [r[0] for r in rows]

    async def stale_pending_versions(self, before: float) -> list[str]:
        rows = await self._read(lambda c: c.execute(
            "SELECT id FROM artifact_versions WHERE state = ? AND error != ''"
            " AND updated_at < ?", (PENDING, before)).fetchall())
        return [r[0] for r in rows]

    async def referenced_blobs(self, keys: Sequence[str]) -> set[str]:
        def read(conn: sqlite3.Connection) -> set[str]:
            out: set[str] = set()
            for chunk in _chunks(list(keys)):
                out.update(k for (k,) in conn.execute(
                    "SELECT DISTINCT blob_key FROM artifact_entries"
                    f" WHERE blob_key IN ({_marks(len(chunk))})", chunk))
                out.update(k for (k,) in conn.execute(
                    "SELECT DISTINCT blob_key FROM run_files"
                    f" WHERE blob_key IN ({_marks(len(chunk))})", chunk))
            return out

        return await self._read(read)  # type: ignore[no-any-return]

    async def unreferenced_blobs(self, created_before: float) -> list[BlobRecord]:
        rows = await self._read(lambda c: c.execute(
            "SELECT b.blob_key, b.md5, b.size FROM blobs b WHERE b.created_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM artifact_entries e WHERE e.blob_key = b.blob_key)"
            " AND NOT EXISTS (SELECT 1 FROM run_files f WHERE f.blob_key = b.blob_key)",
            (created_before,)).fetchall())
        return [BlobRecord(*r) for r in rows]

    async def forget_blobs(self, keys: Sequence[str]) -> list[str]:
        """Drop the records of those of ``keys`` still unreferenced (checked in the same
        transaction, so a manifest written meanwhile keeps its blob); returns them."""

        def forget(conn: sqlite3.Connection) -> list[str]:
            gone: list[str] = []
            for chunk in _chunks(list(keys)):
                held = {k for (k,) in conn.execute(
                    "SELECT DISTINCT blob_key FROM artifact_entries"
                    f" WHERE blob_key IN ({_marks(len(chunk))})", chunk)}
                held.update(k for (k,) in conn.execute(
                    "SELECT DISTINCT blob_key FROM run_files"
                    f" WHERE blob_key IN ({_marks(len(chunk))})", chunk))
                free = [k for k in chunk if k not in held]
                if not free:
                    continue
                for table in ("blobs", "blob_uploads", "file_digests"):
                    conn.execute(f"DELETE FROM {table} WHERE blob_key IN ({_marks(len(free))})",
                                 free)
                gone += free
            return gone

        return await self._write(forget)  # type: ignore[no-any-return]
