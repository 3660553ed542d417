"""PostgreSQL artifact rows: the helpers the artifact mixins share (each runs on a connection
inside the caller's transaction or read). The tables are in ``postgres_schema.py``."""

from __future__ import annotations

import json
from typing import Any

from trackd_daemon.errors import ArtifactNotFoundError
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    LATEST,
    PENDING,
    CollectionInfo,
    CollectionKey,
    Entry,
    LinkInfo,
    VersionInfo,
)
from trackd_daemon.store.models import RunKey
from trackd_daemon.store.postgres_sql import Conn, many, row, rows, run

_VERSION_SELECT = (
    "SELECT v.id, p.entity, p.name, c.name, c.type, v.version_index, v.state, v.digest,"
    " v.description, v.metadata, v.tags, v.ttl_seconds, v.expires_at, v.created_at, v.updated_at,"
    " v.size, v.file_count, v.commit_hash, rp.entity, rp.name, r.run_id, v.history_step,"
    " v.distributed_id, v.base_id, v.incremental, v.owner_uid, c.owner_uid, v.commit_requested,"
    " v.error, v.replaced_by, v.requested_aliases, c.id, v.owner_name, c.owner_name"
    " FROM artifact_versions v JOIN artifact_collections c ON c.id = v.collection_id"
    " JOIN projects p ON p.id = c.project_id"
    " LEFT JOIN runs r ON r.id = v.run_id LEFT JOIN projects rp ON rp.id = r.project_id"
)
_ENTRY_COLUMNS = ("path, digest, size, ref, birth_artifact_id, extra, blob_key, local_path, id,"
                  " staged")
COLLECTION_SELECT = (
    "SELECT c.id, p.entity, p.name, c.name, c.type, c.is_portfolio, c.created_at, c.updated_at,"
    " c.owner_uid, c.owner_name FROM artifact_collections c"
    " JOIN projects p ON p.id = c.project_id"
)

dumps = json.dumps
loads = json.loads


def entry_from_row(r: tuple[Any, ...]) -> Entry:
    return Entry(path=r[0], digest=r[1], size=r[2], ref=r[3], birth_artifact_id=r[4],
                 extra=r[5], blob_key=r[6], local_path=r[7], id=r[8], staged=bool(r[9]))


async def select_entries(conn: Conn, where: str, args: tuple[Any, ...] | list[Any]
                         ) -> list[Entry]:
    return [entry_from_row(r) for r in await rows(
        conn, f"SELECT {_ENTRY_COLUMNS} FROM artifact_entries WHERE {where}", args)]


async def insert_entries(conn: Conn, version_id: str, entries: list[Entry]) -> None:
    """Insert (replacing by path: the later of two entries with one path) entries of a
    version; a replaced entry gets a new id, as a row replaced in SQLite does."""
    by_path: dict[str, tuple[Any, ...]] = {}
    for e in entries:
        local = "" if e.blob_key or e.ref else e.local_path
        by_path.pop(e.path, None)
        by_path[e.path] = (version_id, e.path, e.digest, e.size, e.ref, e.birth_artifact_id,
                           e.extra, e.blob_key, local, int(e.staged and bool(local)))
    if not by_path:
        return
    await run(conn, "DELETE FROM artifact_entries WHERE version_id = %s AND path = ANY(%s)",
              (version_id, list(by_path)))
    await many(conn, "INSERT INTO artifact_entries(version_id, path, digest, size, ref,"
               " birth_artifact_id, extra, blob_key, local_path, staged)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", list(by_path.values()))


async def collection_row(conn: Conn, key: CollectionKey, lock: bool = False
                         ) -> tuple[Any, ...] | None:
    """(id, type, is_portfolio, owner_uid, next_index) of a collection, or None; with
    ``lock``, its row is locked until the transaction ends (numbering versions or links)."""
    return await row(
        conn, "SELECT c.id, c.type, c.is_portfolio, c.owner_uid, c.next_index"
        " FROM artifact_collections c JOIN projects p ON p.id = c.project_id"
        " WHERE p.entity = %s AND p.name = %s AND c.name = %s"
        + (" FOR UPDATE OF c" if lock else ""), (key.entity, key.project, key.name))


async def _links(conn: Conn, version_id: str) -> list[LinkInfo]:
    found = await rows(
        conn, "SELECT l.portfolio_id, p.entity, p.name, c.name, l.version_index, l.owner_uid,"
        " l.created_at, l.owner_name FROM artifact_links l"
        " JOIN artifact_collections c ON c.id = l.portfolio_id"
        " JOIN projects p ON p.id = c.project_id WHERE l.version_id = %s ORDER BY l.created_at",
        (version_id,))
    return [LinkInfo(CollectionKey(r[1], r[2], r[3]), r[4],
                     await aliases_of(conn, r[0], version_id), r[5], r[6], r[7]) for r in found]


