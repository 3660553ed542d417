"""What every dashboard response and request is held to, whatever route it takes: the security
headers, the Host allowlist, the same-origin rule for requests that change state, and the time
a request body may take.

- **Headers** (set when any response is prepared, errors and 404s included): a strict
  Content-Security-Policy (scripts only from the dashboard itself: plotly.js is one of its
  static files; no inline script, no eval; inline styles, which plotly.js needs; nothing but
  its own API to connect to; its own audio, video and frames: the media panels play the run's
  files (a notebook view, which has no cookie, as data: URLs of what it fetched) and frame
  logged Html, which runs in a sandbox of its own, see ``user_content.py``),
  ``X-Frame-Options: DENY`` with ``frame-ancestors 'none'`` (only a notebook view opened by a
  ticket may be framed, see ``auth.py``), ``Referrer-Policy: no-referrer``,
  ``Cross-Origin-Opener-Policy`` and ``Cross-Origin-Resource-Policy`` ``same-origin``,
  ``X-Content-Type-Options: nosniff``, and ``Cache-Control: no-store`` unless the response set
  its own. Responses of user content set a stricter policy of their own (``user_content.py``).
- **Host allowlist**: a page of another site whose name an attacker points at 127.0.0.1 (DNS
  rebinding) is same-origin with itself, not with the dashboard, but its requests reach the
  dashboard with that name in ``Host``; they are refused, as Jupyter does. Allowed: ``localhost``,
  any loopback address, the bound address (any address of this machine for a wildcard bind: an
  address cannot be rebound), and the names in ``TRACKD_UI_ALLOWED_HOSTS``.
- **Same origin**: a request of any method but GET, HEAD and OPTIONS must come from the
  dashboard's own pages (``Sec-Fetch-Site: same-origin``, or an ``Origin`` equal to the
  dashboard's), or from a program (neither header, and an ``Authorization`` header, which a
  page of another site cannot send here). One middleware, so routes added later are covered.
- **Request bodies** must arrive within the request timeout (``connections.py`` bounds the
  rest of a request's life).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from trackd_daemon.web.auth import FRAMEABLE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Styles may be inline because plotly.js needs it: it injects its own stylesheet (mode bar,
#: hover labels) as a <style> element and sets style attributes; without them its controls lose
#: their styling. That allows no script, and the pages have no place where user data could
#: become markup (templates are autoescaped, scripts set text, not HTML).
_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; media-src 'self' data:; frame-src 'self'; connect-src 'self'; "
           "font-src 'self'; base-uri 'self'; form-action 'self'")
#: Every page's policy: nothing inline, nothing from elsewhere, no frames around it.
PAGE_CSP = _POLICY + "; frame-ancestors 'none'"
#: A notebook view opened with a ticket: the same, shown in the notebook's frame.
FRAMED_CSP = _POLICY
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the security headers on every response (see the module doc)."""
    headers = response.headers
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Cache-Control", "no-store")
    if request.get(FRAMEABLE):
        headers.setdefault("Content-Security-Policy", FRAMED_CSP)
    else:
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        headers.setdefault("X-Frame-Options", "DENY")


def host_name(host_header: str) -> str:
    """The name or address of a Host header, without port and brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class HostAllowlist:
    """The names the dashboard answers to (see the module doc)."""

    def __init__(self, bound: str, names: Iterable[str] = ()) -> None:
        self.names = frozenset({"localhost", *(host_name(n) for n in names if n.strip())})
        self._bound = ipaddress.ip_address(bound.strip("[]"))
        self._wildcard = self._bound.is_unspecified

    def allows(self, host: str) -> bool:
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or self._wildcard or address == self._bound

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Host")
        if given is None:
            raise web.HTTPBadRequest(text="a Host header is required")
        if not self.allows(host_name(given)):
            raise web.HTTPForbidden(
                text=f"this trackd dashboard does not answer to the host name {given!r}: "
                     "open it by its address (the URL `trackd ui` prints), or add the name to "
                     "TRACKD_UI_ALLOWED_HOSTS (comma-separated) in the daemon's environment")
        return await handler(request)


def same_origin(scheme: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """The same-origin rule for state-changing requests (see the module doc); ``scheme``:
    ``http`` or ``https``, what the dashboard serves."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS:
            return await handler(request)
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if site is not None:
            allowed = site == "same-origin"
        elif origin is not None:
            allowed = origin.lower() == f"{scheme}://{request.headers.get('Host', '').lower()}"
        else:
            allowed = "Authorization" in request.headers
        if not allowed:
            raise web.HTTPForbidden(
                text=f"{request.method} {request.path} is refused: it did not come from this "
                     "dashboard's own pages (a request of another site)")
        return await handler(request)

    return check


def body_deadline(seconds: float) -> Callable[[web.Request, Handler],
                                               Awaitable[web.StreamResponse]]:
    """A request's body is read in full, within ``seconds``, before its handler runs (the
    body is kept: the handler reads it again for free); a body sent slower is answered 408
    and its connection closed."""

    @web.middleware
    async def read(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                await asyncio.wait_for(request.read(), seconds)
            except TimeoutError:
                raise web.HTTPRequestTimeout(
                    text=f"the request body did not arrive within {seconds:g} s",
                    headers={"Connection": "close"}) from None
        return await handler(request)

    return read
