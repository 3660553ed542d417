"""The SDK keeps its state directory and ``daemon.out`` owner-only (issue 14, finding 8), as
docs/operations/security.md promises ("The SDK's own files"): whatever the umask of the process
that starts the daemon, however an earlier version left them, and never through another user's
directory or a planted symlink.

Each test starts a real daemon the way a user does (``trackd.init()`` or ``trackd daemon
start``) from a process with umask 000, where a plain ``mkdir``/``open`` makes 0777/0666.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import CLI, ENTITY, Sandbox


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _start(box: Sandbox) -> subprocess.CompletedProcess[str]:
    """``trackd daemon start`` with umask 000."""
    return subprocess.run([*CLI, "daemon", "start"], env=box.env, capture_output=True,
                          text=True, timeout=60, check=False, umask=0)


def test_init_makes_them_owner_only_under_umask_000(box: Sandbox) -> None:
    code = (f"import trackd\ntrackd.init(entity={ENTITY!r}, project='p', id='r').finish()\n")
    proc = subprocess.run([sys.executable, "-c", code], env=box.env, capture_output=True,
                          text=True, timeout=60, check=False, umask=0)
    assert proc.returncode == 0, proc.stderr
    state = Path(box.env["TRACKD_STATE_DIR"])
    assert _mode(state) == 0o700
    assert _mode(state / "daemon.out") == 0o600


def test_wider_ones_are_tightened(box: Sandbox) -> None:
    """A directory and a file made wide before (an older SDK under umask 000) are tightened
    when a daemon is next started."""
    state = Path(box.env["TRACKD_STATE_DIR"])
    state.mkdir()
    os.chmod(state, 0o777)
    (state / "daemon.out").write_text("earlier output\n")
    os.chmod(state / "daemon.out", 0o666)
    proc = _start(box)
    assert proc.returncode == 0 and "started" in proc.stdout, proc.stderr
    assert _mode(state) == 0o700
    assert _mode(state / "daemon.out") == 0o600
    assert (state / "daemon.out").read_text().startswith("earlier output\n")  # appended to


def test_a_planted_symlink_is_not_followed(box: Sandbox) -> None:
    """Another user who could write to a once-wide state directory left ``daemon.out`` as a
    symlink to a file of the victim's: starting a daemon must neither write to that file nor
    change its mode."""
    state = Path(box.env["TRACKD_STATE_DIR"])
    state.mkdir(mode=0o700)
    victim = box.dir / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    (state / "daemon.out").symlink_to(victim)
    proc = _start(box)
    assert proc.returncode == 1 and "daemon.out" in proc.stderr
    assert not box.answering()
    assert victim.read_text() == "precious\n" and _mode(victim) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another uid needs root")
def test_another_users_directory_is_refused(box: Sandbox) -> None:
    """A state directory that belongs to someone else (``TRACKD_STATE_DIR`` pointing at a
    directory another user made, say in /tmp) is not used: its owner could read the daemon's
    output or swap its files."""
    state = Path(box.env["TRACKD_STATE_DIR"])
    state.mkdir(mode=0o755)
    os.chown(state, 65534, 65534)
    proc = _start(box)
    assert proc.returncode == 1
    assert "belongs to uid 65534" in proc.stderr and "TRACKD_STATE_DIR" in proc.stderr
    assert not box.answering()
    assert not (state / "daemon.out").exists()
    assert _mode(state) == 0o755  # not ours to change
