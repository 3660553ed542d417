"""Who may use the dashboard: holders of its token, and the browsers they logged in.

The token (``<state dir>/ui-token``, owner-only; see ``trackd._shared.ui_auth``) is made at the
daemon's first start. A request is let through when it carries:

- ``Authorization: Bearer <token>`` (scripts);
- a live session id (``sessions.py``) in the dashboard's cookie, ``trackd-ui-<port>`` (a cookie
  per port, since browsers scope cookies by host only): ``HttpOnly; SameSite=Strict; Path=/``,
  ``Secure`` over https. It never holds the token;
- the same id in the ``X-Trackd-Session`` header: a page shown in a notebook's iframe, where
  the browser keeps no cookie of another site, holds its id in memory and sends it so. A page of
  another origin cannot send a custom header here (that needs CORS, which the dashboard never
  grants), so the header is as safe from cross-site requests as the strict cookie.

A browser logs in with a URL carrying a single-use ticket (``?ticket=``, what ``trackd ui``
prints) or, for links made before tickets, the token (``?token=``), in a GET (a HEAD, as link
previews send, spends no ticket): the daemon makes a session,
sets the cookie and answers 303 to the same URL without the credential, so it stays in neither
the address bar nor the history. A notebook view (``?jupyter=true``) gets the page itself, its
session id in the page's data (see above), and may be framed: the ticket proves the daemon's
user asked for that view. Without any of these, a page answers with the login page (run
``trackd ui``, or paste the token into its form) and the API with 401.

Whom a request acts for (``scope.py`` decides what it may see and edit): the token, and a
session logged in with the token or a ticket made from it, act as the daemon's user (full
access); a session logged in with a user's ticket (one the daemon minted for another user of
its machine, ``DaemonService.DashboardTicket``) acts for that uid, its name and groups looked up
here.
"""

from __future__ import annotations

import hmac
import json
import pwd
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio.to_thread
from aiohttp import web

from trackd._shared.ui_auth import (
    TICKET_PARAM,
    TOKEN_FILE,
    TicketError,
    check_ticket,
    mint_ticket,
    new_token,
    read_token,
    write_token,
)
from trackd_daemon.access import AccessPolicy, Caller, identify
from trackd_daemon.web.scope import act_as
from trackd_daemon.web.sessions import SessionStore

