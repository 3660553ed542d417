"""Which port the dashboard binds, so that its address stays the same from one start to the
next: links printed by an earlier daemon, and ``trackd ui``'s, keep opening after a restart.

Unless a port is configured (``TRACKD_UI_PORT``, ``--ui-port``), the dashboard binds the port
it used last (``<state dir>/ui-port``); on a first start, the first free port from the user's
preferred one (:data:`BASE_PORT` plus the user id modulo :data:`USER_SPREAD`, so that users of
one machine rarely meet), and only then any free port. The port bound is written back. A
configured port is used when free, else any free port, and is not remembered.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("trackd.daemon.web")

#: The dashboard's port on a machine with one user (uid modulo USER_SPREAD == 0, root, ...).
BASE_PORT = 8470
#: Users' preferred ports spread over BASE_PORT .. BASE_PORT + USER_SPREAD - 1.
USER_SPREAD = 100
#: How many ports from the preferred one are tried before any free port.
SCAN = 32
#: The file in the state directory that remembers the port.
PORT_FILE = "ui-port"


def preferred_port(uid: int | None = None) -> int:
    """The user's first choice of port (the same on every start)."""
    uid = os.getuid() if uid is None else uid
    return BASE_PORT + uid % USER_SPREAD


def remembered_port(state_dir: Path) -> int | None:
    """The port the dashboard bound last (None: none recorded, or the file is unusable)."""
    try:
        raw = (state_dir / PORT_FILE).read_text().strip()
    except OSError:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 65535:
        return None
    return int(raw)


def remember_port(state_dir: Path, port: int) -> None:
    """Record the bound port for the next start (a failure is logged: the port is a wish)."""
    path = state_dir / PORT_FILE
    tmp = path.with_name(f".{PORT_FILE}.{os.getpid()}")
    try:
        tmp.write_text(f"{port}\n")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not remember the dashboard port in %s: %s", path, exc)
        tmp.unlink(missing_ok=True)


def candidates(configured: int | None, state_dir: Path) -> list[int]:
    """The ports to try, in order; 0 (any free port) last."""
    if configured == 0:
        return [0]
    if configured is not None:
        return [configured, 0]
    first = preferred_port()
    ports = [p for p in (remembered_port(state_dir),) if p is not None]
    ports += [p for p in range(first, min(first + SCAN, 65536)) if p not in ports]
    return [*ports, 0]


def bind_first(host: str, ports: Iterable[int]) -> socket.socket:
    """A listening, non-blocking socket on the first of ``ports`` free on ``host``.

    :raises OSError: a port could not be bound for another reason than being taken, or all
        were taken (0, any free port, ends the list given by :func:`candidates`).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    taken: list[int] = []
    for candidate in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and candidate:
                taken.append(candidate)
                continue
            raise
        if taken:
            log.info("dashboard port(s) %s taken; using %d", _ranges(taken),
                     sock.getsockname()[1])
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise OSError(errno.EADDRINUSE, f"dashboard ports {_ranges(taken)} are all taken")


def _ranges(ports: list[int]) -> str:
    """``8470-8473, 9000``: the ports, runs of consecutive ones shortened."""
    out: list[str] = []
    start = prev = ports[0]
    for p in [*ports[1:], -1]:
        if p == prev + 1:
            prev = p
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = p
    return ", ".join(out)
