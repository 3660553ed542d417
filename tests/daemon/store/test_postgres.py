"""The store contract against the PostgreSQL backend, on a server the tests start
(``tests/postgres.py``), plus what only a shared database asks: several daemons (store
instances) migrating and writing one database at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

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
