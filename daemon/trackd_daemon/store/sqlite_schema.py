"""The SQLite store's schema, and the forward-only migrations that bring an older store to it
(each daemon runs them when it opens the file, in the transaction that checks the version)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from trackd_daemon.store.sqlite_artifact_rows import (
    ARTIFACT_SCHEMA,
    add_staged_column,
    rename_key_columns,
)
from trackd_daemon.store.sqlite_run_data import RUN_DATA_SCHEMA
from trackd_daemon.store.sqlite_sweeps import SWEEP_SCHEMA
from trackd_daemon.store.sqlite_workspace import WORKSPACE_SCHEMA

SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS projects (
        id INTEGER PRIMARY KEY,
        entity TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        run_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (entity, name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        run_id TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        group_name TEXT NOT NULL DEFAULT '',
        job_type TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        exit_code INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL NOT NULL DEFAULT 0,
        config TEXT NOT NULL DEFAULT '{}',
        summary TEXT NOT NULL DEFAULT '{}',
        metrics TEXT NOT NULL DEFAULT '[]',
        history_rows INTEGER NOT NULL DEFAULT 0,
        last_step INTEGER NOT NULL DEFAULT -1,
        host TEXT NOT NULL DEFAULT '',
        program TEXT NOT NULL DEFAULT '',
        start_time REAL NOT NULL DEFAULT 0,
        sweep_id TEXT NOT NULL DEFAULT '',
        request_id TEXT NOT NULL DEFAULT '',
        ingested_seq INTEGER NOT NULL DEFAULT 0,
        fork_run_id TEXT NOT NULL DEFAULT '',
        fork_step INTEGER NOT NULL DEFAULT -1,
        writer_seqs TEXT NOT NULL DEFAULT '{}',
        owner_uid INTEGER NOT NULL DEFAULT -1,
        crash_grace REAL NOT NULL DEFAULT 0,
        http_proxy TEXT NOT NULL DEFAULT '',
        https_proxy TEXT NOT NULL DEFAULT '',
        shared INTEGER NOT NULL DEFAULT 0,
        owner_name TEXT NOT NULL DEFAULT '',
        UNIQUE (project_id, run_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS runs_state ON runs(state)",
    # The listing order (newest first), per project and overall: a page of ListRuns reads
    # its runs in order, never sorting (or reading) the others.
    "CREATE INDEX IF NOT EXISTS runs_listing ON runs(project_id, created_at, id)",
    "CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at, id)",
    """
    CREATE TABLE IF NOT EXISTS history (
        run INTEGER NOT NULL,
        step INTEGER NOT NULL,
        row BLOB NOT NULL,
        PRIMARY KEY (run, step)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS rewound_history (
        run INTEGER NOT NULL,
        step INTEGER NOT NULL,
        row BLOB NOT NULL,
        PRIMARY KEY (run, step)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY,
        run INTEGER NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        level TEXT NOT NULL,
        timestamp REAL NOT NULL,
        wait_ms INTEGER NOT NULL,
        suppressed INTEGER NOT NULL,
        delivered_at REAL NOT NULL DEFAULT 0,
        UNIQUE (run, seq)
    )
    """,
    "CREATE INDEX IF NOT EXISTS alerts_pending ON alerts(delivered_at, suppressed)",
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    *ARTIFACT_SCHEMA,
    *RUN_DATA_SCHEMA,
    *SWEEP_SCHEMA,
    *WORKSPACE_SCHEMA,
]
#: Columns added in v9 (see :func:`add_run_option_columns`).
_RUN_OPTION_COLUMNS = {"crash_grace": "REAL NOT NULL DEFAULT 0",
                       "http_proxy": "TEXT NOT NULL DEFAULT ''",
                       "https_proxy": "TEXT NOT NULL DEFAULT ''"}


def add_run_option_columns(conn: sqlite3.Connection) -> None:
    """Migration to v9: a run's crash grace and proxies, each unless the table has it already
    (a store made by this version's schema)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    for column, kind in _RUN_OPTION_COLUMNS.items():
        if column not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")


def add_shared_column(conn: sqlite3.Connection) -> None:
    """Migration to v12: runs say whether they are shared, unless the table has the column
    already (a store made by this version's schema, migrated from an older version number)."""
    if "shared" not in {r[1] for r in conn.execute("PRAGMA table_info(runs)")}:
        conn.execute("ALTER TABLE runs ADD COLUMN shared INTEGER NOT NULL DEFAULT 0")


def add_owner_name_columns(conn: sqlite3.Connection) -> None:
    """Migration to v13: the owner's user name of runs and artifact collections, versions and
    links, in each table that lacks it."""
    for table in ("runs", "artifact_collections", "artifact_versions", "artifact_links"):
        if "owner_name" not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN owner_name TEXT NOT NULL DEFAULT ''")


SCHEMA_VERSION = 13
#: Forward-only migrations: version reached -> statements, or steps called with the connection
#: (a v1 store gains fork lineage; runs of a v3 store get owner -1, "made before runs had
#: owners": only the daemon's user sees them).
MIGRATIONS: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
    2: [
        "ALTER TABLE runs ADD COLUMN fork_run_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN fork_step INTEGER NOT NULL DEFAULT -1",
    ],
    3: ["ALTER TABLE runs ADD COLUMN writer_seqs TEXT NOT NULL DEFAULT '{}'"],
    4: ["ALTER TABLE runs ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT -1"],
    # v5: artifacts, their blobs and the file-stamp digest cache (new tables only).
    5: [*ARTIFACT_SCHEMA],
    # v6: run files, console logs and system metrics (new tables only).
    6: [*RUN_DATA_SCHEMA],
    # v7: artifact entries say whether their local file is a staging copy the daemon may take.
    7: [add_staged_column],
    # v8: blob key columns are named blob_key (new blob stores key by BLAKE3, see blobs/keys.py).
    8: [rename_key_columns],
    # v9: a run keeps its crash grace and proxies (its client's heartbeat_seconds and
    # http(s)_proxy) across daemon restarts.
    9: [add_run_option_columns],
    # v10: sweeps and the runs they proposed (new tables only).
    10: [*SWEEP_SCHEMA],
    # v11: the dashboard's saved workspace views (a new table only).
    11: [*WORKSPACE_SCHEMA],
    # v12: a run says whether it is shared (writers on several daemons: store/shared_runs.py).
    12: [add_shared_column],
    # v13: runs and artifacts record their owner's user name (a team's access decisions
    # compare names: uids differ between machines). Those made before keep "" (decided by uid).
    13: [add_owner_name_columns],
}
