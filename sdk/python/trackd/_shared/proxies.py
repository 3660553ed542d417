"""HTTP proxies named by a run's settings (``http_proxy`` / ``https_proxy``), shared by the
SDK (reference downloads) and the daemon (alert webhooks, reference HEADs).

A URL's proxy is the setting for its scheme: ``http_proxy`` for ``http://`` URLs,
``https_proxy`` for ``https://`` ones. A URL with no such setting goes as the environment
says (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, honoured by the HTTP libraries). A
proxy URL may hold credentials (``http://user:secret@proxy:3128``): :func:`redact` hides them
wherever a proxy URL could reach a log or an error message.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: The longest proxy URL accepted.
MAX_PROXY_CHARS = 4096


def pick(url: str, http_proxy: str | None, https_proxy: str | None) -> str | None:
    """The proxy URL the settings name for ``url`` (None: none; the environment decides)."""
    scheme = urlsplit(url).scheme.lower()
    proxy = https_proxy if scheme == "https" else http_proxy if scheme == "http" else None
    return normalize(proxy) if proxy else None


def redact(proxy: str) -> str:
    """``proxy`` with any user name and password replaced by ``***``."""
    try:
        parts = urlsplit(proxy)
    except ValueError:
        return "<proxy>"
    if "@" not in parts.netloc:
        return proxy
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def scrub(text: str, *proxies: str | None) -> str:
    """``text`` with each of ``proxies`` (and its credentials) replaced by its redacted form."""
    for p in proxies:
        if not p:
            continue
        text = text.replace(p, redact(p))
        creds = urlsplit(p).netloc.rpartition("@")[0]
        if creds:
            text = text.replace(creds, "***")
    return text


def normalize(proxy: str) -> str:
    """``proxy`` as a URL: ``host:port`` (no scheme, as many tools accept it) means
    ``http://host:port``."""
    return proxy if "://" in proxy else f"http://{proxy}"


def check(proxy: str) -> str:
    """``proxy`` as given when it is a usable proxy: an ``http://`` or ``https://`` URL with a
    host (or ``host[:port]``, meaning ``http://``), at most :data:`MAX_PROXY_CHARS`; "" for "".

    :raises ValueError: naming what is wrong (credentials redacted).
    """
    if not proxy:
        return ""
    if len(proxy) > MAX_PROXY_CHARS:
        raise ValueError(f"a proxy URL has at most {MAX_PROXY_CHARS} characters")
    url = normalize(proxy)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise ValueError(f"{redact(url)!r} is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(
            c.isspace() for c in proxy):
        raise ValueError(f"{redact(url)!r} is not an http:// or https:// proxy URL "
                         "with a host (like http://proxy.example:3128)")
    return proxy
