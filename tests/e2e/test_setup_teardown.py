"""setup()/teardown() and exit hooks, in fresh processes with a daemon of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import DaemonDirs, wait_for


@pytest.fixture
def fresh_env():  # type: ignore[no-untyped-def]
    """Environment for a process that must find no daemon and start its own."""
    dirs = DaemonDirs.make()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKD_", "WANDB_"))}
    env.update(dirs.env)
    del env["TRACKD_ADDRESS"]
    yield dirs, env
    from trackd._transport.daemon import reachable

    if reachable(f"unix:{dirs.socket}"):  # stop a daemon a failed test left behind
        lock = (dirs.runtime / "trackd.lock").read_text().strip()
        if lock.isdigit():
            os.kill(int(lock), 15)
    dirs.cleanup()


def _run(code: str, env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_setup_starts_and_teardown_stops_only_its_own_daemon(fresh_env, tmp_path):
    dirs, env = fresh_env
    proc = _run(
        """
        import os, subprocess, sys
        import trackd
        from trackd._transport.daemon import reachable
        trackd.setup()
        address = os.environ["TRACKD_ADDRESS"]
        print("address", address)
        # A child inherits the address, uses the same daemon, and its teardown leaves it up.
        child = subprocess.run([sys.executable, "-c",
            "import os, trackd; trackd.setup(); r = trackd.init(project='td'); r.log({'a': 1});"
            "trackd.teardown(); print(os.environ.get('TRACKD_ADDRESS'))"],
            capture_output=True, text=True)
        print("child", child.stdout.strip(), child.returncode, child.stderr[-500:])
        print("alive after child", reachable(address))
        trackd.teardown()
        print("alive after owner", reachable(address))
        print("env cleared", "TRACKD_ADDRESS" not in os.environ)
        """,
        env, str(tmp_path),
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    address = f"unix:{dirs.socket}"
    assert f"address {address}" in out
    assert f"child {address} 0" in out
    assert "alive after child True" in out
    assert "alive after owner False" in out
    assert "env cleared True" in out


def test_exit_hooks_finish_forgotten_runs(fresh_env, tmp_path):
    dirs, env = fresh_env
    ok = _run(
        """
        import trackd
        run = trackd.init(project="hooks", id="forgot1")
        for i in range(100):
            run.log({"i": i})
        """,
        env, str(tmp_path),
    )
    assert ok.returncode == 0, ok.stderr
    failing = _run(
        """
        import trackd
        run = trackd.init(project="hooks", id="raised1")
        run.log({"i": 1})
        raise SystemExit(3) if False else RuntimeError("training blew up")
        """,
        env, str(tmp_path),
    )
    assert failing.returncode == 1 and "training blew up" in failing.stderr
    check = _run(
        """
        import trackd
        api = trackd.Api()
        for rid in ("forgot1", "raised1"):
            r = api.run(f"{api.default_entity}/hooks/{rid}")
            print(rid, r.state, r.exit_code, r.history_rows)
        trackd.teardown()
        """,
        env, str(tmp_path),
    )
    assert "forgot1 finished 0 100" in check.stdout, check.stderr
    assert "raised1 failed 1 1" in check.stdout
    from trackd._transport.daemon import reachable

    wait_for(lambda: not reachable(f"unix:{dirs.socket}"), timeout=30)
