"""``trackd.setup()`` / ``trackd.teardown()`` and the per-process state behind them.

``setup()`` finds a running daemon (``TRACKD_ADDRESS``, the settings' ``daemon_address`` or
``base_url``, the host stored by ``login()``, then the default per-user socket) or starts one,
and exports its address as ``TRACKD_ADDRESS`` so that child processes (fork or spawn,
multiprocessing, torchrun) use the same daemon. ``init()`` calls it. The settings given to
``setup()`` are exported too (``TRACKD_SETUP_SETTINGS``): a child's ``init()`` starts from
them, as the parent's does, and its own ``init()`` arguments win over them.

``teardown(exit_code)`` finishes the runs this process left open. If this very process started
the daemon (it is its *owner*), it asks the daemon to stop when idle: the daemon lingers for its
linger time (``TRACKD_LINGER``, 10 minutes by default) after its last client, so that the URLs
this process printed keep opening, and stops at once only with a linger of 0 and no other
process using it. A daemon left running stops by itself after its idle timeout. It is also called
at interpreter exit with the process's exit status: the code given to ``sys.exit()`` (which
is wrapped to record it: 0 for None, 1 for a message), 1 after an uncaught exception and 255
after Ctrl-C. ``os._exit()`` runs no hook at all: the daemon marks such a run crashed.

State is per process id: a forked child starts with no runs and its own connection.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackd._base import messages
from trackd._settings import (
    SETUP_SETTINGS_ENV,
    Settings,
    apply,
    base_settings,
    export_setup,
    inherited_setup,
)
from trackd._transport.credentials import daemon_url, stored_host, use_api_key

if TYPE_CHECKING:
    from trackd._run.run import Run

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
    #: What setup() put in TRACKD_SETUP_SETTINGS, and the value it replaced (for teardown).
    exported: tuple[str, str | None] | None = None


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


def current_run() -> Run | None:
    """This process's current run (``trackd.run``); None before ``init()`` and in a forked
    child, which has no run of its own until it calls ``init()``."""
    st = _state
    if st is None or st.pid != os.getpid():
        return None
    return st.current


def current_settings() -> Settings:
    """The settings that govern what this process does now: the current run's, else those
    of ``setup()`` (and the environment)."""
    st = state()
    return st.current._settings if st.current is not None else st.settings


def setup(settings: Settings | dict[str, Any] | None = None) -> ProcessState:
    """Prepare trackd for this process and its children; see the module doc.

    :raises trackd.errors.DaemonUnavailableError: no daemon could be reached or started.
    """
    st = state()
    with _lock:
        if settings is not None:
            st.settings = apply(st.settings, settings)
            _export(st, settings)
        if st.settings.get("mode") == "online":
            ensure_daemon(st)
    return st


def _export(st: ProcessState, given: Settings | dict[str, Any]) -> None:
    """Put the settings setup() was given (with those a parent exported) where children find
    them."""
    inherited = inherited_setup(os.environ)
    value = export_setup(inherited.merged(given))
    previous = st.exported[1] if st.exported is not None else os.environ.get(SETUP_SETTINGS_ENV)
    os.environ[SETUP_SETTINGS_ENV] = value
    st.exported = (value, previous)


def ensure_daemon(st: ProcessState, *, restart: bool = False, timeout: float | None = None) -> str:
    """Make sure ``st.address`` names a live daemon. With ``restart`` (the daemon went away),
    a daemon on the default socket is started again; an explicit address is only re-checked.
    ``timeout`` caps the wait for a daemon this call starts (below ``daemon_start_timeout``).

    :raises trackd.errors.DaemonUnavailableError: none could be reached or started.
    """
    # loaded on first use, not by `import trackd`
    from trackd._transport.daemon import find_or_start, reachable

    with _lock:
        if st.address and (not restart or reachable(st.address)):
            return st.address
        use_api_key(st.settings.api_key)
        explicit = (os.environ.get(ADDRESS_ENV) or st.settings.daemon_address
                    or daemon_url(st.settings.base_url) or stored_host())
        if explicit and _is_default(explicit):
            explicit = None  # the default socket: (re)start a daemon there when needed
        start_timeout = float(st.settings.get("daemon_start_timeout"))
        if timeout is not None:
            start_timeout = max(0.0, min(start_timeout, timeout))
        handle = find_or_start(explicit, start_timeout)
        st.address = handle.address
        if handle.pid is not None:
            st.owned_daemon_pid = handle.pid
        os.environ[ADDRESS_ENV] = handle.address
        return handle.address


def connect() -> Any:
    """A connection to this process's daemon for reads, finding it or starting it again when it
    stopped since (idle, or another process stopped it) instead of calling a dead socket."""
    from trackd._transport.connection import get_connection  # grpc: not at `import trackd`

    return get_connection(ensure_daemon(state(), restart=True))


def _is_default(address: str) -> bool:
    # loaded on first use, not by `import trackd`
    from trackd._shared.paths import default_address

    return address == default_address(os.environ)


def teardown(exit_code: int | None = None) -> None:
    """Finish this process's open runs; ask the daemon this process started to stop when idle
    (after its linger time)."""
    global _state
    st = _state
    if st is None or st.pid != os.getpid():
        return
    code = exit_code if exit_code is not None else (st.exit_code or 0)
    for run in list(reversed(st.runs)):
        try:
            run.finish(exit_code=code)
        except Exception as exc:  # noqa: BLE001 - teardown must go on
            messages.error(run._settings, f"could not finish run {run.id}: {exc}")
    # not loaded by `import trackd`: gRPC
    from trackd._transport.connection import current_connection, drop_connection, get_connection

    conn = current_connection()
    if st.owned_daemon_pid is not None and st.address:
        # not loaded by `import trackd`: protobuf messages
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
    if st.exported is not None and os.environ.get(SETUP_SETTINGS_ENV) == st.exported[0]:
        if st.exported[1] is None:
            del os.environ[SETUP_SETTINGS_ENV]
        else:
            os.environ[SETUP_SETTINGS_ENV] = st.exported[1]
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


def exit_status(code: object) -> int:
    """The process exit status ``sys.exit(code)`` gives: None is 0, an int is itself, anything
    else (a message) is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    previous_exit = sys.exit

    def exit(code: object = None) -> None:  # noqa: A001 - stands in for sys.exit
        """``sys.exit``, recording the status for the runs this process leaves open."""
        st = _state
        if st is not None and st.pid == os.getpid():
            st.exit_code = exit_status(code)
        previous_exit(code)

    exit.__wrapped__ = previous_exit  # type: ignore[attr-defined]
    sys.exit = exit
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
