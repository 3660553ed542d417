"""The dashboard's credentials, shared by the SDK (which mints login links) and the daemon
(which checks them).

- **The token**: 32 random bytes, URL-safe, in ``<state dir>/ui-token``, readable by the daemon's
  user only. Whoever holds it acts as the daemon's user on the dashboard; scripts send it as
  ``Authorization: Bearer <token>``. It is never put in a URL, a page or a cookie.
- **A ticket**: a single-use, short-lived login for a browser, which URLs carry instead of the
  token (``?ticket=EXPIRY.NONCE.MAC``, MAC = HMAC-SHA256 keyed by the token over the expiry
  and the nonce). Only someone who can read the token file can mint one. The daemon takes each
  nonce once (it remembers used nonces until they expire) and none after its expiry, so a
  ticket left in a browser's history, a terminal's scrollback or a notebook's saved output is
  worth nothing once used or :data:`TICKET_SECONDS` old.
- **A user's ticket** (``?ticket=EXPIRY.NONCE.UID.MAC``, the MAC over the expiry, the nonce and
  the uid, under another context): what the daemon mints for another user of its machine who
  asks over its socket (``DaemonService.DashboardTicket``). Its session sees and edits what the
  access policy lets that uid see and edit; a ticket without a uid gives full access, as the
  token does. Changing the uid breaks the MAC.
- **Rotation** (``trackd ui --rotate-token``): a new token. A running daemon is asked to rotate
  (it ends every session at once); for a stopped one, :func:`rotate_files` writes the new token
  and deletes the saved sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN_FILE = "ui-token"
#: The daemon's dashboard sessions (hashes of their ids, never the ids) and used ticket nonces.
SESSIONS_FILE = "ui-sessions.json"
#: How long a minted ticket may be used: long enough to copy a URL from a terminal into a
#: browser on another screen, short enough that one found later in a history is spent.
TICKET_SECONDS = 15 * 60
#: The query parameter of a ticket.
TICKET_PARAM = "ticket"
_TICKET_CONTEXT = b"trackd-ui-ticket/1"
_USER_TICKET_CONTEXT = b"trackd-ui-ticket/2"


class TicketError(ValueError):
    """A ticket is malformed, forged or expired; the message says which (never the ticket)."""


@dataclass(frozen=True)
class Ticket:
    """A verified ticket: the daemon takes its nonce once, until ``expires``."""

    expires: int
    nonce: str
    #: The user the session acts for; None: full access (the daemon's user).
    uid: int | None = None


def new_token() -> str:
    """A fresh secret (256 bits, URL-safe). Never starting with ``-``: it is typed and pasted as
    a command-line argument (``trackd login KEY``), where it would read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def read_token(path: Path) -> str:
    """The token in ``path`` ("" when the file is empty).

    :raises OSError: the file cannot be read (another user's daemon, or none yet).
    """
    with open(path) as f:
        return f.read().strip()


def write_token(path: Path, token: str) -> None:
    """Replace the token file atomically (a reader sees the old token or the new one, never a
    half-written file), owner-only from its first byte.

    :raises OSError: the directory cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def rotate_files(state_dir: Path) -> str:
    """A new token for a daemon that is not running: write it and delete the saved sessions
    (they are keyed by the old token and would be refused anyway). Returns the new token.

    :raises OSError: the state directory cannot be written.
    """
    token = new_token()
    write_token(state_dir / TOKEN_FILE, token)
    (state_dir / SESSIONS_FILE).unlink(missing_ok=True)
    return token


def _mac(token: str, expires: int, nonce: str, uid: int | None = None) -> str:
    if uid is None:
        msg = b"%s:%d:%s" % (_TICKET_CONTEXT, expires, nonce.encode())
    else:
        msg = b"%s:%d:%s:%d" % (_USER_TICKET_CONTEXT, expires, nonce.encode(), uid)
    digest = hmac.new(token.encode(), msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_ticket(token: str, now: float | None = None, seconds: int = TICKET_SECONDS,
                uid: int | None = None) -> str:
    """A ticket valid for ``seconds`` from ``now``; with ``uid``, a user's ticket (its session
    acts for that uid), else a full-access one."""
    expires = int(time.time() if now is None else now) + seconds
    nonce = secrets.token_urlsafe(16)
    if uid is None:
        return f"{expires}.{nonce}.{_mac(token, expires, nonce)}"
    if uid < 0:
        raise ValueError(f"a ticket's uid is a user id, not {uid}")
    return f"{expires}.{nonce}.{uid}.{_mac(token, expires, nonce, uid)}"


def check_ticket(token: str, ticket: str, now: float | None = None) -> Ticket:
    """The ticket's expiry, nonce and uid (None: full access), once its MAC, expiry and
    lifetime are checked (whether the nonce was used already is the daemon's to check).

    :raises TicketError: malformed, not made with ``token``, expired, or valid for longer than
        any ticket is minted for (a nonce must not need remembering for long).
    """
    now = time.time() if now is None else now
    parts = ticket.split(".")
    if (len(parts) not in (3, 4) or not parts[0].isdigit() or not parts[1] or len(ticket) > 200
            or (len(parts) == 4 and not (parts[2].isascii() and parts[2].isdigit()
                                     and len(parts[2]) <= 10))):
        raise TicketError("the login link's ticket is malformed")
    expires, nonce, mac = int(parts[0]), parts[1], parts[-1]
    uid = int(parts[2]) if len(parts) == 4 else None
    if not hmac.compare_digest(mac.encode(), _mac(token, expires, nonce, uid).encode()):
        raise TicketError("the login link's ticket was not made with this dashboard's current "
                          "token (the token was rotated, or the link is for another daemon)")
    if expires <= now:
        raise TicketError("the login link's ticket has expired (tickets last "
                          f"{TICKET_SECONDS // 60} minutes)")
    if expires > now + TICKET_SECONDS + 60:
        raise TicketError("the login link's ticket claims to last longer than tickets may")
    return Ticket(expires, nonce, uid)
