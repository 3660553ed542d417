"""SQLite artifact store, part 2: updates, deletion, links and lineage (a mixin of
:class:`~trackd_daemon.store.sqlite.SqliteStore`)."""

from __future__ import annotations

import sqlite3
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
from trackd_daemon.store.sqlite_artifact_rows import (
    collection_row,
    dumps,
    ensure_latest,
    link_view,
    load_version,
    must_version,
    project_id,
    run_pk,
    set_alias,
)


def _replace_aliases(conn: sqlite3.Connection, collection_id: int, version_id: str,
                     aliases: list[str], is_portfolio: bool) -> None:
    """Make ``aliases`` the version's set in the collection; "latest" is only ever added here
    (it leaves a version when another takes it)."""
    keep = set(aliases) | {LATEST}
    held = [a for (a,) in conn.execute(
        "SELECT alias FROM artifact_aliases WHERE collection_id = ? AND version_id = ?",
        (collection_id, version_id))]
    for alias in held:
        if alias not in keep:
            conn.execute("DELETE FROM artifact_aliases WHERE collection_id = ? AND alias = ?",
                         (collection_id, alias))
    for alias in aliases:
        set_alias(conn, collection_id, alias, version_id)
    ensure_latest(conn, collection_id, is_portfolio)


def _portfolio_id(conn: sqlite3.Connection, portfolio: CollectionKey) -> int:
    row = collection_row(conn, portfolio)
    if row is None or not row[2]:
        raise ArtifactNotFoundError(f"no portfolio {portfolio}", portfolio=str(portfolio))
    return int(row[0])


