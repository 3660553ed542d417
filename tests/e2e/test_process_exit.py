"""How a script's end reaches its run, in fresh processes against a daemon of their own.

* The seed's ``setup()`` example: settings given to ``setup()`` in a parent reach the runs of
  its ``multiprocessing`` children (fork and spawn).
* The process's exit status is the run's: ``sys.exit(3)`` → failed with exit code 3,
  ``sys.exit(0)`` and a normal end → finished 0, an uncaught exception → failed 1, Ctrl-C →
  failed 255, ``os._exit`` (no exit hooks at all) → crashed once the daemon's grace passes.
* ``init_timeout`` bounds every wait in ``init()``, even against a daemon that does not answer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from tests.seed_examples import SEED_SETUP_EXAMPLE


@pytest.fixture
def daemon_env(tmp_path):  # type: ignore[no-untyped-def]
    """A daemon of the test's own and the environment of a script that uses it."""
    dirs = DaemonDirs.make(crash_grace=1.0)
    d = DaemonProcess(dirs)
    d.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKD_", "WANDB_"))}
    env.update(dirs.env)
    yield d, env
    d.stop()
    dirs.cleanup()


def _script(tmp_path: Path, name: str, code: str, env: dict[str, str],
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(path)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _runs(env: dict[str, str], tmp_path: Path, project: str) -> dict[str, tuple[str, object, dict]]:
    """``{run id: (state, exit code, config)}`` of a project, read through a fresh Api()."""
    proc = _script(tmp_path, "read_back.py", f"""
        import json, trackd
        api = trackd.Api()
        out = {{r.id: [r.state, r.exit_code, {{k: v for k, v in r.config.items()}}]
               for r in api.runs(f"{{api.default_entity}}/{project}")}}
        print(json.dumps(out))
        """, env)
    assert proc.returncode == 0, proc.stderr
    import json

    return {k: tuple(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


@pytest.mark.parametrize("start_method", ["default", "fork", "spawn"])
def test_seed_setup_example_children_log_to_the_setup_project(daemon_env, tmp_path, start_method):
    _, env = daemon_env
    code = SEED_SETUP_EXAMPLE
    if start_method != "default":
        code = code.replace('   # Start backend and set global config\n',
                            f'   multiprocessing.set_start_method("{start_method}")\n'
                            '   # Start backend and set global config\n')
    proc = _script(tmp_path, "experiment.py", code, env)
    assert proc.returncode == 0, proc.stderr
    runs = _runs(env, tmp_path, "my_project")
    configs = sorted(((c["learning_rate"], c["epochs"]) for _s, _e, c in runs.values()))
    assert configs == [(0.001, 20), (0.01, 10)], runs
    assert {s for s, _e, _c in runs.values()} == {"finished"}
    assert _runs(env, tmp_path, "uncategorized") == {}


def test_setup_settings_stay_below_init_and_leave_with_teardown(daemon_env, tmp_path):
    _, env = daemon_env
    proc = _script(tmp_path, "layers.py", """
        import os, subprocess, sys
        import trackd
        trackd.setup(settings=trackd.Settings(project="from-setup", run_group="g1"))
        child = ("import trackd; r = trackd.init(project=None, group='mine'); "
                 "print(r.project, r.group); r.finish()")
        print(subprocess.run([sys.executable, "-c", child], capture_output=True,
                             text=True).stdout.strip())
        # init() arguments and init(settings=...) win over what setup() exported.
        child = ("import trackd; r = trackd.init(project='explicit'); print(r.project, r.group);"
                 "r.finish()")
        print(subprocess.run([sys.executable, "-c", child], capture_output=True,
                             text=True).stdout.strip())
        trackd.teardown()
        print("left", "TRACKD_SETUP_SETTINGS" in os.environ)
        """, env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["from-setup mine", "explicit g1", "left False"], proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("ending", "returncode", "state", "exit_code"),
    [
        ("sys.exit(3)", 3, "failed", 3),
        ("sys.exit(0)", 0, "finished", 0),
        ("sys.exit('giving up')", 1, "failed", 1),
        ("pass", 0, "finished", 0),
        ("raise RuntimeError('training blew up')", 1, "failed", 1),
        ("raise KeyboardInterrupt", None, "failed", 255),
        ("with run: sys.exit(5)", 5, "failed", 5),
        ("with run: sys.exit(0)", 0, "finished", 0),
    ],
)
def test_the_process_exit_status_is_the_runs(daemon_env, tmp_path, ending, returncode, state,
                                             exit_code):
    _, env = daemon_env
    run_id = "end" + str(abs(hash(ending)) % 10_000)
    proc = _script(tmp_path, "train.py", f"""
        import sys
        import trackd
        run = trackd.init(project="exits", id="{run_id}")
        run.log({{"loss": 0.5}})
        {ending}
        """, env)
    if returncode is not None:
        assert proc.returncode == returncode, proc.stderr
    assert _runs(env, tmp_path, "exits")[run_id][:2] == (state, exit_code)


def test_os_exit_leaves_the_run_to_be_marked_crashed(daemon_env, tmp_path):
    _, env = daemon_env
    proc = _script(tmp_path, "train.py", """
        import os
        import trackd
        run = trackd.init(project="exits", id="hardexit")
        run.log({"loss": 0.5})
        trackd.summary  # the run is live
        os._exit(7)
        """, env)
    assert proc.returncode == 7
    wait_for(lambda: _runs(env, tmp_path, "exits")["hardexit"][0] == "crashed", timeout=30)


def test_init_timeout_bounds_init_against_a_daemon_that_does_not_answer(daemon_env, tmp_path):
    d, env = daemon_env
    assert d.proc is not None
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        proc = _script(tmp_path, "stuck.py", """
            import time
            import trackd
            started = time.monotonic()
            try:
                trackd.init(project="stuck", settings=trackd.Settings(init_timeout=3))
            except trackd.errors.CommError as exc:
                print(f"{time.monotonic() - started:.2f}")
                print(type(exc).__name__, exc)
            """, env, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    assert proc.returncode == 0, proc.stderr
    took, message = proc.stdout.splitlines()[:2]
    assert float(took) < 4.0, proc.stdout
    assert "init_timeout" in message and "3" in message, message
    assert "daemon" in message, message
    assert elapsed < 30, elapsed  # the interpreter's exit is not stuck on it either
