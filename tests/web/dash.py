"""Test helpers for the dashboard: where a test daemon serves it, and a small HTTP client."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.helpers import DaemonProcess


@dataclass
class Dashboard:
    """A daemon's dashboard: base URL (ending in /) and token."""

    base: str
    token: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    @classmethod
    def of(cls, daemon: DaemonProcess) -> Dashboard:
        from trackd._connection import drop_connection, get_connection
        from trackd._dashboard import _cache, dashboard

        _cache.clear()
        try:
            found = dashboard(get_connection(f"unix:{daemon.dirs.socket}"))
        finally:
            drop_connection()
        assert found is not None, "the daemon serves no dashboard"
        return cls(*found)

    def request(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None,
                token: str | None = "header", accept: str = "*/*") -> tuple[int, dict[str, str],
                                                                           bytes]:
        """GET ``path``; ``token``: "header" (bearer), "query", None (none) or a wrong value."""
        items = list(params.items() if isinstance(params, dict) else params or [])
        headers = {"Accept": accept}
        if token == "header":
            headers["Authorization"] = f"Bearer {self.token}"
        elif token == "query":
            items.append(("token", self.token))
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base.rstrip("/") + path + ("?" + urlencode(items) if items else "")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        try:
            with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str, params: Any = None, status: int = 200) -> Any:
        code, _, body = self.request(path, params)
        assert code == status, (code, body[:500])
        return json.loads(body)
