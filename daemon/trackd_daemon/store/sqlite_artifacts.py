"""SQLite artifact store, part 1: logging and committing versions, and reads.

A mixin of :class:`~trackd_daemon.store.sqlite.SqliteStore` (it uses its ``_read``/``_write``
plumbing); changes and lineage are in ``sqlite_artifact_changes.py``, blob records and garbage
collection in ``sqlite_blobs.py``. Commit is one transaction: the digest, the number, the
aliases and the state change together or not at all.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from trackd._shared.artifact_rules import manifest_digest
from trackd_daemon.errors import (
    ArtifactNotFoundError,
    BlobNotFoundError,
    FailedPreconditionError,
)
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    DELETED,
    LATEST,
    LOGGED,
    PENDING,
    BlobRecord,
    CollectionInfo,
    CollectionKey,
    Entry,
    FileStamp,
    LogResult,
    NewVersion,
    VersionInfo,
)
from trackd_daemon.store.sqlite_artifact_rows import (
    COLLECTION_SELECT,
    VERSION_RE,
    collection_info,
    collection_row,
    dumps,
    insert_entries,
    link_view,
    load_version,
    loads,
    must_version,
    project_id,
    run_pk,
    select_entries,
    set_alias,
    versions_where,
)

T = TypeVar("T")
Op = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]


def _new_id() -> str:
    return secrets.token_hex(10)


def _apply_aliases(conn: sqlite3.Connection, collection_id: int, version_id: str,
                   aliases: Sequence[str]) -> None:
    for alias in dict.fromkeys([*aliases, LATEST]):
        set_alias(conn, collection_id, alias, version_id)


def _add_tags(conn: sqlite3.Connection, version_id: str, tags: Sequence[str], now: float) -> None:
    (stored,) = conn.execute("SELECT tags FROM artifact_versions WHERE id = ?",
                             (version_id,)).fetchone()
    merged = list(dict.fromkeys([*loads(stored), *tags]))
    conn.execute("UPDATE artifact_versions SET tags = ?, updated_at = ? WHERE id = ?",
                 (dumps(merged), now, version_id))


def _record_logged(conn: sqlite3.Connection, version_id: str, run: int | None, now: float) -> None:
    if run is not None:
        conn.execute("INSERT OR IGNORE INTO artifact_runs(version_id, run_id, kind, created_at)"
                     " VALUES (?, ?, ?, ?)", (version_id, run, LOGGED, now))


def _find_duplicate(conn: sqlite3.Connection, collection_id: int, digest: str) -> str | None:
    row = conn.execute("SELECT id FROM artifact_versions WHERE collection_id = ? AND digest = ?"
                       " AND state = ? ORDER BY version_index DESC LIMIT 1",
                       (collection_id, digest, COMMITTED)).fetchone()
    return None if row is None else str(row[0])


def _drop_missing_blobs(conn: sqlite3.Connection, entries: list[Entry]) -> None:
    """Entries naming a blob whose record is gone (collected meanwhile) are stored again from
    their local path; without one they are refused."""
    for e in entries:
        if e.blob_key and not conn.execute("SELECT 1 FROM blobs WHERE blob_key = ?",
                                              (e.blob_key,)).fetchone():
            if not e.local_path:
                raise BlobNotFoundError(f"entry {e.path!r}: the daemon holds no blob "
                                        f"{e.blob_key}", path=e.path)
            e.blob_key = ""


def commit_in(conn: sqlite3.Connection, version_id: str, now: float) -> tuple[str, bool] | None:
    """Commit a pending version inside the caller's transaction: (id, deduplicated), or None
    while files are still to be stored or no commit was requested."""
    row = conn.execute(
        "SELECT collection_id, state, commit_requested, requested_aliases, tags, run_id,"
        " created_at, ttl_seconds FROM artifact_versions WHERE id = ?", (version_id,)).fetchone()
    if row is None:
        raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}", id=version_id)
    cid, state, requested, aliases, tags, run, created, ttl = row
    if state == COMMITTED:
        return version_id, False
    if state != PENDING or not requested:
        return None
    if conn.execute("SELECT 1 FROM artifact_entries WHERE version_id = ? AND blob_key = ''"
                    " AND ref = '' LIMIT 1", (version_id,)).fetchone():
        return None
    entries = conn.execute("SELECT path, digest, size FROM artifact_entries WHERE version_id = ?",
                           (version_id,)).fetchall()
    digest = manifest_digest((p, d) for p, d, _ in entries)
    dup = _find_duplicate(conn, cid, digest)
    if dup is not None:
        _apply_aliases(conn, cid, dup, loads(aliases))
        _add_tags(conn, dup, loads(tags), now)
        _record_logged(conn, dup, run, now)
        conn.execute("DELETE FROM artifact_entries WHERE version_id = ?", (version_id,))
        conn.execute("DELETE FROM artifact_runs WHERE version_id = ?", (version_id,))
        conn.execute("UPDATE artifact_versions SET state = ?, replaced_by = ?, digest = ?,"
                     " updated_at = ? WHERE id = ?", (DELETED, dup, digest, now, version_id))
        return dup, True
    (index,) = conn.execute("SELECT next_index FROM artifact_collections WHERE id = ?",
                            (cid,)).fetchone()
    conn.execute("UPDATE artifact_collections SET next_index = ?, updated_at = ? WHERE id = ?",
                 (index + 1, now, cid))
    conn.execute(
        "UPDATE artifact_versions SET state = ?, version_index = ?, digest = ?, size = ?,"
        " file_count = ?, commit_hash = ?, expires_at = ?, updated_at = ?, error = ''"
        " WHERE id = ?",
        (COMMITTED, index, digest, sum(max(s, 0) for _, _, s in entries), len(entries),
         secrets.token_hex(6), created + ttl if ttl > 0 else 0.0, now, version_id))
    conn.execute("UPDATE artifact_entries SET local_path = '', staged = 0 WHERE version_id = ?",
                 (version_id,))
    _apply_aliases(conn, cid, version_id, loads(aliases))
    return version_id, False


class SqliteArtifactLog:
    """Logging, committing and reading versions (mixed into ``SqliteStore``)."""

    _write: Any
    _read: Any

    async def log_version(self, new: NewVersion, entries: list[Entry]) -> LogResult:
        def log(conn: sqlite3.Connection) -> tuple[str, bool]:
            now = new.created_at or time.time()
            if new.request_id:
                row = conn.execute(
                    "SELECT id FROM artifact_versions WHERE request_id = ? AND owner_uid = ?",
                    (new.request_id, new.owner_uid)).fetchone()
                if row is not None:
                    conn.execute("UPDATE artifact_versions SET error = '' WHERE id = ?", row)
                    return str(row[0]), False
            pid = project_id(conn, new.key.entity, new.key.project, create=True)
            coll = collection_row(conn, new.key)
            if coll is None:
                cur = conn.execute(
                    "INSERT INTO artifact_collections(project_id, name, type, owner_uid,"
                    " created_at, updated_at, owner_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (pid, new.key.name, new.type, new.owner_uid, now, now, new.owner_name))
                cid = int(cur.lastrowid or 0)
            else:
                cid = coll[0]
                if coll[2]:
                    raise FailedPreconditionError(
                        f"{new.key} is a portfolio: link versions into it instead of logging",
                        collection=str(new.key))
                if coll[1] != new.type:
                    raise FailedPreconditionError(
                        f"artifact {new.key} has type {coll[1]!r}, not {new.type!r}",
                        collection=str(new.key))
            run = run_pk(conn, new.run) if new.run is not None else None
            _drop_missing_blobs(conn, entries)
            finalize = new.finalize or not new.distributed_id
            if not new.distributed_id and all(e.digest for e in entries):
                dup = _find_duplicate(conn, cid, manifest_digest((e.path, e.digest)
                                                                 for e in entries))
                if dup is not None:
                    _apply_aliases(conn, cid, dup, new.aliases)
                    _add_tags(conn, dup, new.tags, now)
                    _record_logged(conn, dup, run, now)
                    return dup, True
            vid = None
            if new.distributed_id:
                row = conn.execute(
                    "SELECT id, requested_aliases, tags FROM artifact_versions WHERE"
                    " collection_id = ? AND distributed_id = ? AND state = ?",
                    (cid, new.distributed_id, PENDING)).fetchone()
                if row is not None:
                    vid = row[0]
                    sets = ["requested_aliases = ?", "tags = ?", "updated_at = ?",
                            "commit_requested = MAX(commit_requested, ?)"]
                    args: list[Any] = [
                        dumps(list(dict.fromkeys([*loads(row[1]), *new.aliases]))),
                        dumps(list(dict.fromkeys([*loads(row[2]), *new.tags]))), now,
                        int(finalize)]
                    if new.description:
                        sets.append("description = ?")
                        args.append(new.description)
                    if new.metadata:
                        sets.append("metadata = ?")
                        args.append(dumps(new.metadata))
                    conn.execute(f"UPDATE artifact_versions SET {', '.join(sets)} WHERE id = ?",
                                 (*args, vid))
            if vid is None:
                vid = _new_id()
                conn.execute(
                    "INSERT INTO artifact_versions(id, collection_id, state, description,"
                    " metadata, tags, requested_aliases, ttl_seconds, created_at, updated_at,"
                    " run_id, history_step, distributed_id, base_id, incremental, owner_uid,"
                    " request_id, commit_requested, owner_name)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (vid, cid, PENDING, new.description, dumps(new.metadata), dumps(new.tags),
                     dumps(new.aliases), new.ttl_seconds, now, now, run, new.history_step,
                     new.distributed_id, new.base_id, int(new.incremental), new.owner_uid,
                     new.request_id, int(finalize), new.owner_name))
            _record_logged(conn, vid, run, now)
            insert_entries(conn, vid, entries)
            done = commit_in(conn, vid, now)
            return done if done is not None else (vid, False)

        vid, dedup = await self._write(log)

        def result(conn: sqlite3.Connection) -> LogResult:
            v = must_version(conn, vid)
            (left,) = conn.execute(
                "SELECT COUNT(*) FROM artifact_entries WHERE version_id = ? AND blob_key = ''"
                " AND ref = ''", (vid,)).fetchone()
            return LogResult(v, dedup, left)

        return await self._read(result)  # type: ignore[no-any-return]

    async def unstored_entries(self, version_id: str, limit: int,
                               after_id: int = 0) -> list[Entry]:
        return await self._read(lambda c: select_entries(  # type: ignore[no-any-return]
            c, "version_id = ? AND blob_key = '' AND ref = '' AND id > ? ORDER BY id LIMIT ?",
            (version_id, after_id, limit)))

    async def record_stored(self, version_id: str, stored: Sequence[tuple[int, BlobRecord]],
                            stamps: Sequence[tuple[FileStamp, BlobRecord]] = (),
                            uploader_uid: int | None = None) -> None:
        def record(conn: sqlite3.Connection) -> None:
            now = time.time()
            _record_blobs(conn, [b for _, b in stored], stamps, uploader_uid, now)
            conn.executemany(
                "UPDATE artifact_entries SET blob_key = ?, digest = ?, size = ?"
                " WHERE id = ? AND version_id = ? AND blob_key = ''",
                [(b.key, b.md5, b.size, eid, version_id) for eid, b in stored])
            conn.execute("UPDATE artifact_versions SET updated_at = ? WHERE id = ?",
                         (now, version_id))

        await self._write(record)

    async def record_files(self, stamps: Sequence[tuple[FileStamp, BlobRecord]],
                           uploader_uid: int | None = None) -> None:
        await self._write(lambda conn: _record_blobs(conn, [], stamps, uploader_uid, time.time()))

    async def try_commit(self, version_id: str, now: float = 0.0) -> VersionInfo | None:
        done = await self._write(lambda c: commit_in(c, version_id, now or time.time()))
        if done is None:
            return None
        return await self.get_version(done[0])

    async def fail_version(self, version_id: str, error: str) -> None:
        await self._write(lambda c: c.execute(
            "UPDATE artifact_versions SET error = ?, updated_at = ? WHERE id = ? AND state = ?",
            (error, time.time(), version_id, PENDING)))

    async def pending_versions(self) -> list[VersionInfo]:
        return await self._read(lambda c: versions_where(  # type: ignore[no-any-return]
            c, "v.state = ? AND v.error = '' ORDER BY v.created_at", (PENDING,)))

    # -- reads ---------------------------------------------------------------------------------

    async def get_version(self, version_id: str) -> VersionInfo:
        return await self._read(lambda c: must_version(c, version_id))  # type: ignore[no-any-return]

    async def resolve_version(self, key: CollectionKey, selector: str) -> VersionInfo:
        def resolve(conn: sqlite3.Connection) -> VersionInfo:
            coll = collection_row(conn, key)
            missing = ArtifactNotFoundError(f"artifact {key}:{selector} not found",
                                            artifact=f"{key}:{selector}")
            if coll is None:
                raise missing
            cid, portfolio = coll[0], bool(coll[2])
            m = VERSION_RE.match(selector)
            row = None
            if m and portfolio:
                row = conn.execute("SELECT version_id FROM artifact_links WHERE portfolio_id = ?"
                                   " AND version_index = ?", (cid, int(m.group(1)))).fetchone()
            elif m:
                row = conn.execute("SELECT id FROM artifact_versions WHERE collection_id = ?"
                                   " AND version_index = ? AND state = ?",
                                   (cid, int(m.group(1)), COMMITTED)).fetchone()
            if row is None and not m:
                row = conn.execute("SELECT version_id FROM artifact_aliases WHERE"
                                   " collection_id = ? AND alias = ?", (cid, selector)).fetchone()
            if row is None and not m and portfolio:
                row = conn.execute(
                    "SELECT l.version_id FROM artifact_links l JOIN artifact_versions v"
                    " ON v.id = l.version_id WHERE l.portfolio_id = ? AND v.digest = ?"
                    " ORDER BY l.version_index DESC LIMIT 1", (cid, selector)).fetchone()
            elif row is None and not m:
                row = (_find_duplicate(conn, cid, selector),)
            if row is None or row[0] is None:
                raise missing
            if portfolio:
                return link_view(conn, row[0], key)
            return must_version(conn, row[0], COMMITTED)

        return await self._read(resolve)  # type: ignore[no-any-return]

    async def get_link(self, version_id: str, portfolio: CollectionKey) -> VersionInfo:
        return await self._read(  # type: ignore[no-any-return]
            lambda c: link_view(c, version_id, portfolio))

    async def get_collection(self, key: CollectionKey) -> CollectionInfo | None:
        def get(conn: sqlite3.Connection) -> CollectionInfo | None:
            row = conn.execute(f"{COLLECTION_SELECT} WHERE p.entity = ? AND p.name = ?"
                               " AND c.name = ?", (key.entity, key.project, key.name)).fetchone()
            return None if row is None else collection_info(conn, row)

        return await self._read(get)  # type: ignore[no-any-return]

    async def list_collections(self, entity: str, project: str,
                               type_: str = "") -> list[CollectionInfo]:
        def list_(conn: sqlite3.Connection) -> list[CollectionInfo]:
            sql = f"{COLLECTION_SELECT} WHERE p.entity = ? AND p.name = ?"
            args: list[Any] = [entity, project]
            if type_:
                sql += " AND c.type = ?"
                args.append(type_)
            return [collection_info(conn, r) for r in conn.execute(f"{sql} ORDER BY c.name", args)]

        return await self._read(list_)  # type: ignore[no-any-return]

    async def list_versions(self, entity: str, project: str, collection: str = "",
                            type_: str = "", limit: int = 1000) -> list[VersionInfo]:
        def list_(conn: sqlite3.Connection) -> list[VersionInfo]:
            if collection:
                key = CollectionKey(entity, project, collection)
                coll = collection_row(conn, key)
                if coll is None or (type_ and coll[1] != type_):
                    return []
                if coll[2]:
                    ids = conn.execute("SELECT version_id FROM artifact_links WHERE"
                                       " portfolio_id = ? ORDER BY version_index DESC LIMIT ?",
                                       (coll[0], limit)).fetchall()
                    return [link_view(conn, vid, key) for (vid,) in ids]
                return versions_where(conn, "v.collection_id = ? AND v.state = ?"
                                      " ORDER BY v.version_index DESC LIMIT ?",
                                      (coll[0], COMMITTED, limit))
            where = "p.entity = ? AND p.name = ? AND v.state = ?"
            args: list[Any] = [entity, project, COMMITTED]
            if type_:
                where += " AND c.type = ?"
                args.append(type_)
            return versions_where(conn, f"{where} ORDER BY c.name, v.version_index DESC LIMIT ?",
                                  (*args, limit))

        return await self._read(list_)  # type: ignore[no-any-return]

    async def manifest(self, version_id: str, path_prefix: str = "", paths: Sequence[str] = (),
                       after: str = "", limit: int = 1000) -> list[Entry]:
        def read(conn: sqlite3.Connection) -> list[Entry]:
            if load_version(conn, version_id) is None:
                raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}",
                                            id=version_id)
            where, args = "version_id = ? AND path > ?", [version_id, after]
            if path_prefix:
                where += " AND substr(path, 1, ?) = ?"
                args += [len(path_prefix), path_prefix]
            if paths:
                wanted = sorted(p for p in set(paths) if p > after)[:limit]
                out: list[Entry] = []
                for i in range(0, len(wanted), 500):
                    chunk = wanted[i:i + 500]
                    out += select_entries(conn, f"{where} AND path IN"
                                          f" ({','.join('?' * len(chunk))})", (*args, *chunk))
                return sorted(out, key=lambda e: e.path)
            return select_entries(conn, f"{where} ORDER BY path LIMIT ?", (*args, limit))

        return await self._read(read)  # type: ignore[no-any-return]


def _record_blobs(conn: sqlite3.Connection, blobs: Sequence[BlobRecord],
                  stamps: Sequence[tuple[FileStamp, BlobRecord]], uploader_uid: int | None,
                  now: float) -> None:
    """Record blobs (those of ``stamps`` too), who wrote them, and the files' stamps."""
    by_key = {b.key: b for b in blobs} | {b.key: b for _, b in stamps}
    conn.executemany("INSERT OR IGNORE INTO blobs(blob_key, md5, size, created_at)"
                     " VALUES (?, ?, ?, ?)", [(b.key, b.md5, b.size, now) for b in by_key.values()])
    if uploader_uid is not None:
        conn.executemany("INSERT OR IGNORE INTO blob_uploads(blob_key, uid, created_at)"
                         " VALUES (?, ?, ?)", [(k, uploader_uid, now) for k in by_key])
    conn.executemany(
        "INSERT OR REPLACE INTO file_digests(path, dev, inode, size, mtime_ns, blob_key)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(s.path, s.dev, s.inode, s.size, s.mtime_ns, b.key) for s, b in stamps])
