"""Three ``trackd agent`` processes share a 3x4 grid while the daemon is SIGKILLed and
started again in the middle: each of the 12 combinations runs exactly once, every run ends
finished (a run whose init() came while the daemon was down waited for it), and the agents
exit when the grid is exhausted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackd
from trackd import Api
from trackd._transport.sweep_client import SweepClient, parse_path

PROGRAM = """
import sys, time, trackd
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
run = trackd.init()
for step in range(6):
    run.log({"loss": float(args["lr"]) * (step + 1)})
    time.sleep(0.1)
run.finish()
"""

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {
        "lr": {"values": [0.1, 0.01, 0.001]},
        "opt": {"parameters": {"name": {"values": ["sgd", "adam", "rmsprop", "adagrad"]}}},
    },
}


@pytest.mark.slow
def test_three_agent_processes_run_each_combination_once_across_a_daemon_kill(
        own_daemon, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for prefix in ("TRACKD_", "WANDB_"):
        for name in ("SWEEP_ID", "SWEEP_PARAM_PATH", "RUN_ID", "PROJECT"):
            monkeypatch.delenv(prefix + name, raising=False)
    program = tmp_path / "train.py"
    program.write_text(PROGRAM)
    sweep_id = trackd.sweep({**GRID, "program": str(program)}, project="sw-parallel")
    trackd.teardown()  # the agents are other processes; this one only reads at the end
    # The agents and their runs reach the daemon at its address only: none of them may start a
    # daemon of its own (their default socket is elsewhere), so the test's restart is the one.
    elsewhere = tmp_path / "rt"
    elsewhere.mkdir()
    env = {**os.environ, "TRACKD_AGENT_REPORT_INTERVAL": "0.5",
           "TRACKD_RUNTIME_DIR": str(elsewhere)}
    agents = [subprocess.Popen([sys.executable, "-m", "trackd._cli.main", "agent", sweep_id],
                               env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
    try:
        # Let a few runs start (their parameter files appear), then kill the daemon and bring
        # it back.
        param_files = tmp_path / "wandb" / f"sweep-{sweep_id}"
        deadline = time.monotonic() + 60
        while len(list(param_files.glob("config-*.yaml"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        own_daemon.kill()
        time.sleep(0.5)
        own_daemon.start()
        errors = [a.communicate(timeout=240)[1] for a in agents]
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
    assert [a.returncode for a in agents] == [0, 0, 0], errors
    sweep = Api().sweep(f"sw-parallel/{sweep_id}")
    runs = SweepClient().get(parse_path(sweep_id)).runs
    combos = [(p["lr"], p["opt"]["name"]) for p in (json.loads(r.params_json) for r in runs)]
    assert len(combos) == 12 and len(set(combos)) == 12, combos
    assert sweep.state == "FINISHED"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ended = {r.id: (r.state, r.exit_code) for r in Api().sweep(sweep_id).runs}
        if [s for s, _ in ended.values()].count("finished") == 12:
            break
        time.sleep(0.2)
    others = {k: v for k, v in ended.items() if v[0] != "finished"}
    assert len(ended) == 12 and not others, (len(ended), others)
