"""The proxy arguments of the daemon's aiohttp requests made on behalf of a run (its alert
webhooks, its http(s) reference HEADs): the run's ``http_proxy`` / ``https_proxy`` settings
win; without them the request goes as the daemon's environment says (``HTTP_PROXY``,
``HTTPS_PROXY``, ``NO_PROXY``: every session is made with ``trust_env=True``). A proxy's
credentials go in ``proxy_auth``, never in a URL that could be logged.
"""

from __future__ import annotations

from typing import Any

from trackd._shared import proxies


def request_kwargs(url: str, http_proxy: str, https_proxy: str) -> dict[str, Any]:
    """``proxy`` / ``proxy_auth`` for an aiohttp request to ``url`` ({} when the run names
    no proxy for its scheme)."""
    import aiohttp
    from yarl import URL

    chosen = proxies.pick(url, http_proxy, https_proxy)
    if chosen is None:
        return {}
    proxy = URL(chosen)
    if proxy.user is None:
        return {"proxy": proxy}
    return {"proxy": proxy.with_user(None),
            "proxy_auth": aiohttp.BasicAuth(proxy.user, proxy.password or "")}