async def aliases_of(conn: Conn, collection_id: int, version_id: str) -> list[str]:
    return [r[0] for r in await rows(
        conn, "SELECT alias FROM artifact_aliases WHERE collection_id = %s AND version_id = %s"
        " ORDER BY alias", (collection_id, version_id))]


async def _version_from_row(conn: Conn, r: tuple[Any, ...]) -> VersionInfo:
    committed = r[6] == COMMITTED
    logged_by = RunKey(r[18], r[19], r[20]) if r[20] is not None else None
    return VersionInfo(
        id=r[0], key=CollectionKey(r[1], r[2], r[3]), type=r[4], version_index=r[5], state=r[6],
        digest=r[7], description=r[8], metadata=loads(r[9]),
        aliases=(await aliases_of(conn, r[31], r[0]) if committed
                 else sorted({*loads(r[30]), LATEST}) if r[6] == PENDING else []),
        tags=loads(r[10]), ttl_seconds=r[11], expires_at=r[12], created_at=r[13],
        updated_at=r[14], size=r[15], file_count=r[16], commit_hash=r[17], logged_by=logged_by,
        history_step=r[21], distributed_id=r[22], base_id=r[23], incremental=bool(r[24]),
        owner_uid=r[25], collection_owner_uid=r[26], commit_requested=bool(r[27]), error=r[28],
        replaced_by=r[29], links=await _links(conn, r[0]) if committed else [],
        owner_name=r[32], collection_owner_name=r[33],
    )


async def load_version(conn: Conn, version_id: str) -> VersionInfo | None:
    found = await row(conn, f"{_VERSION_SELECT} WHERE v.id = %s", (version_id,))
    return None if found is None else await _version_from_row(conn, found)


async def must_version(conn: Conn, version_id: str, state: str = "") -> VersionInfo:
    """A version (in ``state`` when given).

    :raises ArtifactNotFoundError: none.
    """
    v = await load_version(conn, version_id)
    if v is None or (state and v.state != state):
        what = f"{state.lower()} artifact version" if state else "artifact version"
        raise ArtifactNotFoundError(f"no {what} with id {version_id!r}", id=version_id)
    return v


async def versions_where(conn: Conn, where: str, args: tuple[Any, ...] | list[Any]
                         ) -> list[VersionInfo]:
    return [await _version_from_row(conn, r)
            for r in await rows(conn, f"{_VERSION_SELECT} WHERE {where}", args)]


async def link_view(conn: Conn, version_id: str, portfolio: CollectionKey) -> VersionInfo:
    """A committed version as seen through its link into ``portfolio``.

    :raises ArtifactNotFoundError: it is not linked there.
    """
    v = await must_version(conn, version_id, COMMITTED)
    for link in v.links:
        if link.portfolio == portfolio:
            v.link = link
            v.aliases = link.aliases
            return v
    raise ArtifactNotFoundError(f"artifact {version_id!r} is not linked into {portfolio}",
                                id=version_id, portfolio=str(portfolio))


async def set_alias(conn: Conn, collection_id: int, alias: str, version_id: str) -> None:
    await run(conn, "INSERT INTO artifact_aliases(collection_id, alias, version_id)"
              " VALUES (%s, %s, %s) ON CONFLICT (collection_id, alias)"
              " DO UPDATE SET version_id = excluded.version_id",
              (collection_id, alias, version_id))


async def ensure_latest(conn: Conn, collection_id: int, is_portfolio: bool) -> None:
    """Point "latest" at the newest version (or link) when nothing holds it."""
    if await row(conn, "SELECT 1 FROM artifact_aliases WHERE collection_id = %s AND alias = %s",
                 (collection_id, LATEST)):
        return
    if is_portfolio:
        found = await row(conn, "SELECT version_id FROM artifact_links WHERE portfolio_id = %s"
                          " ORDER BY version_index DESC LIMIT 1", (collection_id,))
    else:
        found = await row(conn, "SELECT id FROM artifact_versions WHERE collection_id = %s AND"
                          " state = %s ORDER BY version_index DESC LIMIT 1",
                          (collection_id, COMMITTED))
    if found is not None:
        await set_alias(conn, collection_id, LATEST, found[0])


async def collection_info(conn: Conn, r: tuple[Any, ...]) -> CollectionInfo:
    """From (id, entity, project, name, type, is_portfolio, created_at, updated_at, owner uid,
    owner name)."""
    cid, portfolio = r[0], bool(r[5])
    if portfolio:
        counted = await row(conn, "SELECT COUNT(*) FROM artifact_links WHERE portfolio_id = %s",
                            (cid,))
    else:
        counted = await row(conn, "SELECT COUNT(*) FROM artifact_versions WHERE"
                            " collection_id = %s AND state = %s", (cid, COMMITTED))
    aliases = [a for (a,) in await rows(
        conn, "SELECT alias FROM artifact_aliases WHERE collection_id = %s ORDER BY alias",
        (cid,))]
    return CollectionInfo(CollectionKey(r[1], r[2], r[3]), r[4], portfolio,
                          int(counted[0]) if counted else 0, r[6], r[7], aliases, r[8], r[9])
