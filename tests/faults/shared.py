"""A daemon shared by several users, and clients acting as them, for the isolation tests.

The daemon serves a socket every local user may open (``TRACKD_SOCKET_MODE=0666``), as a
system-wide install does. Clients are helper scripts started as root that drop to a test uid
(uids without passwd entries: to the kernel, and so to ``SO_PEERCRED``, a uid is a number)
and print their results as one JSON line. That needs root; elsewhere these tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DaemonDirs, DaemonProcess

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as several users needs root (setuid to test uids)")


@contextmanager
def shared_daemon(users: dict[int, int], env: dict[str, str] | None = None,
                  home_mode: int = 0o755) -> Iterator[tuple[DaemonProcess, Path]]:
    """A running shared daemon (``env`` added to its settings) and a directory holding a home
    for each uid of ``users`` (uid -> its gid), owned by it."""
    dirs = DaemonDirs.make()
    dirs.env.update(TRACKD_SOCKET_MODE="0666", **(env or {}))
    homes = dirs.base.parent / f"{dirs.base.name}-homes"
    homes.mkdir(mode=0o755)
    for uid, gid in users.items():
        (homes / str(uid)).mkdir(mode=home_mode)
        os.chown(homes / str(uid), uid, gid)
    d = DaemonProcess(dirs)
    d.start()
    try:
        yield d, homes
    finally:
        d.stop()
        dirs.cleanup()
        subprocess.run(["rm", "-rf", str(homes)], check=False)


def run_as(script: Path, *args: object, env: dict[str, str] | None = None,
           cwd: Path | None = None, timeout: float = 60) -> Any:
    """Run ``script`` (a helper that drops to a test uid) with ``args``; its last line of
    output, as JSON."""
    # The client knows only what ``env`` tells it (the socket's address): none of the test
    # process's own daemon settings.
    full = {k: v for k, v in os.environ.items()
            if not k.startswith("TRACKD_") and k != "XDG_RUNTIME_DIR"}
    full.update(PYTHONPATH=os.pathsep.join(sys.path), **(env or {}))
    out = subprocess.run([sys.executable, str(script), *map(str, args)], env=full, cwd=cwd,
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert out.stdout.strip(), out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def client_env(d: DaemonProcess, home: Path | None = None) -> dict[str, str]:
    """What a client of the shared daemon knows: its socket's address (and its home)."""
    env = {"TRACKD_ADDRESS": f"unix:{d.dirs.socket}"}
    if home is not None:
        env["HOME"] = str(home)
    return env
