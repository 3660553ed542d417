"""PostgreSQL artifact store, part 3: blob records, the file-stamp digest cache, and what the
garbage collector asks (a mixin of :class:`~trackd_daemon.store.postgres.PostgresStore`).

A blob is referenced while an entry of a version that is not DELETED names it (pending versions
included, so bytes being stored are never collected), or a version of a run file does. Sets of
keys travel as one array parameter (``= ANY(%s)``), however many there are.
"""

from __future__ import annotations

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
from trackd_daemon.store.postgres_artifact_rows import load_version
from trackd_daemon.store.postgres_sql import Conn, row, rows, run


async def _held(conn: Conn, keys: list[str]) -> set[str]:
    """Which of ``keys`` a manifest entry or a run file names."""
    held = {k for (k,) in await rows(
        conn, "SELECT DISTINCT blob_key FROM artifact_entries WHERE blob_key = ANY(%s)",
        (keys,))}
    held.update(k for (k,) in await rows(
        conn, "SELECT DISTINCT blob_key FROM run_files WHERE blob_key = ANY(%s)", (keys,)))
    return held


class PgBlobs:
    """Blob records and garbage-collection queries (mixed into ``PostgresStore``)."""

    _write: Any
    _read: Any

    async def put_blob(self, blob: BlobRecord, uploader_uid: int | None = None) -> None:
        async def put(conn: Conn) -> None:
            now = time.time()
            await run(conn, "INSERT INTO blobs(blob_key, md5, size, created_at)"
                      " VALUES (%s, %s, %s, %s) ON CONFLICT (blob_key) DO NOTHING",
                      (blob.key, blob.md5, blob.size, now))
            if uploader_uid is not None:
                await run(conn, "INSERT INTO blob_uploads(blob_key, uid, created_at)"
                          " VALUES (%s, %s, %s) ON CONFLICT (blob_key, uid)"
                          " DO UPDATE SET created_at = excluded.created_at",
                          (blob.key, uploader_uid, now))

        await self._write(put)

    async def get_blob(self, key: str) -> BlobRecord | None:
        found = await self._read(lambda c: row(
            c, "SELECT blob_key, md5, size FROM blobs WHERE blob_key = %s", (key,)))
        return None if found is None else BlobRecord(*found)

    async def get_blobs(self, keys: Sequence[str]) -> dict[str, BlobRecord]:
        found = await self._read(lambda c: rows(
            c, "SELECT blob_key, md5, size FROM blobs WHERE blob_key = ANY(%s)",
            (sorted(set(keys)),)))
        return {r[0]: BlobRecord(*r) for r in found}

    async def find_blobs(self, wanted: Sequence[tuple[str, int]], uploaders: Sequence[int] = (),
                         ) -> dict[tuple[str, int], BlobRecord]:
        pairs = set(wanted)
        sql = "SELECT blob_key, md5, size FROM blobs WHERE md5 = ANY(%s)"
        args: list[Any] = [sorted({md5 for md5, _ in pairs})]
        if uploaders:
            sql += (" AND blob_key IN (SELECT blob_key FROM blob_uploads"
                    " WHERE uid = ANY(%s::bigint[]))")
            args.append(list(uploaders))
        out: dict[tuple[str, int], BlobRecord] = {}
        for r in await self._read(lambda c: rows(c, f"{sql} ORDER BY blob_key", args)):
            if (r[1], r[2]) in pairs:
                out.setdefault((r[1], r[2]), BlobRecord(*r))
        return out

    async def blob_uploaded_by(self, key: str, uid: int) -> bool:
        found = await self._read(lambda c: row(
            c, "SELECT 1 FROM blob_uploads WHERE blob_key = %s AND uid = %s", (key, uid)))
        return found is not None

    async def versions_holding(self, key: str, limit: int = 50) -> list[VersionInfo]:
        async def read(conn: Conn) -> list[VersionInfo]:
            ids = await rows(
                conn, "SELECT DISTINCT e.version_id FROM artifact_entries e JOIN"
                " artifact_versions v ON v.id = e.version_id WHERE e.blob_key = %s AND"
                " v.state = %s LIMIT %s", (key, COMMITTED, limit))
            found = [await load_version(conn, vid) for (vid,) in ids]
            return [v for v in found if v is not None]

        return await self._read(read)  # type: ignore[no-any-return]

    async def file_digests(self, stamps: Sequence[FileStamp]) -> dict[str, BlobRecord]:
        by_path = {s.path: s for s in stamps}
        found = await self._read(lambda c: rows(
            c, "SELECT f.path, f.dev, f.inode, f.size, f.mtime_ns, b.blob_key, b.md5, b.size"
            " FROM file_digests f JOIN blobs b ON b.blob_key = f.blob_key"
            " WHERE f.path = ANY(%s)", (list(by_path),)))
        out: dict[str, BlobRecord] = {}
        for path, dev, inode, size, mtime_ns, key, md5, bsize in found:
            s = by_path[path]
            if (s.dev, s.inode, s.size, s.mtime_ns) == (dev, inode, size, mtime_ns):
                out[path] = BlobRecord(key, md5, bsize)
        return out

    async def file_stamps(self, after: str, limit: int) -> list[FileStamp]:
        found = await self._read(lambda c: rows(
            c, "SELECT path, dev, inode, size, mtime_ns FROM file_digests WHERE path > %s"
            " ORDER BY path LIMIT %s", (after, limit)))
        return [FileStamp(*r) for r in found]

    async def forget_file_stamps(self, stamps: Sequence[FileStamp]) -> int:
        async def forget(conn: Conn) -> int:
            gone = 0
            for s in stamps:
                gone += await run(
                    conn, "DELETE FROM file_digests WHERE path = %s AND dev = %s AND"
                    " inode = %s AND size = %s AND mtime_ns = %s",
                    (s.path, s.dev, s.inode, s.size, s.mtime_ns))
            return gone

        return await self._write(forget)  # type: ignore[no-any-return]

    # -- garbage collection ---------------------------------------------------------------------

    async def expired_versions(self, now: float) -> list[str]:
        found = await self._read(lambda c: rows(
            c, "SELECT id FROM artifact_versions WHERE state = %s AND expires_at > 0"
            " AND expires_at <= %s ORDER BY expires_at", (COMMITTED, now)))
        return [r[0] for r in found]

    async def stale_pending_versions(self, before: float) -> list[str]:
        found = await self._read(lambda c: rows(
            c, "SELECT id FROM artifact_versions WHERE state = %s AND error != ''"
            " AND updated_at < %s", (PENDING, before)))
        return [r[0] for r in found]

    async def referenced_blobs(self, keys: Sequence[str]) -> set[str]:
        return await self._read(lambda c: _held(c, list(keys)))  # type: ignore[no-any-return]

    async def unreferenced_blobs(self, created_before: float) -> list[BlobRecord]:
        found = await self._read(lambda c: rows(
            c, "SELECT b.blob_key, b.md5, b.size FROM blobs b WHERE b.created_at < %s AND"
            " NOT EXISTS (SELECT 1 FROM artifact_entries e WHERE e.blob_key = b.blob_key)"
            " AND NOT EXISTS (SELECT 1 FROM run_files f WHERE f.blob_key = b.blob_key)",
            (created_before,)))
        return [BlobRecord(*r) for r in found]

    async def forget_blobs(self, keys: Sequence[str]) -> list[str]:
        """Drop the records of those of ``keys`` still unreferenced (checked in the same
        transaction); returns them."""

        async def forget(conn: Conn) -> list[str]:
            wanted = sorted(set(keys))
            held = await _held(conn, wanted)
            free = [k for k in keys if k not in held]
            if not free:
                return []
            for table in ("blobs", "blob_uploads", "file_digests"):
                await run(conn, f"DELETE FROM {table} WHERE blob_key = ANY(%s)", (free,))
            return free

        return await self._write(forget)  # type: ignore[no-any-return]
