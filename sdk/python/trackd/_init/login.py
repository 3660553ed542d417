"""``trackd.login()``: choose a daemon reached over TCP and its token, and keep them for later
``init()``/``Api()`` calls in any process of this user (see :mod:`trackd._transport.credentials`).

A daemon on this machine's own socket needs no key: ``login()`` with nothing to change
returns True at once there, reading two small files and starting nothing (libraries call it
at import time). Over TCP a key is the daemon's token; ``verify=True`` asks the daemon.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from trackd._base import messages
from trackd._settings.fields import ANONYMOUS
from trackd._transport import credentials
from trackd._transport.setup import ADDRESS_ENV, current_settings
from trackd.errors import AuthenticationError, UsageError, from_grpc

#: Seconds ``verify=True`` waits for the daemon's answer.
VERIFY_TIMEOUT = 20.0


def login(anonymous: str | None = None, key: str | None = None, relogin: bool | None = None,
          host: str | None = None, force: bool | None = None, timeout: float | None = None,
          verify: bool = False, referrer: str | None = None) -> bool:
    """Set the daemon this user's runs go to (``host``: its TCP listener,
    ``https://host:port`` or ``http://host:port`` on loopback) and its token (``key``), and
    store them in an owner-only file for every later ``init()``/``Api()`` of this user.

    Without ``host`` the address in use is kept (``TRACKD_ADDRESS``, the ``daemon_address`` or
    ``base_url`` settings, the stored host); the own daemon's socket needs no key. ``relogin``
    or ``force`` ask for the key again with a hidden prompt (``timeout``: seconds to wait for
    it; on expiry login gives up and returns False); so does a TCP daemon for which no key is
    known. ``anonymous`` ("must", "allow", "never") is checked and has no effect: a daemon has
    no anonymous accounts. ``referrer`` has no effect.

    :returns: True when a key is configured (or none is needed).
    :raises AuthenticationError: ``verify=True`` and the daemon refused the key.
    :raises UsageError: a key is needed and there is no terminal to ask on, or a bad argument.
    """
    _check_args(anonymous, key, relogin, host, force, timeout, verify, referrer)
    stored = credentials.read()
    target = credentials.normalize_host(host) if host is not None else _address_in_use(stored)
    own_socket = target is None or target.startswith("unix:")
    if key is not None:
        key = _clean_key(key)
    elif relogin or force or (not own_socket and not credentials.token_for(target or "")):
        key = _prompt(target, timeout)
        if key is None:
            return False
    if verify and not own_socket:
        assert target is not None
        _verify(target, key if key is not None else credentials.token_for(target))
    if key is None and host is None:
        return True  # nothing new to store
    _store(stored, target if not own_socket or host is not None else None, key)
    return True


def logout() -> str | None:
    """Forget the stored host and key; returns the removed file's path (None: none stored)."""
    path = credentials.remove()
    return str(path) if path is not None else None


def _check_args(anonymous: Any, key: Any, relogin: Any, host: Any, force: Any, timeout: Any,
                verify: Any, referrer: Any) -> None:
    if anonymous is not None and anonymous not in ANONYMOUS:
        raise UsageError(f"anonymous must be one of {list(ANONYMOUS)} or None, got {anonymous!r}")
    for name, value in (("relogin", relogin), ("force", force), ("verify", verify)):
        if value is not None and not isinstance(value, bool):
            raise UsageError(f"{name} must be True, False or None, got {value!r}")
    for name, value in (("key", key), ("host", host), ("referrer", referrer)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{name} must be a string or None, got {type(value).__name__}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout < 0):
        raise UsageError(f"timeout must be a number of seconds >= 0 or None, got {timeout!r}")


def _clean_key(key: str) -> str:
    key = key.strip()
    if not key or any(c.isspace() or not c.isprintable() for c in key):
        raise UsageError("the key must be the daemon's token: one word of printable characters "
                         "(its <state dir>/token file)")
    return key


