"""Stores, chosen by URL scheme: ``sqlite:///path/to/file.db`` (the embedded default), or
``postgresql://user@host/db`` (``postgres://`` too; a team's daemons share one database).

Backends are imported only when their scheme is used.
"""

from __future__ import annotations

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.base import MetadataStore


async def open_store(url: str) -> MetadataStore:
    """Open the store named by ``url``.

    :raises InvalidArgumentError: unknown scheme.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        from trackd_daemon.store.sqlite import SqliteStore

        return await SqliteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        from trackd_daemon.store.postgres import PostgresStore

        return await PostgresStore.open(url)
    raise InvalidArgumentError(f"unsupported store URL {url!r}: expected sqlite:///PATH or "
                               "postgresql://USER@HOST/DATABASE")


__all__ = ["MetadataStore", "open_store"]
