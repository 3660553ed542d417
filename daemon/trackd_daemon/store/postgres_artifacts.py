"""PostgreSQL artifact store, part 1: logging and committing versions, and reads.

A mixin of :class:`~trackd_daemon.store.postgres.PostgresStore`; changes and lineage are in
``postgres_artifact_changes.py``, blob records and garbage collection in ``postgres_blobs.py``.
Commit is one transaction: the digest, the number, the aliases and the state change together
or not at all. The number is taken under the collection's row lock, so two daemons committing
versions of one collection at once give them consecutive numbers, never the same one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

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
from trackd_daemon.store.postgres_artifact_rows import (
    COLLECTION_SELECT,
    collection_info,
    collection_row,
    dumps,
    insert_entries,
    link_view,
    load_version,
    loads,
    must_version,
    select_entries,
    set_alias,
    versions_where,
)
from trackd_daemon.store.postgres_sql import Conn, many, project_id, row, rows, run, run_pk
from trackd_daemon.store.sqlite_artifact_rows import VERSION_RE


def _new_id() -> str:
    return secrets.token_hex(10)


async def _apply_aliases(conn: Conn, collection_id: int, version_id: str,
                         aliases: Sequence[str]) -> None:
    for alias in dict.fromkeys([*aliases, LATEST]):
        await set_alias(conn, collection_id, alias, version_id)


async def _add_tags(conn: Conn, version_id: str, tags: Sequence[str], now: float) -> None:
    (stored,) = await row(conn, "SELECT tags FROM artifact_versions WHERE id = %s",
                          (version_id,))  # type: ignore[misc]
    merged = list(dict.fromkeys([*loads(stored), *tags]))
    await run(conn, "UPDATE artifact_versions SET tags = %s, updated_at = %s WHERE id = %s",
              (dumps(merged), now, version_id))


async def _record_logged(conn: Conn, version_id: str, run_id: int | None, now: float) -> None:
    if run_id is not None:
        await run(conn, "INSERT INTO artifact_runs(version_id, run_id, kind, created_at)"
                  " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                  (version_id, run_id, LOGGED, now))


async def find_duplicate(conn: Conn, collection_id: int, digest: str) -> str | None:
    found = await row(conn, "SELECT id FROM artifact_versions WHERE collection_id = %s AND"
                      " digest = %s AND state = %s ORDER BY version_index DESC LIMIT 1",
                      (collection_id, digest, COMMITTED))
    return None if found is None else str(found[0])


async def _drop_missing_blobs(conn: Conn, entries: list[Entry]) -> None:
    """Entries naming a blob whose record is gone (collected meanwhile) are stored again from
    their local path; without one they are refused."""
    named = list({e.blob_key for e in entries if e.blob_key})
    if not named:
        return
    known = {k for (k,) in await rows(conn, "SELECT blob_key FROM blobs WHERE"
                                      " blob_key = ANY(%s)", (named,))}
    for e in entries:
        if e.blob_key and e.blob_key not in known:
            if not e.local_path:
                raise BlobNotFoundError(f"entry {e.path!r}: the daemon holds no blob "
                                        f"{e.blob_key}", path=e.path)
            e.blob_key = ""


async def commit_in(conn: Conn, version_id: str, now: float) -> tuple[str, bool] | None:
    """Commit a pending version inside the caller's transaction: (id, deduplicated), or None
    while files are still to be stored or no commit was requested."""
    head = await row(conn, "SELECT collection_id FROM artifact_versions WHERE id = %s",
                     (version_id,))
    if head is None:
        raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}", id=version_id)
    # The collection's row lock first, then the version's state (read after the lock: a
    # version another daemon committed meanwhile is seen committed).
    (index,) = await row(conn, "SELECT next_index FROM artifact_collections WHERE id = %s"
                         " FOR UPDATE", (head[0],))  # type: ignore[misc]
    cid, state, requested, aliases, tags, run_id, created, ttl = await row(
        conn, "SELECT collection_id, state, commit_requested, requested_aliases, tags, run_id,"
        " created_at, ttl_seconds FROM artifact_versions WHERE id = %s",
        (version_id,))  # type: ignore[misc]
    if state == COMMITTED:
        return version_id, False
    if state != PENDING or not requested:
        return None
    if await row(conn, "SELECT 1 FROM artifact_entries WHERE version_id = %s AND blob_key = ''"
                 " AND ref = '' LIMIT 1", (version_id,)):
        return None
    entries = await rows(conn, "SELECT path, digest, size FROM artifact_entries"
                         " WHERE version_id = %s", (version_id,))
    digest = manifest_digest((p, d) for p, d, _ in entries)
    dup = await find_duplicate(conn, cid, digest)
    if dup is not None:
        await _apply_aliases(conn, cid, dup, loads(aliases))
        await _add_tags(conn, dup, loads(tags), now)
        await _record_logged(conn, dup, run_id, now)
        await run(conn, "DELETE FROM artifact_entries WHERE version_id = %s", (version_id,))
        await run(conn, "DELETE FROM artifact_runs WHERE version_id = %s", (version_id,))
        await run(conn, "UPDATE artifact_versions SET state = %s, replaced_by = %s, digest = %s,"
                  " updated_at = %s WHERE id = %s", (DELETED, dup, digest, now, version_id))
        return dup, True
    await run(conn, "UPDATE artifact_collections SET next_index = %s, updated_at = %s"
              " WHERE id = %s", (index + 1, now, cid))
    await run(
        conn, "UPDATE artifact_versions SET state = %s, version_index = %s, digest = %s,"
        " size = %s, file_count = %s, commit_hash = %s, expires_at = %s, updated_at = %s,"
        " error = '' WHERE id = %s",
        (COMMITTED, index, digest, sum(max(s, 0) for _, _, s in entries), len(entries),
         secrets.token_hex(6), created + ttl if ttl > 0 else 0.0, now, version_id))
    await run(conn, "UPDATE artifact_entries SET local_path = '', staged = 0"
              " WHERE version_id = %s", (version_id,))
    await _apply_aliases(conn, cid, version_id, loads(aliases))
    return version_id, False


async def _collection_for(conn: Conn, new: NewVersion, now: float) -> int:
    """The id of the collection ``new`` is logged into, made on first use (two daemons
    making it at once: one inserts, the other finds it), its row locked until the transaction
    ends.

    :raises FailedPreconditionError: it is a portfolio, or of another type.
    """
    pid = await project_id(conn, new.key.entity, new.key.project, create=True)
    await run(conn, "INSERT INTO artifact_collections(project_id, name, type, owner_uid,"
              " created_at, updated_at, owner_name) VALUES (%s, %s, %s, %s, %s, %s, %s)"
              " ON CONFLICT (project_id, name) DO NOTHING",
              (pid, new.key.name, new.type, new.owner_uid, now, now, new.owner_name))
    # Locked now, before this transaction inserts a version (whose foreign key takes a share
    # lock on the row): taking the lock only at the commit's numbering would let two daemons
    # each hold the share lock and wait for the other's (a deadlock).
    coll = await collection_row(conn, new.key, lock=True)
    assert coll is not None
    if coll[2]:
        raise FailedPreconditionError(
            f"{new.key} is a portfolio: link versions into it instead of logging",
            collection=str(new.key))
    if coll[1] != new.type:
        raise FailedPreconditionError(f"artifact {new.key} has type {coll[1]!r}, not "
                                      f"{new.type!r}", collection=str(new.key))
    return int(coll[0])


class PgArtifactLog:
    """Logging, committing and reading versions (mixed into ``PostgresStore``)."""

    _write: Any
    _read: Any

    async def log_version(self, new: NewVersion, entries: list[Entry]) -> LogResult:
        async def log(conn: Conn) -> tuple[str, bool]:
            now = new.created_at or time.time()
            if new.request_id:
                found = await row(conn, "SELECT id FROM artifact_versions WHERE request_id = %s"
                                  " AND owner_uid = %s", (new.request_id, new.owner_uid))
                if found is not None:
                    await run(conn, "UPDATE artifact_versions SET error = '' WHERE id = %s",
                              (found[0],))
                    return str(found[0]), False
            cid = await _collection_for(conn, new, now)
            run_id = await run_pk(conn, new.run) if new.run is not None else None
            mine = entries  # (a retry sees the same: missing blobs stay missing)
            await _drop_missing_blobs(conn, mine)
            finalize = new.finalize or not new.distributed_id
            if not new.distributed_id and all(e.digest for e in mine):
                dup = await find_duplicate(conn, cid, manifest_digest((e.path, e.digest)
                                                                      for e in mine))
                if dup is not None:
                    await _apply_aliases(conn, cid, dup, new.aliases)
                    await _add_tags(conn, dup, new.tags, now)
                    await _record_logged(conn, dup, run_id, now)
                    return dup, True
            vid = None
            if new.distributed_id:
                found = await row(
                    conn, "SELECT id, requested_aliases, tags FROM artifact_versions WHERE"
                    " collection_id = %s AND distributed_id = %s AND state = %s FOR UPDATE",
                    (cid, new.distributed_id, PENDING))
                if found is not None:
                    vid = found[0]
                    sets = ["requested_aliases = %s", "tags = %s", "updated_at = %s",
                            "commit_requested = GREATEST(commit_requested, %s)"]
                    args: list[Any] = [
                        dumps(list(dict.fromkeys([*loads(found[1]), *new.aliases]))),
                        dumps(list(dict.fromkeys([*loads(found[2]), *new.tags]))), now,
                        int(finalize)]
                    if new.description:
                        sets.append("description = %s")
                        args.append(new.description)
                    if new.metadata:
                        sets.append("metadata = %s")
                        args.append(dumps(new.metadata))
                    await run(conn, f"UPDATE artifact_versions SET {', '.join(sets)}"
                              " WHERE id = %s", (*args, vid))
            if vid is None:
                vid = _new_id()
                await run(
                    conn, "INSERT INTO artifact_versions(id, collection_id, state, description,"
                    " metadata, tags, requested_aliases, ttl_seconds, created_at, updated_at,"
                    " run_id, history_step, distributed_id, base_id, incremental, owner_uid,"
                    " request_id, commit_requested, owner_name) VALUES (%s, %s, %s, %s, %s, %s,"
                    " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (vid, cid, PENDING, new.description, dumps(new.metadata), dumps(new.tags),
                     dumps(new.aliases), new.ttl_seconds, now, now, run_id, new.history_step,
                     new.distributed_id, new.base_id, int(new.incremental), new.owner_uid,
                     new.request_id, int(finalize), new.owner_name))
            await _record_logged(conn, vid, run_id, now)
            await insert_entries(conn, vid, mine)
            done = await commit_in(conn, vid, now)
            return done if done is not None else (vid, False)

        vid, dedup = await self._write(log)

        async def result(conn: Conn) -> LogResult:
            v = await must_version(conn, vid)
            (left,) = await row(conn, "SELECT COUNT(*) FROM artifact_entries WHERE"
                                " version_id = %s AND blob_key = '' AND ref = ''",
                                (vid,))  # type: ignore[misc]
            return LogResult(v, dedup, int(left))

        return await self._read(result)  # type: ignore[no-any-return]

    async def unstored_entries(self, version_id: str, limit: int,
                               after_id: int = 0) -> list[Entry]:
        return await self._read(lambda c: select_entries(  # type: ignore[no-any-return]
            c, "version_id = %s AND blob_key = '' AND ref = '' AND id > %s ORDER BY id"
            " LIMIT %s", (version_id, after_id, limit)))

    async def record_stored(self, version_id: str, stored: Sequence[tuple[int, BlobRecord]],
                            stamps: Sequence[tuple[FileStamp, BlobRecord]] = (),
                            uploader_uid: int | None = None) -> None:
        async def record(conn: Conn) -> None:
            now = time.time()
            await record_blobs(conn, [b for _, b in stored], stamps, uploader_uid, now)
            await many(conn, "UPDATE artifact_entries SET blob_key = %s, digest = %s, size = %s"
                       " WHERE id = %s AND version_id = %s AND blob_key = ''",
                       [(b.key, b.md5, b.size, eid, version_id) for eid, b in stored])
            await run(conn, "UPDATE artifact_versions SET updated_at = %s WHERE id = %s",
                      (now, version_id))

        await self._write(record)

    async def record_files(self, stamps: Sequence[tuple[FileStamp, BlobRecord]],
                           uploader_uid: int | None = None) -> None:
        await self._write(lambda c: record_blobs(c, [], stamps, uploader_uid, time.time()))

    async def try_commit(self, version_id: str, now: float = 0.0) -> VersionInfo | None:
        done = await self._write(lambda c: commit_in(c, version_id, now or time.time()))
        if done is None:
            return None
        return await self.get_version(done[0])

    async def fail_version(self, version_id: str, error: str) -> None:
        await self._write(lambda c: run(
            c, "UPDATE artifact_versions SET error = %s, updated_at = %s WHERE id = %s AND"
            " state = %s", (error, time.time(), version_id, PENDING)))

    async def pending_versions(self) -> list[VersionInfo]:
        return await self._read(lambda c: versions_where(  # type: ignore[no-any-return]
            c, "v.state = %s AND v.error = '' ORDER BY v.created_at", (PENDING,)))

    # -- reads ---------------------------------------------------------------------------------

    async def get_version(self, version_id: str) -> VersionInfo:
        return await self._read(lambda c: must_version(c, version_id))  # type: ignore[no-any-return]

    async def resolve_version(self, key: CollectionKey, selector: str) -> VersionInfo:
        async def resolve(conn: Conn) -> VersionInfo:
            coll = await collection_row(conn, key)
            missing = ArtifactNotFoundError(f"artifact {key}:{selector} not found",
                                            artifact=f"{key}:{selector}")
            if coll is None:
                raise missing
            cid, portfolio = coll[0], bool(coll[2])
            m = VERSION_RE.match(selector)
            found: tuple[Any, ...] | None = None
            if m and portfolio:
                found = await row(conn, "SELECT version_id FROM artifact_links WHERE"
                                  " portfolio_id = %s AND version_index = %s",
                                  (cid, int(m.group(1))))
            elif m:
                found = await row(conn, "SELECT id FROM artifact_versions WHERE"
                                  " collection_id = %s AND version_index = %s AND state = %s",
                                  (cid, int(m.group(1)), COMMITTED))
            if found is None and not m:
                found = await row(conn, "SELECT version_id FROM artifact_aliases WHERE"
                                  " collection_id = %s AND alias = %s", (cid, selector))
            if found is None and not m and portfolio:
                found = await row(
                    conn, "SELECT l.version_id FROM artifact_links l JOIN artifact_versions v"
                    " ON v.id = l.version_id WHERE l.portfolio_id = %s AND v.digest = %s"
                    " ORDER BY l.version_index DESC LIMIT 1", (cid, selector))
            elif found is None and not m:
                found = (await find_duplicate(conn, cid, selector),)
            if found is None or found[0] is None:
                raise missing
            if portfolio:
                return await link_view(conn, found[0], key)
            return await must_version(conn, found[0], COMMITTED)

        return await self._read(resolve)  # type: ignore[no-any-return]

    async def get_link(self, version_id: str, portfolio: CollectionKey) -> VersionInfo:
        return await self._read(  # type: ignore[no-any-return]
            lambda c: link_view(c, version_id, portfolio))

    async def get_collection(self, key: CollectionKey) -> CollectionInfo | None:
        async def get(conn: Conn) -> CollectionInfo | None:
            found = await row(conn, f"{COLLECTION_SELECT} WHERE p.entity = %s AND p.name = %s"
                              " AND c.name = %s", (key.entity, key.project, key.name))
            return None if found is None else await collection_info(conn, found)

        return await self._read(get)  # type: ignore[no-any-return]

    async def list_collections(self, entity: str, project: str,
                               type_: str = "") -> list[CollectionInfo]:
        async def list_(conn: Conn) -> list[CollectionInfo]:
            sql = f"{COLLECTION_SELECT} WHERE p.entity = %s AND p.name = %s"
            args: list[Any] = [entity, project]
            if type_:
                sql += " AND c.type = %s"
                args.append(type_)
            return [await collection_info(conn, r)
                    for r in await rows(conn, f"{sql} ORDER BY c.name", args)]

        return await self._read(list_)  # type: ignore[no-any-return]

    async def list_versions(self, entity: str, project: str, collection: str = "",
                            type_: str = "", limit: int = 1000) -> list[VersionInfo]:
        async def list_(conn: Conn) -> list[VersionInfo]:
            if collection:
                key = CollectionKey(entity, project, collection)
                coll = await collection_row(conn, key)
                if coll is None or (type_ and coll[1] != type_):
                    return []
                if coll[2]:
                    ids = await rows(conn, "SELECT version_id FROM artifact_links WHERE"
                                     " portfolio_id = %s ORDER BY version_index DESC LIMIT %s",
                                     (coll[0], limit))
                    return [await link_view(conn, vid, key) for (vid,) in ids]
                return await versions_where(conn, "v.collection_id = %s AND v.state = %s"
                                            " ORDER BY v.version_index DESC LIMIT %s",
                                            (coll[0], COMMITTED, limit))
            where = "p.entity = %s AND p.name = %s AND v.state = %s"
            args: list[Any] = [entity, project, COMMITTED]
            if type_:
                where += " AND c.type = %s"
                args.append(type_)
            return await versions_where(
                conn, f"{where} ORDER BY c.name, v.version_index DESC LIMIT %s", (*args, limit))

        return await self._read(list_)  # type: ignore[no-any-return]

    async def manifest(self, version_id: str, path_prefix: str = "", paths: Sequence[str] = (),
                       after: str = "", limit: int = 1000) -> list[Entry]:
        async def read(conn: Conn) -> list[Entry]:
            if await load_version(conn, version_id) is None:
                raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}",
                                            id=version_id)
            where, args = "version_id = %s AND path > %s", [version_id, after]
            if path_prefix:
                where += " AND substr(path, 1, %s) = %s"
                args += [len(path_prefix), path_prefix]
            if paths:
                wanted = sorted(p for p in set(paths) if p > after)[:limit]
                out = await select_entries(conn, f"{where} AND path = ANY(%s)", [*args, wanted])
                return sorted(out, key=lambda e: e.path)
            return await select_entries(conn, f"{where} ORDER BY path LIMIT %s", [*args, limit])

        return await self._read(read)  # type: ignore[no-any-return]


async def record_blobs(conn: Conn, blobs: Sequence[BlobRecord],
                       stamps: Sequence[tuple[FileStamp, BlobRecord]], uploader_uid: int | None,
                       now: float) -> None:
    """Record blobs (those of ``stamps`` too), who wrote them, and the files' stamps."""
    by_key = {b.key: b for b in blobs} | {b.key: b for _, b in stamps}
    # In key order: two daemons recording overlapping blobs lock their rows in one order.
    ordered = sorted(by_key.values(), key=lambda b: b.key)
    if ordered:
        await run(conn, "INSERT INTO blobs(blob_key, md5, size, created_at)"
                  " SELECT k, m, s, %s FROM unnest(%s::text[], %s::text[], %s::bigint[])"
                  " AS t(k, m, s) ON CONFLICT (blob_key) DO NOTHING",
                  (now, [b.key for b in ordered], [b.md5 for b in ordered],
                   [b.size for b in ordered]))
        if uploader_uid is not None:
            await run(conn, "INSERT INTO blob_uploads(blob_key, uid, created_at)"
                      " SELECT k, %s, %s FROM unnest(%s::text[]) AS t(k)"
                      " ON CONFLICT (blob_key, uid) DO NOTHING",
                      (uploader_uid, now, [b.key for b in ordered]))
    last = {s.path: (s, b) for s, b in stamps}  # a path given twice: the later one
    await many(conn, "INSERT INTO file_digests(path, dev, inode, size, mtime_ns, blob_key)"
               " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (path) DO UPDATE SET"
               " dev = excluded.dev, inode = excluded.inode, size = excluded.size,"
               " mtime_ns = excluded.mtime_ns, blob_key = excluded.blob_key",
               [(s.path, s.dev, s.inode, s.size, s.mtime_ns, b.key)
                for s, b in sorted(last.values(), key=lambda sb: sb[0].path)])
