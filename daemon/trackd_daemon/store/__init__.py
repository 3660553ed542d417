"""Stores, chosen by URL scheme: ``sqlite:///path/to/file.db`` (the embedded default), or
``postgresql://user@host/db`` (``postgres://`` too; a team's daemons share one database).

Backends are imported only when their scheme is used.
"""

from __future__ import annotations

from pathlib import Path

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.urls import display_url


async def open_store(url: str, cache_dir: Path | None = None) -> MetadataStore:
    """Open the store named by ``url``. ``cache_dir``: where a shared store (PostgreSQL) keeps
    this daemon's caches of it across restarts (none given: a temporary directory, removed
    when the store is closed); the SQLite store keeps its own beside its file.

    :raises InvalidArgumentError: unknown scheme.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        from trackd_daemon.store.sqlite import SqliteStore  # only the backend the URL names

        return await SqliteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        from trackd_daemon.store.postgres import PostgresStore  # psycopg: not for SQLite

        return await PostgresStore.open(url, cache_dir)
    raise InvalidArgumentError(f"unsupported store URL {url!r}: expected sqlite:///PATH or "
                               "postgresql://USER@HOST/DATABASE")


__all__ = ["MetadataStore", "display_url", "open_store"]
