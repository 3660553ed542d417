"""Test helpers for the dashboard: where a test daemon serves it, and a small HTTP client that
logs in as a browser does (a ticket URL, then the session cookie)."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.helpers import DaemonProcess
from trackd._shared.ui_auth import mint_ticket


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Dashboard:
    """A daemon's dashboard: base URL (ending in /) and token, and a cookie jar."""

    base: str
    token: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    @classmethod
    def of(cls, daemon: DaemonProcess) -> Dashboard:
        from trackd._transport.connection import drop_connection, get_connection
        from trackd._transport.dashboard import _cache, dashboard

        _cache.clear()
        try:
            found = dashboard(get_connection(f"unix:{daemon.dirs.socket}"))
        finally:
            drop_connection()
        assert found is not None, "the daemon serves no dashboard"
        return cls(*found)

    @property
    def port(self) -> int:
        return int(self.base.rstrip("/").rsplit(":", 1)[1])

    @property
    def cookie_name(self) -> str:
        return f"trackd-ui-{self.port}"

    def ticket_url(self, path: str = "/", *, seconds: int | None = None, now: float | None = None,
                   **query: str) -> str:
        """A URL of ``path`` that logs a browser in (a fresh ticket), as `trackd ui` prints."""
        ticket = mint_ticket(self.token, now) if seconds is None else mint_ticket(
            self.token, now, seconds)
        items = [*query.items(), ("ticket", ticket)]
        return self.base.rstrip("/") + path + "?" + urlencode(items)

    def session(self) -> str | None:
        """The session id in the jar's dashboard cookie (None before logging in)."""
        for cookie in self.jar:
            if cookie.name == self.cookie_name:
                return cookie.value
        return None

    def login(self) -> str:
        """Log the jar in with a ticket; returns the session id."""
        status, _, _ = self.open(self.ticket_url("/"))
        session = self.session()
        assert status == 200 and session, (status, session)
        return session

    def open(self, url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
             data: bytes | None = None, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
        """One request with the jar's cookies; ``follow``: follow redirects."""
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        opener = urllib.request.build_opener(*handlers)
        req = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
        try:
            with opener.open(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def request(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None,
                token: str | None = "header", accept: str = "*/*", **kw: Any) -> tuple[
                    int, dict[str, str], bytes]:
        """``path`` with the jar's cookies; ``token``: "header" (bearer), None (none) or a
        wrong value (as a bearer token)."""
        items = list(params.items() if isinstance(params, dict) else params or [])
        headers = {"Accept": accept, **kw.pop("headers", {})}
        if token == "header":
            headers["Authorization"] = f"Bearer {self.token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base.rstrip("/") + path + ("?" + urlencode(items) if items else "")
        return self.open(url, headers=headers, **kw)

    def post_json(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        """POST ``body`` as JSON (bytes as they are); the status and the answer (JSON when it
        is, else its bytes). ``kw`` as :meth:`request` takes it (``headers``, ``token``...)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, _, raw = self.request(path, method="POST", data=data,
                                      headers={"Content-Type": "application/json",
                                               **kw.pop("headers", {})}, **kw)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def json(self, path: str, params: Any = None, status: int = 200) -> Any:
        code, _, body = self.request(path, params)
        assert code == status, (code, body[:500])
        return json.loads(body)
