"""The store contract against the embedded SQLite backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.daemon.store.contract import MetadataStoreContract
from trackd_daemon.store import open_store as open_store_url
from trackd_daemon.store.base import MetadataStore


class TestSqliteStore(MetadataStoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> Callable[[], Awaitable[MetadataStore]]:
        url = f"sqlite:///{tmp_path / 'data' / 'trackd.db'}"
        return lambda: open_store_url(url)


V1_SCHEMA = [
    "CREATE TABLE projects (id INTEGER PRIMARY KEY, entity TEXT NOT NULL, name TEXT NOT NULL,"
    " created_at REAL NOT NULL, run_count INTEGER NOT NULL DEFAULT 0, UNIQUE (entity, name))",
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, run_id TEXT NOT NULL,"
    " name TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT"
    " '[]', group_name TEXT NOT NULL DEFAULT '', job_type TEXT NOT NULL DEFAULT '', state TEXT"
    " NOT NULL, exit_code INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL"
    " NOT NULL, finished_at REAL NOT NULL DEFAULT 0, config TEXT NOT NULL DEFAULT '{}', summary"
    " TEXT NOT NULL DEFAULT '{}', metrics TEXT NOT NULL DEFAULT '[]', history_rows INTEGER NOT"
    " NULL DEFAULT 0, last_step INTEGER NOT NULL DEFAULT -1, host TEXT NOT NULL DEFAULT '',"
    " program TEXT NOT NULL DEFAULT '', start_time REAL NOT NULL DEFAULT 0, sweep_id TEXT NOT"
    " NULL DEFAULT '', request_id TEXT NOT NULL DEFAULT '', ingested_seq INTEGER NOT NULL"
    " DEFAULT 0, UNIQUE (project_id, run_id))",
    "CREATE TABLE history (run INTEGER NOT NULL, step INTEGER NOT NULL, row BLOB NOT NULL,"
    " PRIMARY KEY (run, step)) WITHOUT ROWID",
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    "INSERT INTO projects VALUES (1, 'e', 'p', 1.0, 1)",
    "INSERT INTO runs (id, project_id, run_id, name, state, created_at, updated_at)"
    " VALUES (1, 1, 'old', 'old-run-1', 'finished', 1.0, 1.0)",
]


def _v1_store(path: Path) -> Path:
    import sqlite3

    db = sqlite3.connect(path)
    for stmt in V1_SCHEMA:
        db.execute(stmt)
    db.commit()
    db.close()
    return path


@pytest.mark.anyio
async def test_a_v1_store_is_migrated_forward_once(tmp_path: Path) -> None:
    import sqlite3

    from trackd_daemon.store.models import RunKey
    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = _v1_store(tmp_path / "old.db")
    for _ in range(2):  # the second open finds it migrated already
        store = await open_store_url(f"sqlite:///{path}")
        old = await store.get_run(RunKey("e", "p", "old"))
        assert old.name == "old-run-1" and old.state == "finished"
        assert (old.fork_run_id, old.fork_step, old.writer_seqs) == ("", -1, {})
        assert old.owner_uid == -1  # made before runs had owners
        assert old.owner_name == ""  # and before they recorded their creator's name
        await store.aclose()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


@pytest.mark.anyio
async def test_concurrent_opens_of_an_old_store_migrate_it_once(tmp_path: Path) -> None:
    """Two daemons (say, one per node on a shared filesystem) open a v1 store at once: the
    migration runs under SQLite's write lock, so exactly one of them applies it."""
    import sqlite3

    import anyio

    from trackd_daemon.store.models import RunKey
    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = _v1_store(tmp_path / "old.db")
    stores = []

    async def open_one() -> None:
        stores.append(await open_store_url(f"sqlite:///{path}"))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(open_one)
    for store in stores:
        assert (await store.get_run(RunKey("e", "p", "old"))).owner_uid == -1
        await store.aclose()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    columns = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    assert columns.count("owner_uid") == 1 and columns.count("fork_run_id") == 1
    db.close()


