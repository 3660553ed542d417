"""The dashboard's token, Jupyter style.

A random token is made at the daemon's first start and kept in ``<state dir>/ui-token``, readable
by the daemon's user only (the SDK of that user reads it to print URLs; other users cannot).
Every request must carry it: in the URL (``?token=...``, as the URLs trackd prints do), as
``Authorization: Bearer <token>``, or in the cookie the dashboard sets after a request that had
it in the URL. Anything else is answered 401.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

TOKEN_FILE = "ui-token"
#: Request key: True when the token came in the URL (pages then carry it in their links, for
#: browsers that keep no cookie, such as an iframe in a notebook of another origin).
TOKEN_IN_URL = "trackd.token_in_url"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenFileError(RuntimeError):
    """The token file cannot be made or read; the message names the file and why."""


def load_or_create_token(state_dir: Path) -> tuple[str, Path]:
    """The dashboard token and its file, made (owner-only) on first use.

    :raises TokenFileError: the file cannot be created or read, or is empty.
    """
    path = state_dir / TOKEN_FILE
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)  # keep it the owner's alone
            token = path.read_text().strip()
        except OSError as exc:
            raise TokenFileError(f"cannot read the dashboard token {path}: {exc}") from None
        if not token:
            raise TokenFileError(f"the dashboard token file {path} is empty; delete it and "
                                 "restart the daemon to make a new token")
        return token, path
    except OSError as exc:
        raise TokenFileError(f"cannot create the dashboard token {path}: {exc}") from None
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, path


def cookie_name(port: int) -> str:
    """Cookies are not scoped by port: each dashboard (one per user and daemon) has its own."""
    return f"trackd-ui-{port}"


def token_middleware(token: str, port: int) -> Callable[[web.Request, Handler],
                                                        Awaitable[web.StreamResponse]]:
    """Checks every request for the token (see the module doc)."""
    expected = token.encode()
    cookie = cookie_name(port)

    def matches(given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given).encode(), expected)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        in_url = request.query.get("token")
        if matches(bearer) or matches(request.cookies.get(cookie)):
            request[TOKEN_IN_URL] = False
            return await handler(request)
        if not matches(in_url):
            raise unauthorized(request, "a wrong token" if (bearer or in_url) else "no token")
        request[TOKEN_IN_URL] = True
        response = await handler(request)
        if response.prepared:  # a stream already sent its headers
            return response
        response.set_cookie(cookie, token, httponly=True, samesite="Lax", path="/")
        return response

    return check


def unauthorized(request: web.Request, reason: str) -> web.HTTPUnauthorized:
    """401, as JSON for the API and as a short page for a browser."""
    text = (f"this trackd dashboard needs its token and the request had {reason}: open the "
            "URL that `trackd ui` prints (it carries the token), or send "
            "'Authorization: Bearer <token>' (the token is in the daemon's state directory, "
            f"file {TOKEN_FILE}, readable by the daemon's user only)")
    if request.path.startswith("/api/"):
        import json

        return web.HTTPUnauthorized(
            text=json.dumps({"error": {"code": "unauthenticated", "message": text}}),
            content_type="application/json", headers={"WWW-Authenticate": "Bearer"})
    from html import escape

    return web.HTTPUnauthorized(
        text=f"<!doctype html><title>trackd: token needed</title><h1>Token needed</h1>"
             f"<p>{escape(text)}</p>", content_type="text/html",
        headers={"WWW-Authenticate": "Bearer"})


def with_token(url: str, token: str) -> str:
    """``url`` carrying the token."""
    return f"{url}{'&' if '?' in url else '?'}token={token}"
