"""SQLite artifact tables: schema, and the row helpers the artifact mixins share (each runs on
a connection inside the caller's transaction or read)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from trackd_daemon.errors import ArtifactNotFoundError, RunNotFoundError
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

ARTIFACT_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS artifact_collections (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        is_portfolio INTEGER NOT NULL DEFAULT 0,
        owner_uid INTEGER NOT NULL DEFAULT -1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        next_index INTEGER NOT NULL DEFAULT 0,
        owner_name TEXT NOT NULL DEFAULT '',
        UNIQUE (project_id, name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS artifact_versions (
        id TEXT PRIMARY KEY,
        collection_id INTEGER NOT NULL REFERENCES artifact_collections(id),
        version_index INTEGER NOT NULL DEFAULT -1,
        state TEXT NOT NULL,
        digest TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        requested_aliases TEXT NOT NULL DEFAULT '[]',
        ttl_seconds INTEGER NOT NULL DEFAULT -1,
        expires_at REAL NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        file_count INTEGER NOT NULL DEFAULT 0,
        commit_hash TEXT NOT NULL DEFAULT '',
        run_id INTEGER REFERENCES runs(id),
        history_step INTEGER NOT NULL DEFAULT -1,
        distributed_id TEXT NOT NULL DEFAULT '',
        base_id TEXT NOT NULL DEFAULT '',
        incremental INTEGER NOT NULL DEFAULT 0,
        owner_uid INTEGER NOT NULL DEFAULT -1,
        request_id TEXT NOT NULL DEFAULT '',
        commit_requested INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        replaced_by TEXT NOT NULL DEFAULT '',
        owner_name TEXT NOT NULL DEFAULT ''
    )
    """,
    ("CREATE INDEX IF NOT EXISTS artifact_versions_collection"
     " ON artifact_versions(collection_id, version_index)"),
    "CREATE INDEX IF NOT EXISTS artifact_versions_digest ON artifact_versions(collection_id, digest)",
    "CREATE INDEX IF NOT EXISTS artifact_versions_state ON artifact_versions(state, expires_at)",
    """
    CREATE TABLE IF NOT EXISTS artifact_entries (
        id INTEGER PRIMARY KEY,
        version_id TEXT NOT NULL,
        path TEXT NOT NULL,
        digest TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT -1,
        ref TEXT NOT NULL DEFAULT '',
        birth_artifact_id TEXT NOT NULL DEFAULT '',
        extra TEXT NOT NULL DEFAULT '',
        blob_key TEXT NOT NULL DEFAULT '',
        local_path TEXT NOT NULL DEFAULT '',
        staged INTEGER NOT NULL DEFAULT 0,
        UNIQUE (version_id, path)
    )
    """,
    "CREATE INDEX IF NOT EXISTS artifact_entries_blob ON artifact_entries(blob_key)",
    """
    CREATE TABLE IF NOT EXISTS artifact_aliases (
        collection_id INTEGER NOT NULL,
        alias TEXT NOT NULL,
        version_id TEXT NOT NULL,
        PRIMARY KEY (collection_id, alias)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS artifact_aliases_version ON artifact_aliases(version_id)",
    """
    CREATE TABLE IF NOT EXISTS artifact_links (
        portfolio_id INTEGER NOT NULL,
        version_id TEXT NOT NULL,
        version_index INTEGER NOT NULL,
        owner_uid INTEGER NOT NULL,
        created_at REAL NOT NULL,
        owner_name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (portfolio_id, version_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS artifact_links_version ON artifact_links(version_id)",
    """
    CREATE TABLE IF NOT EXISTS artifact_runs (
        version_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        use_as TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        PRIMARY KEY (version_id, run_id, kind)
    )
    """,
    "CREATE INDEX IF NOT EXISTS artifact_runs_run ON artifact_runs(run_id, kind)",
    """
    CREATE TABLE IF NOT EXISTS blobs (
        blob_key TEXT PRIMARY KEY,
        md5 TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS blobs_md5 ON blobs(md5, size)",
    """
    CREATE TABLE IF NOT EXISTS blob_uploads (
        blob_key TEXT NOT NULL,
        uid INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (blob_key, uid)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS file_digests (
        path TEXT PRIMARY KEY,
        dev INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        blob_key TEXT NOT NULL
    ) WITHOUT ROWID
    """,
]

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
VERSION_RE = re.compile(r"^v(\d+)$")

dumps = json.dumps
loads = json.loads


def add_staged_column(conn: sqlite3.Connection) -> None:
    """Migration to v7: ``artifact_entries.staged``, unless the table has it already (made by
    this version's schema because the store predates artifacts)."""
    if "staged" not in {r[1] for r in conn.execute("PRAGMA table_info(artifact_entries)")}:
        conn.execute("ALTER TABLE artifact_entries ADD COLUMN staged INTEGER NOT NULL DEFAULT 0")


#: Columns holding blob keys, by table, as named before v8 (they held hex SHA-256 only then).
_OLD_KEY_COLUMNS = {"artifact_entries": "blob_sha256", "blobs": "sha256",
                    "blob_uploads": "sha256", "file_digests": "sha256", "run_files": "sha256"}


def rename_key_columns(conn: sqlite3.Connection) -> None:
    """Migration to v8: the columns of blob keys are named ``blob_key`` (a key is the hash the
    blob store keys by, BLAKE3 in a new store; an existing store keeps its SHA-256 keys, so
    the values stay). Tables made by this version's schema have the new name already."""
    for table, old in _OLD_KEY_COLUMNS.items():
        if old in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO blob_key")


def entry_from_row(r: tuple[Any, ...]) -> Entry:
    return Entry(path=r[0], digest=r[1], size=r[2], ref=r[3], birth_artifact_id=r[4],
                 extra=r[5], blob_key=r[6], local_path=r[7], id=r[8], staged=bool(r[9]))


def select_entries(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[Entry]:
    return [entry_from_row(r) for r in conn.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM artifact_entries WHERE {where}", args)]


def insert_entries(conn: sqlite3.Connection, version_id: str, entries: list[Entry]) -> None:
    """Insert (replacing by path) entries of a version."""
    rows = []
    for e in entries:
        local = "" if e.blob_key or e.ref else e.local_path
        rows.append((version_id, e.path, e.digest, e.size, e.ref, e.birth_artifact_id, e.extra,
                     e.blob_key, local, int(e.staged and bool(local))))
    conn.executemany(
        "INSERT OR REPLACE INTO artifact_entries(version_id, path, digest, size, ref,"
        " birth_artifact_id, extra, blob_key, local_path, staged)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def project_id(conn: sqlite3.Connection, entity: str, project: str, create: bool) -> int | None:
    if create:
        conn.execute("INSERT OR IGNORE INTO projects(entity, name, created_at) VALUES (?, ?, ?)",
                     (entity, project, time.time()))
    row = conn.execute("SELECT id FROM projects WHERE entity = ? AND name = ?",
                       (entity, project)).fetchone()
    return None if row is None else int(row[0])


def run_pk(conn: sqlite3.Connection, run: RunKey) -> int:
    row = conn.execute(
        "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id"
        " WHERE p.entity = ? AND p.name = ? AND r.run_id = ?",
        (run.entity, run.project, run.run_id)).fetchone()
    if row is None:
        raise RunNotFoundError(f"run {run} not found", run=str(run))
    return int(row[0])


def collection_row(conn: sqlite3.Connection, key: CollectionKey) -> tuple[Any, ...] | None:
    """(id, type, is_portfolio, owner_uid, next_index) of a collection, or None."""
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT c.id, c.type, c.is_portfolio, c.owner_uid, c.next_index"
        " FROM artifact_collections c JOIN projects p ON p.id = c.project_id"
        " WHERE p.entity = ? AND p.name = ? AND c.name = ?",
        (key.entity, key.project, key.name)).fetchone()


def _links(conn: sqlite3.Connection, version_id: str) -> list[LinkInfo]:
    rows = conn.execute(
        "SELECT l.portfolio_id, p.entity, p.name, c.name, l.version_index, l.owner_uid,"
        " l.created_at, l.owner_name FROM artifact_links l"
        " JOIN artifact_collections c ON c.id = l.portfolio_id"
        " JOIN projects p ON p.id = c.project_id WHERE l.version_id = ? ORDER BY l.created_at",
        (version_id,)).fetchall()
    return [LinkInfo(CollectionKey(r[1], r[2], r[3]), r[4], aliases_of(conn, r[0], version_id),
                     r[5], r[6], r[7]) for r in rows]


def aliases_of(conn: sqlite3.Connection, collection_id: int, version_id: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT alias FROM artifact_aliases WHERE collection_id = ? AND version_id = ?"
        " ORDER BY alias", (collection_id, version_id))]


def _version_from_row(conn: sqlite3.Connection, r: tuple[Any, ...]) -> VersionInfo:
    committed = r[6] == COMMITTED
    logged_by = RunKey(r[18], r[19], r[20]) if r[20] is not None else None
    return VersionInfo(
        id=r[0], key=CollectionKey(r[1], r[2], r[3]), type=r[4], version_index=r[5], state=r[6],
        digest=r[7], description=r[8], metadata=loads(r[9]),
        aliases=(aliases_of(conn, r[31], r[0]) if committed
                 else sorted({*loads(r[30]), LATEST}) if r[6] == PENDING else []),
        tags=loads(r[10]), ttl_seconds=r[11], expires_at=r[12], created_at=r[13],
        updated_at=r[14], size=r[15], file_count=r[16], commit_hash=r[17], logged_by=logged_by,
        history_step=r[21], distributed_id=r[22], base_id=r[23], incremental=bool(r[24]),
        owner_uid=r[25], collection_owner_uid=r[26], commit_requested=bool(r[27]), error=r[28],
        replaced_by=r[29], links=_links(conn, r[0]) if committed else [], owner_name=r[32],
        collection_owner_name=r[33],
    )


def load_version(conn: sqlite3.Connection, version_id: str) -> VersionInfo | None:
    row = conn.execute(f"{_VERSION_SELECT} WHERE v.id = ?", (version_id,)).fetchone()
    return None if row is None else _version_from_row(conn, row)


def must_version(conn: sqlite3.Connection, version_id: str, state: str = "") -> VersionInfo:
    """A version (in ``state`` when given).

    :raises ArtifactNotFoundError: none.
    """
    v = load_version(conn, version_id)
    if v is None or (state and v.state != state):
        what = f"{state.lower()} artifact version" if state else "artifact version"
        raise ArtifactNotFoundError(f"no {what} with id {version_id!r}", id=version_id)
    return v


def versions_where(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[VersionInfo]:
    return [_version_from_row(conn, r) for r in conn.execute(f"{_VERSION_SELECT} WHERE {where}",
                                                              args)]


def link_view(conn: sqlite3.Connection, version_id: str, portfolio: CollectionKey) -> VersionInfo:
    """A committed version as seen through its link into ``portfolio``.

    :raises ArtifactNotFoundError: it is not linked there.
    """
    v = must_version(conn, version_id, COMMITTED)
    for link in v.links:
        if link.portfolio == portfolio:
            v.link = link
            v.aliases = link.aliases
            return v
    raise ArtifactNotFoundError(f"artifact {version_id!r} is not linked into {portfolio}",
                                id=version_id, portfolio=str(portfolio))


def set_alias(conn: sqlite3.Connection, collection_id: int, alias: str, version_id: str) -> None:
    conn.execute("INSERT OR REPLACE INTO artifact_aliases(collection_id, alias, version_id)"
                 " VALUES (?, ?, ?)", (collection_id, alias, version_id))


def ensure_latest(conn: sqlite3.Connection, collection_id: int, is_portfolio: bool) -> None:
    """Point "latest" at the newest version (or link) when nothing holds it."""
    if conn.execute("SELECT 1 FROM artifact_aliases WHERE collection_id = ? AND alias = ?",
                    (collection_id, LATEST)).fetchone():
        return
    if is_portfolio:
        row = conn.execute("SELECT version_id FROM artifact_links WHERE portfolio_id = ?"
                           " ORDER BY version_index DESC LIMIT 1", (collection_id,)).fetchone()
    else:
        row = conn.execute("SELECT id FROM artifact_versions WHERE collection_id = ? AND state = ?"
                           " ORDER BY version_index DESC LIMIT 1",
                           (collection_id, COMMITTED)).fetchone()
    if row is not None:
        set_alias(conn, collection_id, LATEST, row[0])


def collection_info(conn: sqlite3.Connection, r: tuple[Any, ...]) -> CollectionInfo:
    """From (id, entity, project, name, type, is_portfolio, created_at, updated_at, owner uid,
    owner name)."""
    cid, portfolio = r[0], bool(r[5])
    if portfolio:
        (count,) = conn.execute("SELECT COUNT(*) FROM artifact_links WHERE portfolio_id = ?",
                                (cid,)).fetchone()
    else:
        (count,) = conn.execute("SELECT COUNT(*) FROM artifact_versions WHERE collection_id = ?"
                                " AND state = ?", (cid, COMMITTED)).fetchone()
    aliases = [a for (a,) in conn.execute(
        "SELECT alias FROM artifact_aliases WHERE collection_id = ? ORDER BY alias", (cid,))]
    return CollectionInfo(CollectionKey(r[1], r[2], r[3]), r[4], portfolio, count, r[6], r[7],
                          aliases, r[8], r[9])


COLLECTION_SELECT = (
    "SELECT c.id, p.entity, p.name, c.name, c.type, c.is_portfolio, c.created_at, c.updated_at,"
    " c.owner_uid, c.owner_name FROM artifact_collections c"
    " JOIN projects p ON p.id = c.project_id"
)
