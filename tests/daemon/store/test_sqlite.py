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
