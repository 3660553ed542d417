"""The store contract against the PostgreSQL backend, on a server the tests start
(``tests/postgres.py``), plus what only a shared database asks: several daemons (store
instances) migrating and writing one database at once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest

from tests.daemon.store.contract import MetadataStoreContract
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server
from trackd_daemon.store import open_store as open_store_url
from trackd_daemon.store.base import MetadataStore


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """A new, empty database's URL."""
    return postgres_server.create_database()


class TestPostgresStore(MetadataStoreContract):
    @pytest.fixture
    def open_store(self, database: str) -> Callable[[], Awaitable[MetadataStore]]:
        return lambda: open_store_url(database)


@pytest.mark.anyio
async def test_daemons_opening_a_new_database_at_once_migrate_it_once(database: str) -> None:
    import anyio
    import psycopg

    from trackd_daemon.store.models import NewRun, RunKey
    from trackd_daemon.store.postgres_schema import SCHEMA_VERSION

    stores: list[MetadataStore] = []

    async def open_one() -> None:
        stores.append(await open_store_url(database))

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(open_one)
    try:
        await stores[0].create_run(NewRun(RunKey("e", "p", "r")))
        for store in stores:
            assert (await store.get_run(RunKey("e", "p", "r"))).key.run_id == "r"
    finally:
        for store in stores:
            await store.aclose()
    async with await psycopg.AsyncConnection.connect(database) as conn:
        cur = await conn.execute("SELECT version FROM trackd_schema")
        assert await cur.fetchall() == [(SCHEMA_VERSION,)]


