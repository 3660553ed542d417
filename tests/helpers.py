"""Test helpers: a real daemon in temporary directories."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ENV_KEYS = ("TRACKD_ROOT", "TRACKD_STATE_DIR", "TRACKD_RUNTIME_DIR", "TRACKD_ADDRESS",
            "TRACKD_CRASH_GRACE", "TRACKD_UI_PORT", "TRACKD_LINGER")


@dataclass
class DaemonDirs:
    """Where one test daemon keeps everything. The runtime dir is short: a Unix socket path
    must stay under ~100 bytes."""

    base: Path
    runtime: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, crash_grace: float = 1.5) -> DaemonDirs:
        base = Path(tempfile.mkdtemp(prefix="trackd-test-"))
        runtime = Path(tempfile.mkdtemp(prefix="td", dir="/tmp"))
        env = {
            "TRACKD_ROOT": str(base / "root"),
            "TRACKD_STATE_DIR": str(base / "state"),
            "TRACKD_RUNTIME_DIR": str(runtime),
            "TRACKD_ADDRESS": f"unix:{runtime / 'trackd.sock'}",
            "TRACKD_CRASH_GRACE": str(crash_grace),
            # The dashboard on any free port: tests never take the default one from a real daemon.
            "TRACKD_UI_PORT": "0",
            # A daemon a test's process started stops with that process (tests/e2e/
            # test_links.py checks the linger itself).
            "TRACKD_LINGER": "0",
        }
        return cls(base, runtime, env)

    @property
    def socket(self) -> Path:
        return self.runtime / "trackd.sock"

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


class _Adopted:
    """The part of ``subprocess.Popen`` that DaemonProcess uses, for a daemon another process
    started (see ``DaemonProcess._adopt``): its exit status is its parent's to collect."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    gone = f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # exited
            except FileNotFoundError:
                gone = True
            if gone:
                self.returncode = 0
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"daemon {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code


class DaemonProcess:
    """A daemon started by the test (not by the SDK, so no test process owns it)."""

    def __init__(self, dirs: DaemonDirs,
                 rlimits: Mapping[int, tuple[int, int]] | None = None) -> None:
        self.dirs = dirs
        self.proc: subprocess.Popen[bytes] | None = None
        #: Resource limits (``resource.RLIMIT_*``: (soft, hard)) the daemon starts with, set by
        #: its own interpreter before it loads (no code of the test's runs in the forked child).
        self.rlimits = dict(rlimits or {})

    def start(self, timeout: float = 30.0) -> None:
        """Start the daemon and wait until it says it serves (``--ready-fd``): every listener
        started, the TCP token and the dashboard's written. Its Unix socket accepts earlier,
        as soon as it is bound, so a connection alone does not say it is ready."""
        env = {**os.environ, **self.dirs.env}
        env.pop("TRACKD_ADDRESS", None)
        log = open(self.dirs.base / "daemon.out", "ab")  # noqa: SIM115
        start = ["-m", "trackd_daemon"]
        if self.rlimits:
            start = ["-c", ("import resource, runpy\n"
                            f"for k, v in {self.rlimits!r}.items(): resource.setrlimit(k, v)\n"
                            "runpy.run_module('trackd_daemon', run_name='__main__',"
                            " alter_sys=True)")]
        r, w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, *start, "--ready-fd", str(w)], env=env,
                stdout=log, stderr=log, start_new_session=True, pass_fds=(w,))
        finally:
            os.close(w)
            log.close()
        try:
            self._wait_ready(r, time.monotonic() + timeout)
        finally:
            os.close(r)

    def _wait_ready(self, ready: int, deadline: float) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            readable, _, _ = select.select([ready], [], [], 0.05)
            if readable:
                if os.read(ready, 4096):
                    return  # the daemon wrote its address: it serves
                with suppress(subprocess.TimeoutExpired):  # closed without a word: exiting
                    self.proc.wait(max(deadline - time.monotonic(), 0))
            if self.proc.poll() is not None:
                out = (self.dirs.base / "daemon.out").read_text()
                if "already running" in out and self._adopt(deadline):
                    return
                raise RuntimeError(f"daemon exited: {out}")
        raise RuntimeError("daemon did not start")

    def _lock_pid(self) -> int | None:
        """The pid the daemon holding this runtime dir's lock wrote in it."""
        lock = self.dirs.runtime / "trackd.lock"
        pid = lock.read_text().strip() if lock.exists() else ""
        return int(pid) if pid.isdigit() else None

    def _adopt(self, deadline: float) -> bool:
        """A test that stops its daemon and starts it again, with a run open in a client, races
        the client's SDK: it starts a daemon on the default socket again when its daemon goes
        away. When the SDK's won, that daemon (same dirs, same settings from the environment)
        is this one from now on: driven by its pid, from the lock it holds."""
        from trackd._transport.daemon import reachable

        while time.monotonic() < deadline:
            pid = self._lock_pid()
            if pid is not None and reachable(f"unix:{self.dirs.socket}"):
                self.proc = _Adopted(pid)  # type: ignore[assignment]
                return True
            time.sleep(0.02)
        return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no drain, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait: the daemon drains and exits."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log_text(self) -> str:
        p = Path(self.dirs.env["TRACKD_STATE_DIR"]) / "daemon.log"
        return p.read_text() if p.exists() else ""


@contextmanager
def own_daemon(monkeypatch, env: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
               rlimits: Mapping[int, tuple[int, int]] | None = None) -> Iterator[DaemonProcess]:
    """A daemon of the caller's own (with ``env`` added to its settings, started with
    ``rlimits``), the SDK pointed at it through ``monkeypatch``; the SDK torn down and the
    daemon stopped afterwards."""
    import trackd

    trackd.teardown()
    dirs = DaemonDirs.make()
    dirs.env.update(env or {})
    for k, v in dirs.env.items():
        monkeypatch.setenv(k, v)
    d = DaemonProcess(dirs, rlimits)
    d.start()
    try:
        yield d
    finally:
        trackd.teardown()
        d.stop()
        dirs.cleanup()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value (for conditions in other processes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def read_line(proc: subprocess.Popen) -> str:  # type: ignore[type-arg]
    """The next line of ``proc``'s stdout, read from its pipe a byte at a time.

    ``proc.stdout.readline()`` takes whatever the pipe holds into the stream's buffer, and
    ``communicate()`` reads the pipe itself when stderr is piped too: a line the process wrote
    soon after (a writer that finished quickly: its "DONE") was then in neither.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode()
