"""PostgreSQL artifact store, part 2: updates, deletion, links and lineage (a mixin of
:class:`~trackd_daemon.store.postgres.PostgresStore`). Links into a portfolio are numbered
under the portfolio's row lock, as versions are under their collection's."""

from __future__ import annotations

import time
from typing import Any

from trackd_daemon.errors import (
    ArtifactHasAliasesError,
    ArtifactNotFoundError,
    FailedPreconditionError,
)
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    DELETED,
    LATEST,
    LOGGED,
    USED,
    CollectionKey,
    VersionChanges,
    VersionInfo,
)
from trackd_daemon.store.models import RunKey
from trackd_daemon.store.postgres_artifact_rows import (
    collection_row,
    dumps,
    ensure_latest,
    link_view,
    load_version,
    must_version,
    set_alias,
)
from trackd_daemon.store.postgres_sql import Conn, project_id, row, rows, run, run_pk


async def _replace_aliases(conn: Conn, collection_id: int, version_id: str,
                           aliases: list[str], is_portfolio: bool) -> None:
    """Make ``aliases`` the version's set in the collection; "latest" is only ever added here
    (it leaves a version when another takes it)."""
    keep = set(aliases) | {LATEST}
    held = [a for (a,) in await rows(
        conn, "SELECT alias FROM artifact_aliases WHERE collection_id = %s AND version_id = %s",
        (collection_id, version_id))]
    for alias in held:
        if alias not in keep:
            await run(conn, "DELETE FROM artifact_aliases WHERE collection_id = %s AND"
                      " alias = %s", (collection_id, alias))
    for alias in aliases:
        await set_alias(conn, collection_id, alias, version_id)
    await ensure_latest(conn, collection_id, is_portfolio)


async def _portfolio_id(conn: Conn, portfolio: CollectionKey) -> int:
    found = await collection_row(conn, portfolio)
    if found is None or not found[2]:
        raise ArtifactNotFoundError(f"no portfolio {portfolio}", portfolio=str(portfolio))
    return int(found[0])


