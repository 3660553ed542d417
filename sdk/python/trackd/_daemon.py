"""Finding and starting the daemon (used by ``setup()`` and the CLI). Synchronous, no grpc.

Rule: an address in ``TRACKD_ADDRESS`` (or ``Settings.daemon_address``) names a daemon to use
and is never started by the SDK; otherwise the default per-user socket is tried, and if nothing
answers there a daemon is started detached (own session, so Ctrl-C in a terminal does not
reach it) with an idle timeout, and the caller becomes its *owner*.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from trackd._shared.paths import default_address, default_paths
from trackd.errors import DaemonUnavailableError

#: An auto-started daemon stops after this long with no run and no client (like W&B's
#: detached service); ``teardown()`` in the owner stops it sooner when it is idle.
AUTO_IDLE_TIMEOUT = 600.0
EXIT_ALREADY_RUNNING = 3


@dataclass(frozen=True)
class DaemonHandle:
    """A daemon we can talk to; ``pid`` is set when this process started it."""

    address: str
    pid: int | None = None


def reachable(address: str, timeout: float = 1.0) -> bool:
    """True when something accepts connections at ``address`` (a cheap liveness probe)."""
    try:
        if address.startswith("unix:"):
            path = address[5:]
            path = path.removeprefix("//")
            if not os.path.exists(path):
                return False
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            with s:
                s.connect(path)
            return True
        host, _, port = address.rpartition(":")
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout):
            return True
    except (OSError, ValueError):
        return False


def find_or_start(explicit: str | None, start_timeout: float, *, start: bool = True) -> DaemonHandle:
    """Return a daemon to use; start one when none is running (see the module doc).

    :raises DaemonUnavailableError: an explicit address does not answer, or a started daemon
        did not come up within ``start_timeout``.
    """
    if explicit:
        if reachable(explicit):
            return DaemonHandle(explicit)
        if explicit != default_address(os.environ):
            raise DaemonUnavailableError(
                f"no trackd daemon answers at {explicit} (from TRACKD_ADDRESS or settings)"
            )
    address = default_address(os.environ)
    if reachable(address):
        return DaemonHandle(address)
    if not start:
        raise DaemonUnavailableError(f"no trackd daemon is running at {address}")
    return start_daemon(start_timeout)


def start_daemon(timeout: float, idle_timeout: float = AUTO_IDLE_TIMEOUT) -> DaemonHandle:
    """Start a detached daemon and wait until it serves."""
    address = default_address(os.environ)
    out_path = default_paths(os.environ)[1] / "daemon.out"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out = open(out_path, "ab")  # noqa: SIM115 - handed to the child
    r, w = os.pipe()
    cmd = [sys.executable, "-m", "trackd_daemon", "--ready-fd", str(w),
           "--idle-timeout", str(idle_timeout)]
    try:
        proc = subprocess.Popen(
            cmd, pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, close_fds=True,
        )
    finally:
        os.close(w)
        out.close()
    deadline = time.monotonic() + timeout
    line = b""
    try:
        os.set_blocking(r, False)
        while time.monotonic() < deadline:
            try:
                chunk = os.read(r, 4096)
            except BlockingIOError:
                chunk = None
            if chunk:
                line += chunk
                if b"\n" in line:
                    return DaemonHandle(line.decode().strip() or address, proc.pid)
            code = proc.poll()
            if code is not None:
                err = out_path.read_bytes()[-2000:].decode(errors="replace").strip()
                if code == EXIT_ALREADY_RUNNING or reachable(address):
                    # Another process started one first: use it.
                    return _wait_reachable(address, deadline)
                raise DaemonUnavailableError(f"the trackd daemon exited with status {code}: {err}")
            time.sleep(0.005)
    finally:
        os.close(r)
    raise DaemonUnavailableError(f"the trackd daemon did not start within {timeout:.0f}s")


def _wait_reachable(address: str, deadline: float) -> DaemonHandle:
    while time.monotonic() < deadline:
        if reachable(address):
            return DaemonHandle(address)
        time.sleep(0.02)
    raise DaemonUnavailableError(f"no trackd daemon answers at {address}")
