"""Finding and starting the daemon (used by ``setup()`` and the CLI). Synchronous, no grpc.

Rule: an address in ``TRACKD_ADDRESS`` (or ``Settings.daemon_address``, ``Settings.base_url``,
the host stored by ``trackd login``) names a daemon to use and is never started by the SDK;
otherwise the default per-user socket is tried, and if nothing answers there a daemon is
started detached (own session, so Ctrl-C in a terminal does not reach it) with an idle
timeout, and the caller becomes its *owner*.

The state directory holds the daemon's log, tokens and ``daemon.out`` (its stderr, which may
quote user data): before starting a daemon the SDK makes the directory 0700 and
``daemon.out`` 0600 whatever the umask, tightens them when an earlier version or another
tool made them wider, and refuses a directory or file that belongs to another user.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from trackd._shared.paths import default_address, default_paths
from trackd._transport.credentials import split_address
from trackd.errors import DaemonUnavailableError

#: An auto-started daemon stops after this long with no run and no client (like W&B's
#: detached service); ``teardown()`` in the owner makes that the daemon's linger time
#: (``TRACKD_LINGER``), stopping it at once when that is 0 and nothing uses it.
AUTO_IDLE_TIMEOUT = 600.0
EXIT_ALREADY_RUNNING = 3
#: Modes of the state directory and of ``daemon.out``: the daemon's user's alone.
STATE_DIR_MODE = 0o700
DAEMON_OUT_MODE = 0o600


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
        host, _, port = split_address(address)[1].rpartition(":")
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
                f"no trackd daemon answers at {explicit} (from TRACKD_ADDRESS, the settings or "
                "trackd login)"
            )
    address = default_address(os.environ)
    if reachable(address):
        return DaemonHandle(address)
    if not start:
        raise DaemonUnavailableError(f"no trackd daemon is running at {address}")
    return start_daemon(start_timeout)


def start_daemon(timeout: float, idle_timeout: float = AUTO_IDLE_TIMEOUT) -> DaemonHandle:
    """Start a detached daemon and wait until it serves.

    :raises DaemonUnavailableError: the state directory or ``daemon.out`` cannot be used (see
        :func:`open_daemon_out`), or the daemon did not come up within ``timeout``.
    """
    address = default_address(os.environ)
    state_dir = default_paths(os.environ)[1]
    out_path = state_dir / "daemon.out"
    out = open_daemon_out(state_dir)
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
        os.close(out)
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


def open_daemon_out(state_dir: Path) -> int:
    """Make ``state_dir`` owner-only and open ``daemon.out`` in it, owner-only, for appending;
    returns the descriptor (see the module doc).

    Both are checked and tightened through descriptors, so what is checked is what is used;
    ``daemon.out`` is never followed through a symlink.

    :raises DaemonUnavailableError: either belongs to another user, is not a directory or a
        regular file, or cannot be made or opened.
    """
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=STATE_DIR_MODE)
        dir_fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise DaemonUnavailableError(f"cannot use the state directory {state_dir}: {exc}") from None
    try:
        _own_only(dir_fd, STATE_DIR_MODE, f"the state directory {state_dir}", directory=True)
        try:
            fd = os.open("daemon.out", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_CLOEXEC, DAEMON_OUT_MODE, dir_fd=dir_fd)
        except OSError as exc:
            raise DaemonUnavailableError(
                f"cannot open {state_dir / 'daemon.out'} (a symlink is refused): {exc}") from None
    finally:
        os.close(dir_fd)
    try:
        _own_only(fd, DAEMON_OUT_MODE, str(state_dir / "daemon.out"), directory=False)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _own_only(fd: int, mode: int, what: str, *, directory: bool) -> None:
    """Give the open directory or file ``fd`` exactly ``mode`` unless it has it already.

    :raises DaemonUnavailableError: it belongs to another user or is of the wrong kind.
    """
    st = os.fstat(fd)
    if not (stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)):
        raise DaemonUnavailableError(f"{what} is not a {'directory' if directory else 'file'}")
    if st.st_uid != os.geteuid():
        raise DaemonUnavailableError(
            f"{what} belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()}): trackd "
            "starts no daemon there; set TRACKD_STATE_DIR to a directory of your own")
    if stat.S_IMODE(st.st_mode) != mode:
        os.fchmod(fd, mode)


def _wait_reachable(address: str, deadline: float) -> DaemonHandle:
    while time.monotonic() < deadline:
        if reachable(address):
            return DaemonHandle(address)
        time.sleep(0.02)
    raise DaemonUnavailableError(f"no trackd daemon answers at {address}")
