"""What is shown of a store's URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


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