class PgArtifactChanges:
    """Updates, deletion, links and lineage (mixed into ``PostgresStore``)."""

    _write: Any
    _read: Any

    async def update_version(self, version_id: str, changes: VersionChanges,
                             portfolio: CollectionKey | None = None) -> VersionInfo:
        async def update(conn: Conn) -> None:
            v = await must_version(conn, version_id, COMMITTED)
            now = time.time()
            if portfolio is not None:
                await link_view(conn, version_id, portfolio)  # raises when not linked there
                if changes.aliases is not None:
                    await _replace_aliases(conn, await _portfolio_id(conn, portfolio),
                                           version_id, changes.aliases, True)
                return
            sets: list[str] = ["updated_at = %s"]
            args: list[Any] = [now]
            if changes.description is not None:
                sets.append("description = %s")
                args.append(changes.description)
            if changes.metadata is not None:
                sets.append("metadata = %s")
                args.append(dumps(changes.metadata))
            if changes.tags is not None:
                sets.append("tags = %s")
                args.append(dumps(list(dict.fromkeys(changes.tags))))
            if changes.ttl_seconds is not None:
                sets += ["ttl_seconds = %s", "expires_at = %s"]
                ttl = changes.ttl_seconds
                args += [ttl, v.created_at + ttl if ttl > 0 else 0.0]
            await run(conn, f"UPDATE artifact_versions SET {', '.join(sets)} WHERE id = %s",
                      (*args, version_id))
            if changes.aliases is not None:
                coll = await collection_row(conn, v.key)
                assert coll is not None
                await _replace_aliases(conn, coll[0], version_id, changes.aliases, False)

        await self._write(update)
        if portfolio is not None:
            return await self.get_link(version_id, portfolio)  # type: ignore[attr-defined,no-any-return]
        return await self.get_version(version_id)  # type: ignore[attr-defined,no-any-return]

    async def delete_version(self, version_id: str, delete_aliases: bool = False,
                             now: float = 0.0) -> None:
        async def delete(conn: Conn) -> None:
            v = await load_version(conn, version_id)
            if v is None or v.state == DELETED:
                raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}",
                                            id=version_id)
            aliases = v.aliases if v.state == COMMITTED else []
            if aliases and not delete_aliases:
                raise ArtifactHasAliasesError(
                    f"artifact {v.key}:{v.version} has aliases {', '.join(aliases)}: delete "
                    "them too (delete_aliases=True) or remove them first",
                    id=version_id, aliases=",".join(aliases))
            coll = await collection_row(conn, v.key, lock=True)
            assert coll is not None
            portfolios = [p for (p,) in await rows(
                conn, "SELECT portfolio_id FROM artifact_links WHERE version_id = %s",
                (version_id,))]
            await run(conn, "DELETE FROM artifact_links WHERE version_id = %s", (version_id,))
            await run(conn, "DELETE FROM artifact_aliases WHERE version_id = %s", (version_id,))
            await run(conn, "DELETE FROM artifact_entries WHERE version_id = %s", (version_id,))
            await run(conn, "UPDATE artifact_versions SET state = %s, updated_at = %s"
                      " WHERE id = %s", (DELETED, now or time.time(), version_id))
            await ensure_latest(conn, coll[0], False)
            for pid in portfolios:
                await ensure_latest(conn, pid, True)

        await self._write(delete)

    async def link_version(self, version_id: str, portfolio: CollectionKey, aliases: list[str],
                           owner_uid: int, now: float = 0.0,
                           owner_name: str = "") -> VersionInfo:
        async def link(conn: Conn) -> None:
            v = await must_version(conn, version_id, COMMITTED)
            at = now or time.time()
            pid = await project_id(conn, portfolio.entity, portfolio.project, create=True)
            await run(conn, "INSERT INTO artifact_collections(project_id, name, type,"
                      " is_portfolio, owner_uid, created_at, updated_at, owner_name)"
                      " VALUES (%s, %s, %s, 1, %s, %s, %s, %s)"
                      " ON CONFLICT (project_id, name) DO NOTHING",
                      (pid, portfolio.name, v.type, owner_uid, at, at, owner_name))
            found = await collection_row(conn, portfolio, lock=True)
            assert found is not None
            cid, type_, is_portfolio, _, index = found
            if not is_portfolio:
                raise FailedPreconditionError(
                    f"{portfolio} holds logged versions; link into a portfolio (another "
                    "name, or a registry project)", portfolio=str(portfolio))
            if type_ != v.type:
                raise FailedPreconditionError(
                    f"portfolio {portfolio} holds artifacts of type {type_!r}, not {v.type!r}",
                    portfolio=str(portfolio))
            if not await row(conn, "SELECT 1 FROM artifact_links WHERE portfolio_id = %s AND"
                             " version_id = %s", (cid, version_id)):
                await run(conn, "INSERT INTO artifact_links(portfolio_id, version_id,"
                          " version_index, owner_uid, created_at, owner_name)"
                          " VALUES (%s, %s, %s, %s, %s, %s)",
                          (cid, version_id, index, owner_uid, at, owner_name))
                await run(conn, "UPDATE artifact_collections SET next_index = %s,"
                          " updated_at = %s WHERE id = %s", (index + 1, at, cid))
                await set_alias(conn, cid, LATEST, version_id)
            for alias in aliases:
                await set_alias(conn, cid, alias, version_id)

        await self._write(link)
        return await self.get_link(version_id, portfolio)  # type: ignore[attr-defined,no-any-return]

    async def unlink_version(self, version_id: str, portfolio: CollectionKey) -> None:
        async def unlink(conn: Conn) -> None:
            await link_view(conn, version_id, portfolio)  # raises when not linked there
            pid = await _portfolio_id(conn, portfolio)
            await run(conn, "DELETE FROM artifact_links WHERE portfolio_id = %s AND"
                      " version_id = %s", (pid, version_id))
            await run(conn, "DELETE FROM artifact_aliases WHERE collection_id = %s AND"
                      " version_id = %s", (pid, version_id))
            await ensure_latest(conn, pid, True)

        await self._write(unlink)

    # -- lineage -------------------------------------------------------------------------------

    async def record_use(self, version_id: str, run: RunKey, kind: str, use_as: str = "") -> None:
        async def record(conn: Conn) -> None:
            await must_version(conn, version_id)
            await conn.execute(
                "INSERT INTO artifact_runs(version_id, run_id, kind, use_as, created_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (version_id, await run_pk(conn, run), kind, use_as, time.time()))

        await self._write(record)

    async def lineage(self, version_id: str) -> tuple[RunKey | None, list[RunKey]]:
        async def read(conn: Conn) -> tuple[RunKey | None, list[RunKey]]:
            v = await must_version(conn, version_id)
            used = [RunKey(*r) for r in await rows(
                conn, "SELECT p.entity, p.name, r.run_id FROM artifact_runs a JOIN runs r"
                " ON r.id = a.run_id JOIN projects p ON p.id = r.project_id"
                " WHERE a.version_id = %s AND a.kind = %s ORDER BY a.created_at, a.seq",
                (version_id, USED))]
            return v.logged_by, used

        return await self._read(read)  # type: ignore[no-any-return]

    async def run_versions(self, run: RunKey, kind: str) -> list[VersionInfo]:
        async def read(conn: Conn) -> list[VersionInfo]:
            ids = [vid for (vid,) in await rows(
                conn, "SELECT version_id FROM artifact_runs WHERE run_id = %s AND kind = %s"
                " ORDER BY created_at, seq",
                (await run_pk(conn, run), kind if kind == USED else LOGGED))]
            found = [await load_version(conn, vid) for vid in ids]
            return [v for v in found if v is not None and v.state != DELETED]

        return await self._read(read)  # type: ignore[no-any-return]