#: The header a page in a notebook's iframe sends its session id in.
SESSION_HEADER = "X-Trackd-Session"
#: Request keys: the cookie session the request came with; the session id a notebook view's
#: page is given; whether the response may be shown in a frame (a notebook view).
SESSION = "trackd.session"
EMBEDDED_SESSION = "trackd.embedded_session"
FRAMEABLE = "trackd.frameable"
#: Paths anyone may fetch: the dashboard's own scripts and styles (no user data; a notebook's
#: iframe loads them without a cookie) and the login and logout forms.
PUBLIC_PREFIX = "/static/"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
#: The longest token the login form compares (ours are 43 characters).
MAX_TOKEN_LENGTH = 200
#: Users whose name and groups are kept looked up (then the cache starts over): a machine's
#: dashboard users are a handful; the bound keeps a long-lived daemon's memory flat.
MAX_CALLERS = 256
#: How long a user's name and groups are reused before they are looked up again: a user taken
#: out of a group loses what the group's grant gave their dashboard session within a minute.
CALLER_SECONDS = 60.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Renders the login page: (request, HTTP status, what went wrong or "", the path to go to
#: after logging in, whether to reload once to pick up a strict cookie).
LoginRenderer = Callable[[web.Request, int, str, str, bool], web.Response]


class TokenFileError(RuntimeError):
    """The token file cannot be made or read; the message names the file and why."""


def load_or_create_token(state_dir: Path) -> tuple[str, Path]:
    """The dashboard token and its file, made (owner-only) on first use.

    :raises TokenFileError: the file cannot be created or read, or is empty.
    """
    path = state_dir / TOKEN_FILE
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            write_token(path, new_token())
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # keep it the owner's alone
        token = read_token(path)
    except OSError as exc:
        raise TokenFileError(f"cannot create or read the dashboard token {path}: {exc}") from None
    if not token:
        raise TokenFileError(f"the dashboard token file {path} is empty; delete it and "
                             "restart the daemon to make a new token")
    return token, path


def cookie_name(port: int) -> str:
    """Cookies are not scoped by port: each dashboard (one per user and daemon) has its own."""
    return f"trackd-ui-{port}"


def safe_next(path: str | None) -> str:
    """A path on this dashboard to go to after logging in (anything else: the projects page),
    so the login form cannot be made to send a browser to another site."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")) or len(path) > 4096:
        return "/"
    return path


def _unauthorized_json(reason: str) -> web.Response:
    text = (f"this trackd dashboard needs a login and the request had {reason}: send "
            "'Authorization: Bearer <token>' (the token is in the file ui-token of the daemon's "
            "state directory, readable by the daemon's user only), or open the URL that "
            "`trackd ui` prints in a browser")
    return web.Response(
        text=json.dumps({"error": {"code": "unauthenticated", "message": text}}), status=401,
        content_type="application/json", headers={"WWW-Authenticate": "Bearer"})


def _lookup(uid: int, with_groups: bool) -> Caller:
    """The user ``uid`` with its name and groups here (blocking: NSS)."""
    try:
        gid = pwd.getpwuid(uid).pw_gid
    except KeyError:
        gid = -1
    return identify(uid, gid, 0, with_groups)


class AuthGate:
    """The token, the sessions, the check every request passes, and the login routes."""

    def __init__(self, token: str, token_file: Path, sessions: SessionStore, port: int,
                 secure: bool, render: LoginRenderer,
                 on_authenticated: Callable[[web.Request], None] = lambda request: None,
                 policy: AccessPolicy | None = None) -> None:
        self._token = token
        self._policy = policy or AccessPolicy.load(None)
        self._callers: dict[int, tuple[float, Caller]] = {}
        self.token_file = token_file
        self.sessions = sessions
        self.cookie = cookie_name(port)
        self._secure = secure
        self._render = render
        self._on_authenticated = on_authenticated

    def routes(self) -> list[web.RouteDef]:
        return [web.get(LOGIN_PATH, self.login_page), web.post(LOGIN_PATH, self.login),
                web.post(LOGOUT_PATH, self.logout)]

    def mint(self, uid: int | None) -> str:
        """A login ticket: for ``uid`` (its session sees what the policy lets it see), or, for
        None, the daemon's user and root, a full-access one."""
        if uid is not None and self._policy.trusted(Caller(uid)):
            uid = None
        return mint_ticket(self._token, uid=uid)

    async def _caller(self, uid: int) -> Caller:
        now = time.monotonic()
        found = self._callers.get(uid)
        if found is not None and now - found[0] < CALLER_SECONDS:
            return found[1]
        if len(self._callers) >= MAX_CALLERS:
            self._callers.clear()
        caller = await anyio.to_thread.run_sync(_lookup, uid, self._policy.needs_groups)
        self._callers[uid] = (now, caller)
        return caller

    async def _act_as(self, request: web.Request, session: str | None) -> None:
        """Note whom the request acts for (a user's session; anything else: full access)."""
        uid = self.sessions.uid(session) if session is not None else None
        if uid is not None:
            act_as(request, self._policy, await self._caller(uid))

    def _is_token(self, given: str | None) -> bool:
        return bool(given) and len(str(given)) <= MAX_TOKEN_LENGTH and hmac.compare_digest(
            str(given).encode(), self._token.encode())

    # -- the check ---------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Lets a request through with a credential (see the module doc); logs a browser in
        from a ticket or an old link's token."""
        if request.path.startswith(PUBLIC_PREFIX) or request.path in (LOGIN_PATH, LOGOUT_PATH):
            return await handler(request)
        cookie = request.cookies.get(self.cookie)
        session = cookie if self.sessions.check(cookie) else None
        if session is None and self.sessions.check(request.headers.get(SESSION_HEADER)):
            session = request.headers[SESSION_HEADER]
        ticket, old = request.query.get(TICKET_PARAM), request.query.get("token")
        if (ticket is not None or old is not None) and request.method == "GET":
            return await self._log_in(request, handler, ticket, old, session)
        if session is None:
            auth = request.headers.get("Authorization", "")
            bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
            if not self._is_token(bearer):
                return self._refuse(request, "a wrong token" if bearer else "no login")
        if session is not None and session == cookie:
            request[SESSION] = session
        await self._act_as(request, session)
        self._on_authenticated(request)
        return await handler(request)

    async def _log_in(self, request: web.Request, handler: Handler, ticket: str | None,
                      old: str | None, session: str | None) -> web.StreamResponse:
        problem = ""
        uid: int | None = None
        if ticket is not None:
            try:
                checked = check_ticket(self._token, ticket)
                self.sessions.spend(checked)
                uid = checked.uid
            except TicketError as exc:
                problem = str(exc)
        elif not self._is_token(old):
            problem = "the link's token is not this dashboard's (it was rotated?)"
        embedded = request.query.get("jupyter") == "true"
        if problem and session is None:
            if embedded:  # the notebook's frame shows why, with nothing in it to click
                request[FRAMEABLE] = True
            return self._refuse(request, problem, reload=False)
        self._on_authenticated(request)
        if embedded:
            # A notebook view: no cookie would be kept in another site's iframe, so the page
            # gets its session id to send in a header (the spent ticket stays in the iframe's
            # URL, which is all the notebook saves).
            if not problem:
                session, _ = self.sessions.create(uid)
                await self.sessions.save()
                request[FRAMEABLE] = True
            request[EMBEDDED_SESSION] = session
            await self._act_as(request, session)
            return await handler(request)
        clean = request.rel_url.with_query(
            [(k, v) for k, v in request.query.items() if k not in (TICKET_PARAM, "token")])
        response = web.HTTPSeeOther(location=str(clean))
        if not problem:
            self._set_cookie(response, *self.sessions.create(uid))
            await self.sessions.save()
        return response

    def _set_cookie(self, response: web.StreamResponse, session: str, seconds: int) -> None:
        response.set_cookie(self.cookie, session, max_age=seconds, path="/", httponly=True,
                            samesite="Strict", secure=self._secure)

    def _refuse(self, request: web.Request, reason: str, reload: bool = True) -> web.Response:
        """401: JSON for the API; the login page for a browser. A page reached from another
        site (a link in a notebook or a chat) arrives without the strict cookie even when the
        browser holds one: that page reloads itself once, which sends it."""
        if request.path.startswith("/api/"):
            return _unauthorized_json(reason)
        cross_site = request.headers.get("Sec-Fetch-Site") == "cross-site"
        response = self._render(request, 401, "" if reason == "no login" else reason,
                                safe_next(str(request.rel_url)), reload and cross_site)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    # -- the login form and logging out --------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        return self._render(request, 200, "", safe_next(request.query.get("next")), False)

    async def login(self, request: web.Request) -> web.StreamResponse:
        """The login form's POST (the same-origin check has let only this dashboard's own page
        send it): the token makes a session."""
        form = await request.post()
        token, target = form.get("token"), safe_next(str(form.get("next") or "/"))
        if not isinstance(token, str) or not self._is_token(token.strip()):
            return self._render(request, 401, "that is not this dashboard's token", target, False)
        response = web.HTTPSeeOther(location=target)
        self._set_cookie(response, *self.sessions.create())
        await self.sessions.save()
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        if self.sessions.end(request.cookies.get(self.cookie)):
            await self.sessions.save()
        response = web.HTTPSeeOther(location=LOGIN_PATH)
        response.del_cookie(self.cookie, path="/")
        return response

    # -- a new token ---------------------------------------------------------------------------

    async def rotate(self) -> int:
        """A new token in the token file; every session and outstanding ticket of the old one
        is refused from now on. Returns how many sessions ended.

        :raises OSError: the token file cannot be written (the old token stays).
        """
        token = new_token()
        await anyio.to_thread.run_sync(write_token, self.token_file, token)
        self._token = token
        ended = self.sessions.rotate(token)
        await self.sessions.save()
        return ended
