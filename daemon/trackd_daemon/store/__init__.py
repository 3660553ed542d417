"""Stores, chosen by URL scheme: ``sqlite:///path/to/file.db`` (the embedded default), or
``postgresql://user@host/db`` (``postgres://`` too; a team's daemons share one database).

Backends are imported only when their scheme is used.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.base import MetadataStore


async def open_store(url: str, cache_dir: Path | None = None) -> MetadataStore:
    """Open the store named by ``url``. ``cache_dir``: where a shared store (PostgreSQL) keeps
    this daemon's caches of it across restarts (none given: a temporary directory, removed
    when the store is closed); the SQLite store keeps its own beside its file.

    :raises InvalidArgumentError: unknown scheme.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        from trackd_daemon.store.sqlite import SqliteStore

        return await SqliteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        from trackd_daemon.store.postgres import PostgresStore

        return await PostgresStore.open(url, cache_dir)
    raise InvalidArgumentError(f"unsupported store URL {url!r}: expected sqlite:///PATH or "
                               "postgresql://USER@HOST/DATABASE")


def display_url(url: str) -> str:
    """``url`` without its password (in the user part, or a ``password`` parameter): what
    logs, errors and clients are shown of a store's URL."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if has_password else ''}@{host}"
    query = "&".join(p for p in parts.query.split("&")
                     if p and p.split("=", 1)[0].lower() != "password")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing hidden: as given (urlunsplit would rewrite sqlite:////abs paths)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


__all__ = ["MetadataStore", "display_url", "open_store"]
