"""The dashboard's browser sessions, and the ticket nonces already used.

A browser logs in once (a ticket from ``trackd ui``, an old link with the token, or the login
form) and gets a session: an id of 32 random bytes that it sends back in a cookie (or, in a
notebook's iframe, in a header; see ``auth.py``). The daemon keeps only a keyed hash of each id
(HMAC-SHA256 with the token), so the sessions file holds nothing a browser could present, and a
new token (``trackd ui --rotate-token``) makes every earlier session unknown at once.

A session remembers whom it acts for: the uid of a user's ticket (``DaemonService.
DashboardTicket`` called by another user of the machine), whose session sees what the access
policy lets that uid see; or no one (a ticket made from the token, an old link, the login form):
full access, as the daemon's user.

Sessions and used nonces are kept in ``<state dir>/ui-sessions.json`` (owner-only), so a daemon
restart does not log anyone out and does not make a used ticket usable again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from trackd._shared.ui_auth import Ticket, TicketError

log = logging.getLogger("trackd.daemon.web")

#: A session ends this long after its login, used or not: a session id copied out of a browser
#: profile (a backup, another program reading the cookie store, or a server on another port of
#: this host, which browsers send the cookie to) stops working within two weeks, while someone
#: who uses the dashboard every day logs in twice a month at most (`trackd ui` logs in anew).
SESSION_SECONDS = 14 * 24 * 3600
#: Sessions kept at most; a login beyond that ends the least recently used one. Each login
#: (every browser, and every notebook view) makes one; a thousand is more than any one user has
#: in two weeks, and bounds what a token holder logging in in a loop can make the daemon keep.
MAX_SESSIONS = 1000
#: Used ticket nonces kept at most (each until its ticket expires, at most 15 minutes). When
#: that many tickets were used within 15 minutes, further tickets are refused rather than an
#: unexpired nonce forgotten, which would let its ticket be used twice.
MAX_NONCES = 10_000
#: The longest session id accepted (ours are 43 characters): nothing longer is hashed.
MAX_ID_LENGTH = 100
_FILE_VERSION = 1


@dataclass
class _Session:
    expires: float
    last_used: float
    #: The user the session acts for (None: full access).
    uid: int | None = None


class SessionStore:
    """Sessions by the keyed hash of their ids, and used ticket nonces (both bounded)."""

    def __init__(self, path: Path, token: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._key = token.encode()
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._nonces: dict[str, int] = {}
        self._save_lock = anyio.Lock()

    def _hash(self, session_id: str) -> str:
        return hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()

    # -- sessions ----------------------------------------------------------------------------

    def create(self, uid: int | None = None) -> tuple[str, int]:
        """A new session acting for ``uid`` (None: full access): its id and its lifetime in
        seconds (for the cookie's Max-Age)."""
        now = self._clock()
        if len(self._sessions) >= MAX_SESSIONS:
            self._drop_expired(now)
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=lambda h: self._sessions[h].last_used)
            del self._sessions[oldest]
            log.info("dashboard: %d sessions kept; the least recently used one ended",
                     MAX_SESSIONS)
        session_id = secrets.token_urlsafe(32)
        self._sessions[self._hash(session_id)] = _Session(now + SESSION_SECONDS, now, uid)
        return session_id, SESSION_SECONDS

    def check(self, session_id: str | None) -> bool:
        """Whether ``session_id`` names a live session (and note that it was used)."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return False
        key = self._hash(session_id)
        found = self._sessions.get(key)
        now = self._clock()
        if found is None:
            return False
        if found.expires <= now:
            del self._sessions[key]
            return False
        found.last_used = now
        return True

    def uid(self, session_id: str) -> int | None:
        """The user a live session (one :meth:`check` accepted) acts for; None: full access."""
        found = self._sessions.get(self._hash(session_id))
        return None if found is None else found.uid

    def end(self, session_id: str | None) -> bool:
        """End one session (logging out); whether there was one."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return False
        return self._sessions.pop(self._hash(session_id), None) is not None

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]

    # -- tickets -----------------------------------------------------------------------------

    def spend(self, ticket: Ticket) -> None:
        """Take a verified ticket's nonce, once.

        :raises TicketError: it was used already, or too many were used lately.
        """
        now = self._clock()
        if ticket.nonce in self._nonces:
            raise TicketError("the login link's ticket was used already (each works once): "
                              "run `trackd ui` for a new one")
        if len(self._nonces) >= MAX_NONCES:
            for nonce in [n for n, exp in self._nonces.items() if exp <= now]:
                del self._nonces[nonce]
        if len(self._nonces) >= MAX_NONCES:
            raise TicketError(f"more than {MAX_NONCES} login links were used in the last "
                              "15 minutes; try again later, or log in with the token")
        self._nonces[ticket.nonce] = ticket.expires

    # -- the token changes -------------------------------------------------------------------

    def rotate(self, token: str) -> int:
        """Forget every session and nonce (they belong to the old token); returns how many
        sessions ended."""
        ended = len(self._sessions)
        self._key = token.encode()
        self._sessions.clear()
        self._nonces.clear()
        return ended

    # -- the file ------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the sessions file (a missing or unreadable one: no sessions, logged)."""
        data = await anyio.to_thread.run_sync(self._read)
        now = self._clock()
        try:
            for key, (expires, last_used, *user) in dict(data.get("sessions", {})).items():
                uid = None if not user or user[0] is None else int(user[0])
                if float(expires) > now:
                    self._sessions[str(key)] = _Session(float(expires), float(last_used), uid)
            for nonce, expires in dict(data.get("nonces", {})).items():
                if int(expires) > now:
                    self._nonces[str(nonce)] = int(expires)
        except (TypeError, ValueError):
            log.warning("dashboard: %s is not a sessions file; starting with no sessions",
                        self.path)
            self._sessions.clear()
            self._nonces.clear()
        for key in sorted(self._sessions, key=lambda k: self._sessions[k].last_used)[
                :max(0, len(self._sessions) - MAX_SESSIONS)]:
            del self._sessions[key]

    def _read(self) -> dict[str, Any]:
        try:
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)  # keep it the owner's alone
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("dashboard: cannot read %s (%s); starting with no sessions",
                        self.path, exc)
            return {}
        return data if isinstance(data, dict) and data.get("version") == _FILE_VERSION else {}

    async def save(self) -> None:
        """Write the sessions file (in a worker thread; one write at a time, each of the state
        at its start, so the last write holds the latest state).

        :raises OSError: the state directory cannot be written.
        """
        async with self._save_lock:
            snapshot = {
                "version": _FILE_VERSION,
                "sessions": {k: [s.expires, s.last_used, s.uid] for k, s in self._sessions.items()},
                "nonces": dict(self._nonces),
            }
            await anyio.to_thread.run_sync(self._write, json.dumps(snapshot))

    def _write(self, text: str) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
