"""``trackd sweep`` and ``trackd agent`` in subprocesses against a real daemon: create from a
YAML file, list, show, the command agent with --count, pause/resume/stop/cancel, a bad
configuration, an unknown sweep, and an agent stopped by SIGTERM stopping its run first."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import CLI, ENTITY, Sandbox

TRAIN = """
import os, sys, time, trackd
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
run = trackd.init()
if args.get("mode") == "hang":
    open(sys.argv[0] + ".started", "w").write(f"{run.id} {os.getpid()}")
    time.sleep(120)
run.log({"loss": float(args["lr"])})
run.finish()
"""

CONFIG = """
method: grid
metric:
  name: loss
  goal: minimize
program: {program}
parameters:
  lr:
    values: [0.5, 0.25]
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    b = Sandbox()
    try:
        assert "started" in b.ok("daemon", "start")
        (b.dir / "train.py").write_text(TRAIN)
        (b.dir / "sweep.yaml").write_text(CONFIG.format(program=b.dir / "train.py"))
        yield b
    finally:
        b.close()


def _create(box: Sandbox, *args: str) -> str:
    proc = box.cli("sweep", str(box.dir / "sweep.yaml"), *args)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"Created sweep with ID: (\S+)", proc.stderr)
    assert found, proc.stderr
    return found.group(1)


def test_create_run_agents_and_show(box: Sandbox) -> None:
    proc = box.cli("sweep", str(box.dir / "sweep.yaml"), "--project", "cli-sw", "--name", "lr")
    assert proc.returncode == 0, proc.stderr
    sweep_id = re.search(r"Created sweep with ID: (\S+)", proc.stderr).group(1)  # type: ignore[union-attr]
    assert f"Run sweep agent with: trackd agent {ENTITY}/cli-sw/{sweep_id}" in proc.stderr

    listed = box.ok("sweep", "ls", "cli-sw")
    row = next(line for line in listed.splitlines() if line.startswith(sweep_id))
    assert "lr" in row and "running" in row and "grid" in row

    out = box.cli("agent", f"{ENTITY}/cli-sw/{sweep_id}", "--count", "1", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Agent Starting Run:" in out.stderr and "lr: 0.5" in out.stderr
    assert box.cli("agent", sweep_id, timeout=120).returncode == 0

    shown = box.ok("sweep", "show", sweep_id)
    assert re.search(r"state:\s+finished", shown), shown
    assert re.search(r"by state:\s+finished 2", shown), shown
    assert re.search(r"best run:\s+\S+ \(loss=0.25\)", shown), shown
    assert "method: grid" in shown and "program:" in shown


def test_pause_resume_stop_and_cancel(box: Sandbox) -> None:
    sweep_id = _create(box, "--project", "cli-state")
    for flag, state in (("--pause", "paused"), ("--resume", "running"), ("--stop", "finished")):
        out = box.ok("sweep", flag, sweep_id)
        assert out.strip().endswith(f"is {state}"), out
    assert re.search(r"state:\s+finished", box.ok("sweep", "show", sweep_id))
    other = _create(box, "--project", "cli-state")
    assert box.ok("sweep", "--cancel", f"cli-state/{other}").strip().endswith("is canceled")
    refused = box.cli("sweep", "--resume", other)
    assert refused.returncode == 1 and "trackd:" in refused.stderr
    assert {other, sweep_id} <= set(box.ok("sweep", "ls").split())


def test_bad_configuration_and_unknown_sweep(box: Sandbox) -> None:
    bad = box.dir / "bad.yaml"
    bad.write_text("method: annealing\nparameters:\n  lr: {min: 1, max: 0}\nrun_cap: -2\n")
    proc = box.cli("sweep", str(bad))
    assert proc.returncode == 1
    for field in ("method", "parameters.lr", "run_cap"):
        assert field in proc.stderr, proc.stderr
    missing = box.cli("sweep", str(box.dir / "nope.yaml"))
    assert missing.returncode == 1 and "cannot read it" in missing.stderr
    for args in (("sweep", "show", "nosuchsweep"), ("agent", "nosuchsweep"),
                 ("sweep", "--pause", "nosuchsweep")):
        proc = box.cli(*args)
        assert proc.returncode == 1 and "nosuchsweep" in proc.stderr, (args, proc.stderr)


def _agent_running_a_hanging_run(box: Sandbox, project: str,
                                 env: dict[str, str]) -> tuple[str, Path, subprocess.Popen[str]]:
    """A sweep whose runs hang, and a `trackd agent` whose first run has started: the sweep
    id, the run's marker file ("RUN_ID PID") and the agent process."""
    hang = box.dir / f"{project}.yaml"
    hang.write_text(CONFIG.format(program=box.dir / "train.py")
                    + "command: ['${interpreter}', '${program}', '${args}', '--mode=hang']\n")
    proc = box.cli("sweep", str(hang), "--project", project)
    sweep_id = re.search(r"Created sweep with ID: (\S+)", proc.stderr).group(1)  # type: ignore[union-attr]
    marker = Path(str(box.dir / "train.py") + ".started")
    marker.unlink(missing_ok=True)
    agent = subprocess.Popen([*CLI, "agent", sweep_id], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and agent.poll() is None:
        time.sleep(0.05)
    if not marker.exists():
        agent.kill()
        raise AssertionError(f"the agent's run did not start: {agent.communicate()[1]}")
    return sweep_id, marker, agent


def test_sigterm_stops_the_run_then_the_agent(box: Sandbox) -> None:
    env = {**box.env, "TRACKD_AGENT_KILL_DELAY": "20"}
    _, marker, agent = _agent_running_a_hanging_run(box, "cli-term", env)
    try:
        time.sleep(0.5)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 130, err
    assert "Stopping run" in err
    run_id, pid = marker.read_text().split()
    # The training process was stopped (SIGTERM) before the agent exited.
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    shown = box.ok("runs", "show", f"{ENTITY}/cli-term/{run_id}")
    assert "lr" in shown


def test_cancel_stops_the_agents_run_and_the_agent(box: Sandbox) -> None:
    env = {**box.env, "TRACKD_AGENT_REPORT_INTERVAL": "0.5", "TRACKD_AGENT_KILL_DELAY": "20"}
    sweep_id, marker, agent = _agent_running_a_hanging_run(box, "cli-cancel", env)
    try:
        time.sleep(0.3)
        assert box.ok("sweep", "--cancel", sweep_id).strip().endswith("is canceled")
        _, err = agent.communicate(timeout=40)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0, err
    assert "gives no more runs" in err
    run_id, pid = marker.read_text().split()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    assert "Agent Starting Run" in err and err.count("Agent Starting Run") == 1
