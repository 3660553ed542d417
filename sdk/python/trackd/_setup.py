"""``trackd.setup()`` / ``trackd.teardown()`` and the per-process state behind them.

``setup()`` finds a running daemon (``TRACKD_ADDRESS``, then the default per-user socket) or
starts one, and exports its address as ``TRACKD_ADDRESS`` so that child processes (fork or
spawn, multiprocessing, torchrun) use the same daemon. ``init()`` calls it.

``teardown(exit_code)`` finishes the runs this process left open. It stops the daemon only if
this very process started it (it is its *owner*), and only when no other process has a run in
flight there; a daemon left running stops by itself after its idle timeout. It is also called
at interpreter exit, with exit code 1 after an uncaught exception and 255 after Ctrl-C.

State is per process id: a forked child starts with no runs and its own connection.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackd._settings import Settings, apply, base_settings

if TYPE_CHECKING:
    from trackd._run import Run

ADDRESS_ENV = "TRACKD_ADDRESS"


@dataclass
class ProcessState:
    """What this process knows: its settings, daemon and runs."""

    pid: int
    settings: Settings
    address: str | None = None
    owned_daemon_pid: int | None = None
    runs: list[Run] = field(default_factory=list)
    current: Run | None = None
    exit_code: int | None = None


_state: ProcessState | None = None
_lock = threading.RLock()
_hooks_installed = False


def state() -> ProcessState:
    """This process's state (new after a fork)."""
    global _state
    with _lock:
        if _state is None or _state.pid != os.getpid():
            _state = ProcessState(pid=os.getpid(), settings=base_settings())
            _install_hooks()
        return _state


def setup(settings: Settings | dict[str, Any] | None = None) -> ProcessState:
    """Prepare trackd for this process and its children; see the module doc.

    :raises trackd.errors.DaemonUnavailableError: no daemon could be reached or started.
    """
    st = state()
    with _lock:
        if settings is not None:
            st.settings = apply(st.settings, settings)
        if st.settings.get("mode") == "online":
            ensure_daemon(st)
    return st


def ensure_daemon(st: ProcessState, *, restart: bool = False) -> str:
    """Make sure ``st.address`` names a live daemon. With ``restart`` (the daemon went away),
    a daemon on the default socket is started again; an explicit address is only re-checked.

    :raises trackd.errors.DaemonUnavailableError: none could be reached or started.
    """
    from trackd._daemon import find_or_start, reachable

    with _lock:
        if st.address and (not restart or reachable(st.address)):
            return st.address
        explicit = os.environ.get(ADDRESS_ENV) or st.settings.daemon_address
        if explicit and _is_default(explicit):
            explicit = None  # the default socket: (re)start a daemon there when needed
        handle = find_or_start(explicit, float(st.settings.get("daemon_start_timeout")))
        st.address = handle.address
        if handle.pid is not None:
            st.owned_daemon_pid = handle.pid
        os.environ[ADDRESS_ENV] = handle.address
        return handle.address


def _is_default(address: str) -> bool:
    from trackd._shared.paths import default_address

    return address == default_address(os.environ)


def teardown(exit_code: int | None = None) -> None:
    """Finish this process's open runs and stop the daemon if this process started it."""
    global _state
    st = _state
    if st is None or st.pid != os.getpid():
        return
    code = exit_code if exit_code is not None else (st.exit_code or 0)
    for run in list(reversed(st.runs)):
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # noqa: BLE001 - teardown must go on
            print(f"trackd: could not finish run {run.id}: {exc}", file=sys.stderr)
    from trackd._connection import current_connection, drop_connection, get_connection

    conn = current_connection()
    if st.owned_daemon_pid is not None and st.address:
        from trackd.v1 import daemon_service_pb2

        try:
            conn = conn or get_connection(st.address)
            resp = conn.unary(conn.daemon.Shutdown, daemon_service_pb2.ShutdownRequest(if_idle=True),
                              timeout=10)
            if resp.stopping:
                _wait_exit(st.owned_daemon_pid, 30.0)
                if os.environ.get(ADDRESS_ENV) == st.address:
                    del os.environ[ADDRESS_ENV]
        except Exception:  # noqa: BLE001 - the daemon may be gone already
            pass
    drop_connection()
    with _lock:
        _state = None


def _wait_exit(pid: int, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except OSError:
                return
        time.sleep(0.01)


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    previous = sys.excepthook

    def excepthook(tp: type[BaseException], value: BaseException, tb: Any) -> None:
        st = _state
        if st is not None and st.pid == os.getpid():
            st.exit_code = 255 if issubclass(tp, KeyboardInterrupt) else 1
        previous(tp, value, tb)

    sys.excepthook = excepthook


def _at_exit() -> None:
    st = _state
    if st is not None and st.pid == os.getpid():
        teardown(st.exit_code)