@pytest.mark.anyio
async def test_a_v6_store_gains_staged_artifact_entries(tmp_path: Path) -> None:
    import sqlite3

    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = tmp_path / "v6.db"
    await (await open_store_url(f"sqlite:///{path}")).aclose()
    db = sqlite3.connect(path)  # as a v6 daemon left it: entries without the staged column
    db.execute("ALTER TABLE artifact_entries DROP COLUMN staged")
    db.execute("UPDATE schema_version SET version = 6")
    db.commit()
    db.close()
    await (await open_store_url(f"sqlite:///{path}")).aclose()
    db = sqlite3.connect(path)
    assert "staged" in [r[1] for r in db.execute("PRAGMA table_info(artifact_entries)")]
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


@pytest.mark.anyio
async def test_a_v7_store_keeps_its_blob_keys_under_the_renamed_columns(tmp_path: Path) -> None:
    """v8 names the key columns ``blob_key``; a v7 store's keys (SHA-256) stay as they were."""
    import sqlite3

    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = tmp_path / "v7.db"
    await (await open_store_url(f"sqlite:///{path}")).aclose()
    db = sqlite3.connect(path)  # as a v7 daemon left it: key columns named after SHA-256
    old = {"artifact_entries": "blob_sha256", "blobs": "sha256", "blob_uploads": "sha256",
           "file_digests": "sha256", "run_files": "sha256"}
    for table, column in old.items():
        db.execute(f"ALTER TABLE {table} RENAME COLUMN blob_key TO {column}")
    key = "ab" * 32
    db.execute("INSERT INTO blobs(sha256, md5, size, created_at) VALUES (?, 'bWQ1', 3, 0)", (key,))
    db.execute("INSERT INTO blob_uploads(sha256, uid, created_at) VALUES (?, 1000, 0)", (key,))
    db.execute("UPDATE schema_version SET version = 7")
    db.commit()
    db.close()
    store = await open_store_url(f"sqlite:///{path}")
    blob = await store.get_blob(key)
    assert blob is not None and (blob.key, blob.md5, blob.size) == (key, "bWQ1", 3)
    assert await store.blob_uploaded_by(key, 1000)
    await store.aclose()
    db = sqlite3.connect(path)
    for table in old:
        assert "blob_key" in [r[1] for r in db.execute(f"PRAGMA table_info({table})")], table
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


@pytest.mark.anyio
async def test_a_v8_store_gains_run_crash_grace_and_proxies(tmp_path: Path) -> None:
    import sqlite3

    from trackd_daemon.store.models import NewRun, RunKey
    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = tmp_path / "v8.db"
    store = await open_store_url(f"sqlite:///{path}")
    await store.create_run(NewRun(RunKey("e", "p", "old")))
    await store.aclose()
    db = sqlite3.connect(path)  # as a v8 daemon left it: runs without the three columns
    for column in ("crash_grace", "http_proxy", "https_proxy"):
        db.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    db.execute("UPDATE schema_version SET version = 8")
    db.commit()
    db.close()
    store = await open_store_url(f"sqlite:///{path}")
    old = await store.get_run(RunKey("e", "p", "old"))
    assert (old.crash_grace, old.http_proxy, old.https_proxy) == (0.0, "", "")
    await store.aclose()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


@pytest.mark.anyio
async def test_a_v10_store_gains_workspace_views(tmp_path: Path) -> None:
    import sqlite3

    from trackd_daemon.store.sqlite import SCHEMA_VERSION

    path = tmp_path / "v10.db"
    await (await open_store_url(f"sqlite:///{path}")).aclose()
    db = sqlite3.connect(path)  # as a v10 daemon left it: no workspace views
    db.execute("DROP TABLE workspace_views")
    db.execute("UPDATE schema_version SET version = 10")
    db.commit()
    db.close()
    store = await open_store_url(f"sqlite:///{path}")
    try:
        await store.put_workspace_view("ent", "proj", "default", "{}", 1.0)
        assert [v.name for v in await store.list_workspace_views("ent", "proj")] == ["default"]
    finally:
        await store.aclose()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()
