"""Links trackd prints keep working: a daemon a script started on demand lingers after the
script ends (``TRACKD_LINGER``), the dashboard comes back on the same port with the same token,
and ``trackd ui`` opens a run from ``PROJECT/RUN_ID`` and ``ENTITY/PROJECT/RUN_ID``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd._transport.daemon import reachable

SCRIPT = """
import trackd
run = trackd.init(project="links", id="{run_id}", name="linked-run")
run.log({{"loss": 0.5}})
print("URL", run.url)
"""


@pytest.fixture
def fresh() -> Iterator[tuple[DaemonDirs, dict[str, str]]]:
    """Directories and an environment in which a process finds no daemon and starts its own;
    whatever daemon is left is stopped afterwards."""
    dirs = DaemonDirs.make()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKD_", "WANDB_"))}
    env.update(dirs.env)
    del env["TRACKD_ADDRESS"]
    yield dirs, env
    if reachable(f"unix:{dirs.socket}"):
        pid = (dirs.runtime / "trackd.lock").read_text().strip()
        if pid.isdigit():
            os.kill(int(pid), signal.SIGTERM)
            wait_for(lambda: not reachable(f"unix:{dirs.socket}"), timeout=30)
    dirs.cleanup()


def _python(code: str, env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "trackd._cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _token(dirs: DaemonDirs) -> str:
    return (Path(dirs.env["TRACKD_STATE_DIR"]) / "ui-token").read_text().strip()


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


def _daemon_pid(dirs: DaemonDirs) -> int:
    return int((dirs.runtime / "trackd.lock").read_text().strip())


def test_run_url_opens_after_the_script_that_printed_it_ended(fresh, tmp_path: Path) -> None:
    dirs, env = fresh
    env["TRACKD_LINGER"] = "30"
    out = _python(SCRIPT.format(run_id="ended1"), env, tmp_path)
    url = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("URL "))
    assert url.endswith("/runs/ended1")
    time.sleep(3)  # the script is gone; its daemon lingers
    assert reachable(f"unix:{dirs.socket}")
    status, body = _get(url, _token(dirs))
    assert status == 200 and b"linked-run" in body
    os.kill(_daemon_pid(dirs), 0)  # still serving after the page was loaded
    assert reachable(f"unix:{dirs.socket}")


def test_a_lingering_daemon_stops_once_idle_for_its_linger(fresh, tmp_path: Path) -> None:
    dirs, env = fresh
    env["TRACKD_LINGER"] = "3"
    _python(SCRIPT.format(run_id="ended2"), env, tmp_path)
    assert reachable(f"unix:{dirs.socket}")  # not stopped with the script
    wait_for(lambda: not reachable(f"unix:{dirs.socket}"), timeout=30)
    log = (Path(dirs.env["TRACKD_STATE_DIR"]) / "daemon.log").read_text()
    assert "stopping after 3s idle" in log and "idle for 3s; stopping" in log


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def test_trackd_ui_restarts_the_dashboard_on_its_port_with_its_token(fresh) -> None:
    dirs, env = fresh
    del env["TRACKD_UI_PORT"]  # the user's own port, as outside tests
    first = _cli(env, "ui", "--no-browser")
    token = _token(dirs)
    state = Path(dirs.env["TRACKD_STATE_DIR"])
    port = urlsplit(first).port
    assert port is not None and (state / "ui-port").read_text().strip() == str(port)
    _cli(env, "daemon", "stop")
    assert not reachable(f"unix:{dirs.socket}")
    again = _cli(env, "ui", "--no-browser")
    assert _base(again) == _base(first) and _token(dirs) == token
    status, _ = _get(_base(again), token)
    assert status == 200


def test_a_configured_port_is_not_remembered(fresh) -> None:
    dirs, env = fresh
    assert env["TRACKD_UI_PORT"] == "0"  # any free port, as tests ask
    _cli(env, "ui", "--no-browser")
    assert not (Path(dirs.env["TRACKD_STATE_DIR"]) / "ui-port").exists()


def test_trackd_ui_opens_a_run_from_project_and_entity_paths(
        own_daemon: DaemonProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trackd

    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="uipaths", id="r1")
    run.log({"a": 1})
    run.finish()
    env = {**os.environ, **own_daemon.dirs.env}
    for path in ("uipaths/r1", f"{run.entity}/uipaths/r1"):
        assert _cli(env, "ui", "--no-browser", path).startswith(f"{run.url}?ticket=")
    project = _cli(env, "ui", "--no-browser", "uipaths")
    assert project.startswith(f"{run.project_url}?ticket=")
    bad = subprocess.run([sys.executable, "-m", "trackd._cli.main", "ui", "--no-browser",
                          "a/b/c/d"], env=env, capture_output=True, text=True, timeout=90,
                         check=False)
    assert bad.returncode != 0 and "ENTITY/PROJECT/RUN_ID" in bad.stderr