def _address_in_use(stored: credentials.Stored | None) -> str | None:
    """The daemon address init() would use now (None: the own daemon's socket)."""
    s = current_settings()
    return (os.environ.get(ADDRESS_ENV) or s.daemon_address
            or credentials.daemon_url(s.base_url) or (stored.host if stored else None))


def _prompt(target: str | None, timeout: float | None) -> str | None:
    """The key typed on the terminal, not echoed (None: ``timeout`` ran out).

    :raises UsageError: no terminal, or nothing typed.
    """
    where = target or "this machine's daemon"
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(f"a key (the token) for {where} is needed and there is no terminal to "
                         "ask for it: call trackd.login(key=...), run `trackd login KEY`, or set "
                         "TRACKD_API_KEY")
    text = _read_hidden(f"trackd: token of the daemon at {where} (its <state dir>/token "
                        "file; hidden): ", timeout)
    if text is None:
        messages.warning(current_settings(), f"no key typed within {timeout:g}s: not logged in")
        return None
    if not text.strip():
        raise UsageError("no key was typed")
    return _clean_key(text)


def _read_hidden(prompt: str, timeout: float | None) -> str | None:
    """One line read from the terminal on stdin without echo (None: ``timeout`` ran out)."""
    import select
    import termios

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~termios.ECHO
    # Echo goes off before the prompt shows: what is typed once it shows is never echoed nor
    # flushed away.
    termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    deadline = None if timeout is None else time.monotonic() + timeout
    line = b""
    try:
        while b"\n" not in line:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            line += chunk
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        sys.stderr.write("\n")
        sys.stderr.flush()
    return line.split(b"\n", 1)[0].decode(errors="replace")


def _verify(target: str, key: str) -> None:
    """Ask the daemon at ``target`` whether it takes ``key``.

    :raises AuthenticationError: it refused the key.
    :raises CommError: it could not be reached.
    """
    import asyncio

    import grpc

    # not loaded by `import trackd`: gRPC, protobuf messages
    from trackd._transport.connection import get_loop_thread, make_stub, open_channel
    from trackd.v1 import daemon_service_pb2

    async def ask() -> None:
        channel = open_channel(target, token=key)
        try:
            stub = make_stub(channel, daemon_service_pb2, "DaemonService")
            await stub.GetDaemonInfo(daemon_service_pb2.GetDaemonInfoRequest(),
                                     timeout=VERIFY_TIMEOUT)
        finally:
            await channel.close()

    future = asyncio.run_coroutine_threadsafe(ask(), get_loop_thread().loop)
    try:
        future.result(VERIFY_TIMEOUT + 5)
    except grpc.aio.AioRpcError as exc:
        err = from_grpc(exc)
        if isinstance(err, AuthenticationError):
            raise AuthenticationError(
                f"the daemon at {target} refused the key: it is not that daemon's token "
                f"(its <state dir>/token file) ({err.message})", code=err.code) from None
        raise err from None


def _store(stored: credentials.Stored | None, host: str | None, key: str | None) -> None:
    """Write the login file: ``host`` with ``key`` (a new key), or with the key already
    stored for it; the CA of ``$TRACKD_TLS_CA`` goes with an https host."""
    same = stored is not None and stored.host == host
    if key is None and same:
        assert stored is not None
        key = stored.key
    ca = os.environ.get("TRACKD_TLS_CA")
    if ca and ca != "system":
        ca = os.path.abspath(ca)
    if not ca and same:
        assert stored is not None
        ca = stored.tls_ca
    if host is None or not host.startswith("https://"):
        ca = None
    path = credentials.write(credentials.Stored(host, key, ca))
    where = host or ("the TCP daemon in use (TRACKD_ADDRESS); this machine's own socket "
                     "needs no key")
    messages.info(current_settings(), f"logged in to {where}; stored in {path} (trackd logout "
                  "forgets it)")