@pytest.mark.anyio
async def test_a_database_migrated_by_a_newer_daemon_is_refused(database: str) -> None:
    import psycopg

    from trackd_daemon.errors import FailedPreconditionError
    from trackd_daemon.store.postgres_schema import SCHEMA_VERSION

    await (await open_store_url(database)).aclose()
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        await conn.execute("UPDATE trackd_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(FailedPreconditionError, match="newer than this daemon"):
        await open_store_url(database)


@pytest.mark.anyio
async def test_a_database_of_schema_2_gains_run_owner_names(database: str) -> None:
    """Migration 3 adds runs' owner_name to a database of schema 2: its runs keep ""
    (decided by uid), new runs record their creator's name."""
    import psycopg

    from trackd_daemon.store.models import NewRun, RunKey
    from trackd_daemon.store.postgres_schema import SCHEMA_VERSION

    store = await open_store_url(database)
    await store.create_run(NewRun(RunKey("e", "p", "old"), owner_uid=7, owner_name="x"))
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        await conn.execute("ALTER TABLE runs DROP COLUMN owner_name")
        await conn.execute("UPDATE trackd_schema SET version = 2")
    for _ in range(2):  # the second open finds it migrated
        store = await open_store_url(database)
        try:
            assert (await store.get_run(RunKey("e", "p", "old"))).owner_name == ""
            made = await store.create_run(NewRun(RunKey("e", "p", f"new{_}"), owner_name="ann"))
            assert (await store.get_run(made.key)).owner_name == "ann"
        finally:
            await store.aclose()
    async with await psycopg.AsyncConnection.connect(database) as conn:
        cur = await conn.execute("SELECT version FROM trackd_schema")
        assert await cur.fetchall() == [(SCHEMA_VERSION,)]


@pytest.mark.anyio
async def test_an_unreachable_database_fails_the_open_without_showing_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trackd_daemon.errors import FailedPreconditionError
    from trackd_daemon.store import postgres

    monkeypatch.setattr(postgres, "OPEN_TIMEOUT", 1.0)
    url = f"postgresql://someone:s3cret@/nowhere?host={tmp_path}"  # no server listens there
    with pytest.raises(FailedPreconditionError, match="cannot connect") as raised:
        await open_store_url(url)
    assert "s3cret" not in str(raised.value)


def test_a_store_url_is_shown_without_its_password() -> None:
    from trackd_daemon.store import display_url

    assert display_url("postgresql://ann:pw@db.example:5432/team?sslmode=require") == (
        "postgresql://ann:***@db.example:5432/team?sslmode=require")
    assert display_url("postgresql://db/team?user=ann&password=pw&sslmode=require") == (
        "postgresql://db/team?user=ann&sslmode=require")
    assert display_url("sqlite:////var/lib/trackd/trackd.db") == (
        "sqlite:////var/lib/trackd/trackd.db")


@pytest.mark.anyio
async def test_large_rounds_replayed_or_overlapping_store_each_step_once(database: str) -> None:
    """Rounds of COPY_MIN_ROWS rows or more go in by COPY; a replayed or overlapping one falls
    back to the INSERT that keeps stored steps, counting only the new rows."""
    from trackd_daemon.store.models import NewRun, RunChanges, RunKey
    from trackd_daemon.store.postgres import COPY_MIN_ROWS

    n = COPY_MIN_ROWS + 50
    store = await open_store_url(database)
    try:
        run = await store.create_run(NewRun(RunKey("e", "p", "big")))

        async def apply(lo: int, hi: int, marker: str) -> None:
            rows = [(s, {"x": float(s), "from": marker}) for s in range(lo, hi)]
            await store.apply([RunChanges(pk=run.pk, ingested_seq=hi, rows=rows)])

        await apply(0, n, "first")
        await apply(0, n, "replay")  # every step stored: nothing new
        await apply(n // 2, n + n // 2, "overlap")  # half stored, half new
        got = await store.get_run(run.key)
        assert (got.history_rows, got.last_step) == (n + n // 2, n + n // 2 - 1)
        scanned = await store.scan_history(run.pk, None, None, 10 * n)
        assert [s for s, _ in scanned] == list(range(n + n // 2))
        assert {r["from"] for s, r in scanned if s < n} == {"first"}
        assert {r["from"] for s, r in scanned if s >= n} == {"overlap"}
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_connections_the_server_dropped_are_replaced_before_a_write(database: str) -> None:
    """The server ends every connection of the store's pool (a restart, a failover): the next
    writes and reads still succeed, on new connections."""
    import psycopg

    from trackd_daemon.store.models import NewRun, RunKey

    store = await open_store_url(database)
    try:
        await store.create_run(NewRun(RunKey("e", "p", "before")))
        async with await psycopg.AsyncConnection.connect(database, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            assert any(ok for (ok,) in await cur.fetchall())
        await store.create_run(NewRun(RunKey("e", "p", "after")))
        assert {r.key.run_id for r in await store.list_runs("e", "p")} == {"before", "after"}
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_the_series_cache_outlives_a_restart_and_follows_other_daemons_writes(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """A daemon's chart index of a database is kept in its cache directory, named by the
    database (another database gets another), used again after a restart, and brought up to
    date with rows another daemon wrote meanwhile, a rewind included."""
    from trackd_daemon.store.models import NewRun, RunChanges, RunKey

    url = postgres_server.create_database()
    cache = tmp_path / "cache"

    def rows(lo: int, hi: int, scale: float) -> list[tuple[int, dict[str, float]]]:
        return [(s, {"x": s * scale}) for s in range(lo, hi)]

    store = await open_store_url(url, cache_dir=cache)
    run = await store.create_run(NewRun(RunKey("e", "p", "r")))
    await store.apply([RunChanges(pk=run.pk, ingested_seq=1, rows=rows(0, 100, 1.0))])
    assert (await store.downsample_history(run.pk, ["x"]))["x"].last[-1] == 99.0
    await store.aclose()
    files = sorted(p.name for p in cache.iterdir())
    assert len([f for f in files if f.endswith("-series")]) == 1

    other = await open_store_url(url)  # another daemon: rewinds to step 49, writes on
    await other.apply([RunChanges(pk=run.pk, ingested_seq=2, rewind_after=49,
                                  rows=rows(50, 120, 2.0))])
    await other.aclose()

    store = await open_store_url(url, cache_dir=cache)  # restarted: its index is kept
    try:
        assert sorted(p.name for p in cache.iterdir()) == files
        series = (await store.downsample_history(run.pk, ["x"]))["x"]
        assert series.x == [float(s) for s in range(120)]
        assert series.last[49] == 49.0 and series.last[50] == 100.0
        assert (await store.history_keys(run.pk)) == {"x": 120}
    finally:
        await store.aclose()

    second = await open_store_url(postgres_server.create_database(), cache_dir=cache)
    try:  # another database, the same pk: another index, not the first one's points
        run2 = await second.create_run(NewRun(RunKey("e", "p", "r")))
        assert run2.pk == run.pk
        await second.apply([RunChanges(pk=run2.pk, ingested_seq=1, rows=rows(0, 10, 3.0))])
        assert (await second.downsample_history(run2.pk, ["x"]))["x"].last[-1] == 27.0
    finally:
        await second.aclose()
    assert len([p for p in cache.iterdir() if p.name.endswith("-series")]) == 2


@pytest.mark.anyio
async def test_an_unreachable_database_is_a_typed_error_and_the_store_recovers(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses connections (down, or being restored) after the store opened: calls
    fail with StoreUnavailableError (not the driver's error), and work again once it is back."""
    import psycopg

    from trackd_daemon.errors import StoreUnavailableError
    from trackd_daemon.store import postgres
    from trackd_daemon.store.models import NewRun, RunChanges, RunKey

    monkeypatch.setattr(postgres, "WAIT_TIMEOUT", 1.0)
    store = await open_store_url(database)
    name = urlsplit(database).path.lstrip("/")
    admin_url = database.replace(f"/{name}?", "/postgres?")
    try:
        run = await store.create_run(NewRun(RunKey("e", "p", "r")))
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = %s", (name,))
            with pytest.raises(StoreUnavailableError, match="cannot be reached"):
                await store.get_run(run.key)
            with pytest.raises(StoreUnavailableError):
                await store.apply([RunChanges(pk=run.pk, ingested_seq=1, rows=[(0, {"x": 1})])])
            with pytest.raises(StoreUnavailableError):
                await store.downsample_history(run.pk, ["x"])
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        # The pool reconnects with a backoff that grew while the database refused it: the
        # store works again within that backoff, not at the next call.
        deadline = time.monotonic() + 60
        while True:
            try:
                await store.apply([RunChanges(pk=run.pk, ingested_seq=1, rows=[(0, {"x": 1})])])
                break
            except StoreUnavailableError:
                if time.monotonic() > deadline:
                    raise
                await anyio.sleep(0.5)
        assert (await store.get_run(run.key)).history_rows == 1
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_round_of_several_runs_is_copied_once_and_replayed_safely(database: str) -> None:
    """The rows of a round's runs go in by one COPY; one run's replayed rows send the whole
    round through the INSERTs that keep stored steps; a rewound run's rows are never copied."""
    from trackd_daemon.store.models import NewRun, RunChanges, RunKey
    from trackd_daemon.store.postgres import COPY_MIN_ROWS

    n = COPY_MIN_ROWS  # each run's share alone would be below the threshold; together not
    store = await open_store_url(database)
    try:
        a, b, c = [await store.create_run(NewRun(RunKey("e", "p", r))) for r in "abc"]

        def rows(lo: int, hi: int, tag: str) -> list[tuple[int, dict[str, object]]]:
            return [(s, {"x": float(s), "tag": tag}) for s in range(lo, hi)]

        await store.apply([RunChanges(a.pk, 1, rows=rows(0, n // 2, "a1")),
                           RunChanges(b.pk, 1, rows=rows(0, n // 2, "b1")),
                           RunChanges(c.pk, 1, rows=rows(0, n, "c1"))])
        await store.apply([RunChanges(a.pk, 2, rows=rows(0, n, "a2")),  # half replayed
                           RunChanges(b.pk, 2, rows=rows(n // 2, n, "b2")),
                           RunChanges(c.pk, 2, rewind_after=n // 4, rows=rows(n // 4 + 1, n,
                                                                          "c2"))])
        for run, tags in ((a, ["a1", "a2"]), (b, ["b1", "b2"]), (c, ["c1", "c2"])):
            got = await store.get_run(run.key)
            assert (got.history_rows, got.last_step) == (n, n - 1), run.key
            scanned = await store.scan_history(run.pk, None, None, 10 * n)
            assert [s for s, _ in scanned] == list(range(n))
            assert [r["tag"] for _, r in scanned][0] == tags[0]
            assert [r["tag"] for _, r in scanned][-1] == tags[1]
    finally:
        await store.aclose()
