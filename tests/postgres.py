"""A throwaway PostgreSQL server for tests: ``initdb`` and ``postgres`` from the machine's
PostgreSQL package, in a temporary directory, listening only on a Unix socket there.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
unprivileged ``nobody`` user (through ``setpriv``); otherwise it runs as the test's user.
Authentication is ``trust`` on the socket, which only the server's directory exposes.
:func:`postgres_server` (a session fixture body) skips with the reason when no PostgreSQL is
installed; ``.ci/run`` installs Debian's ``postgresql`` package so that CI always has one.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The superuser the test cluster is made with (any name works with trust authentication).
SUPERUSER = "trackd"


def _bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` are: on PATH, or Debian's versioned directory."""
    found = shutil.which("initdb")
    if found:  # Debian links a few of the tools onto PATH: use the directory of all of them
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name)
                        if Path(p).parent.parent.name.isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PostgresServer:
    """A running test server. :meth:`url` names a database on it."""

    root: Path
    socket_dir: Path
    process: subprocess.Popen[bytes]
    bindir: Path
    run_as: list[str]
    command: list[str]
    env: dict[str, str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def halt(self) -> None:
        """Stop the server as a database outage: "fast" shutdown (SIGINT, open connections are
        closed), its data kept for :meth:`resume`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)

    def resume(self) -> None:
        """Start the server again after :meth:`halt`, on the same socket and data."""
        with open(self.root / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """:raises RuntimeError: the server exited or was not ready within 30 s."""
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h",
                                    str(self.socket_dir), "-U", SUPERUSER],
                                   check=False).returncode == 0
            if ready:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = (self.root / "postgres.log").read_text(errors="replace")
                raise RuntimeError(f"the test PostgreSQL server did not start:\n{text}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: "smart" shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _runner() -> tuple[list[str], int, int] | None:
    """The command prefix that drops root to ``nobody`` (and its uid, gid), or no prefix."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    user = pwd.getpwnam("nobody")
    return ([setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
             "--"], user.pw_uid, user.pw_gid)


def start_server() -> PostgresServer:
    """Start a server (see the module doc).

    :raises pytest.skip.Exception: no PostgreSQL installed, or no way to run it unprivileged.
    """
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (initdb not found); .ci/run installs it")
    runner = _runner()
    if runner is None:
        pytest.skip("running as root without setpriv: PostgreSQL cannot be started unprivileged")
    prefix, uid, gid = runner
    # A short path: the socket's path must stay under ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="tdpg", dir="/tmp"))
    data, sockets = root / "data", root / "s"
    sockets.mkdir()
    for p in (root, sockets):
        os.chown(p, uid, gid)
    os.chmod(root, 0o755)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                    "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    command = [*prefix, str(bindir / "postgres"), "-D", str(data), "-k", str(sockets),
               "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
               "-c", "full_page_writes=off", "-c", "max_connections=200",
               "-c", "shared_buffers=64MB"]
    log = open(root / "postgres.log", "wb")  # noqa: SIM115 - owned by the server's lifetime
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = PostgresServer(root, sockets, process, bindir, prefix, command, env)
    try:
        server._wait_ready()
    except RuntimeError:
        server.stop()
        raise
    return server


def postgres_server() -> Iterator[PostgresServer]:
    """Body of a session-scoped fixture: one server for the session, stopped at its end."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