class SqliteArtifactChanges:
    """Updates, deletion, links and lineage (mixed into ``SqliteStore``)."""

    _write: Any
    _read: Any

    async def update_version(self, version_id: str, changes: VersionChanges,
                             portfolio: CollectionKey | None = None) -> VersionInfo:
        def update(conn: sqlite3.Connection) -> None:
            v = must_version(conn, version_id, COMMITTED)
            now = time.time()
            if portfolio is not None:
                link_view(conn, version_id, portfolio)  # raises when not linked there
                if changes.aliases is not None:
                    _replace_aliases(conn, _portfolio_id(conn, portfolio), version_id,
                                     changes.aliases, True)
                return
            sets: list[str] = ["updated_at = ?"]
            args: list[Any] = [now]
            if changes.description is not None:
                sets.append("description = ?")
                args.append(changes.description)
            if changes.metadata is not None:
                sets.append("metadata = ?")
                args.append(dumps(changes.metadata))
            if changes.tags is not None:
                sets.append("tags = ?")
                args.append(dumps(list(dict.fromkeys(changes.tags))))
            if changes.ttl_seconds is not None:
                sets += ["ttl_seconds = ?", "expires_at = ?"]
                ttl = changes.ttl_seconds
                args += [ttl, v.created_at + ttl if ttl > 0 else 0.0]
            conn.execute(f"UPDATE artifact_versions SET {', '.join(sets)} WHERE id = ?",
                         (*args, version_id))
            if changes.aliases is not None:
                coll = collection_row(conn, v.key)
                assert coll is not None
                _replace_aliases(conn, coll[0], version_id, changes.aliases, False)

        await self._write(update)
        if portfolio is not None:
            return await self.get_link(version_id, portfolio)  # type: ignore[attr-defined,no-any-return]
        return await self.get_version(version_id)  # type: ignore[attr-defined,no-any-return]

    async def delete_version(self, version_id: str, delete_aliases: bool = False,
                             now: float = 0.0) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            v = load_version(conn, version_id)
            if v is None or v.state == DELETED:
                raise ArtifactNotFoundError(f"no artifact version with id {version_id!r}",
                                            id=version_id)
            aliases = v.aliases if v.state == COMMITTED else []
            if aliases and not delete_aliases:
                raise ArtifactHasAliasesError(
                    f"artifact {v.key}:{v.version} has aliases {', '.join(aliases)}: delete "
                    "them too (delete_aliases=True) or remove them first",
                    id=version_id, aliases=",".join(aliases))
            coll = collection_row(conn, v.key)
            assert coll is not None
            portfolios = [p for (p,) in conn.execute(
                "SELECT portfolio_id FROM artifact_links WHERE version_id = ?", (version_id,))]
            conn.execute("DELETE FROM artifact_links WHERE version_id = ?", (version_id,))
            conn.execute("DELETE FROM artifact_aliases WHERE version_id = ?", (version_id,))
            conn.execute("DELETE FROM artifact_entries WHERE version_id = ?", (version_id,))
            conn.execute("UPDATE artifact_versions SET state = ?, updated_at = ? WHERE id = ?",
                         (DELETED, now or time.time(), version_id))
            ensure_latest(conn, coll[0], False)
            for pid in portfolios:
                ensure_latest(conn, pid, True)

        await self._write(delete)

    async def link_version(self, version_id: str, portfolio: CollectionKey, aliases: list[str],
                           owner_uid: int, now: float = 0.0,
                           owner_name: str = "") -> VersionInfo:
        def link(conn: sqlite3.Connection) -> None:
            v = must_version(conn, version_id, COMMITTED)
            at = now or time.time()
            pid = project_id(conn, portfolio.entity, portfolio.project, create=True)
            row = collection_row(conn, portfolio)
            if row is None:
                cur = conn.execute(
                    "INSERT INTO artifact_collections(project_id, name, type, is_portfolio,"
                    " owner_uid, created_at, updated_at, owner_name)"
                    " VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                    (pid, portfolio.name, v.type, owner_uid, at, at, owner_name))
                cid, index = int(cur.lastrowid or 0), 0
            else:
                cid, type_, is_portfolio, _, index = row
                if not is_portfolio:
                    raise FailedPreconditionError(
                        f"{portfolio} holds logged versions; link into a portfolio (another "
                        "name, or a registry project)", portfolio=str(portfolio))
                if type_ != v.type:
                    raise FailedPreconditionError(
                        f"portfolio {portfolio} holds artifacts of type {type_!r}, not {v.type!r}",
                        portfolio=str(portfolio))
            if not conn.execute("SELECT 1 FROM artifact_links WHERE portfolio_id = ? AND"
                                " version_id = ?", (cid, version_id)).fetchone():
                conn.execute("INSERT INTO artifact_links(portfolio_id, version_id, version_index,"
                             " owner_uid, created_at, owner_name) VALUES (?, ?, ?, ?, ?, ?)",
                             (cid, version_id, index, owner_uid, at, owner_name))
                conn.execute("UPDATE artifact_collections SET next_index = ?, updated_at = ?"
                             " WHERE id = ?", (index + 1, at, cid))
                set_alias(conn, cid, LATEST, version_id)
            for alias in aliases:
                set_alias(conn, cid, alias, version_id)

        await self._write(link)
        return await self.get_link(version_id, portfolio)  # type: ignore[attr-defined,no-any-return]

    async def unlink_version(self, version_id: str, portfolio: CollectionKey) -> None:
        def unlink(conn: sqlite3.Connection) -> None:
            link_view(conn, version_id, portfolio)  # raises when not linked there
            pid = _portfolio_id(conn, portfolio)
            conn.execute("DELETE FROM artifact_links WHERE portfolio_id = ? AND version_id = ?",
                         (pid, version_id))
            conn.execute("DELETE FROM artifact_aliases WHERE collection_id = ? AND"
                         " version_id = ?", (pid, version_id))
            ensure_latest(conn, pid, True)

        await self._write(unlink)

    # -- lineage -------------------------------------------------------------------------------

    async def record_use(self, version_id: str, run: RunKey, kind: str, use_as: str = "") -> None:
        def record(conn: sqlite3.Connection) -> None:
            must_version(conn, version_id)
            conn.execute("INSERT OR IGNORE INTO artifact_runs(version_id, run_id, kind, use_as,"
                         " created_at) VALUES (?, ?, ?, ?, ?)",
                         (version_id, run_pk(conn, run), kind, use_as, time.time()))

        await self._write(record)

    async def lineage(self, version_id: str) -> tuple[RunKey | None, list[RunKey]]:
        def read(conn: sqlite3.Connection) -> tuple[RunKey | None, list[RunKey]]:
            v = must_version(conn, version_id)
            used = [RunKey(*r) for r in conn.execute(
                "SELECT p.entity, p.name, r.run_id FROM artifact_runs a JOIN runs r"
                " ON r.id = a.run_id JOIN projects p ON p.id = r.project_id"
                " WHERE a.version_id = ? AND a.kind = ? ORDER BY a.created_at, a.rowid",
                (version_id, USED))]
            return v.logged_by, used

        return await self._read(read)  # type: ignore[no-any-return]

    async def run_versions(self, run: RunKey, kind: str) -> list[VersionInfo]:
        def read(conn: sqlite3.Connection) -> list[VersionInfo]:
            ids = [vid for (vid,) in conn.execute(
                "SELECT version_id FROM artifact_runs WHERE run_id = ? AND kind = ?"
                " ORDER BY created_at, rowid", (run_pk(conn, run), kind if kind == USED
                                                else LOGGED))]
            found = (load_version(conn, vid) for vid in ids)
            return [v for v in found if v is not None and v.state != DELETED]

        return await self._read(read)  # type: ignore[no-any-return]
