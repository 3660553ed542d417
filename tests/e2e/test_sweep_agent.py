"""``trackd.agent()`` end to end against the real daemon: the function agent (parameters
locked in ``run.config``, ``run.sweep_id``, the sweep's project winning over init's), the
command agent with ``${args}`` and with ``${args_json_file}``, ``count``, a finished sweep, an
unknown sweep id, and an agent that outlives a daemon restart."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.helpers import wait_for
from trackd import Api
from trackd.errors import SweepNotFoundError

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {
        "lr": {"values": [0.1, 0.01]},
        "opt": {"parameters": {"name": {"values": ["sgd", "adam"]}}},
    },
}

#: A training program for the command agent: logs its parsed arguments, or the JSON file's.
PROGRAM = """
import argparse, json, sys
import trackd

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--opt.name", dest="opt_name")
parser.add_argument("--config")
args = parser.parse_args()
if args.config:
    given = json.load(open(args.config))
    lr, name = given["lr"], given["opt"]["name"]
else:
    lr, name = args.lr, args.opt_name
run = trackd.init(project="ignored-by-the-sweep", config={"lr": 123.0})
run.config.update({"lr": 5.0})  # locked: ignored with a warning
run.log({"loss": lr * (2 if name == "sgd" else 1), "argv": " ".join(sys.argv[1:])})
run.finish()
"""


def _runs(sweep_path: str) -> list[Any]:
    return Api().sweep(sweep_path).runs


def test_function_agent_end_to_end(sweep_sdk, tmp_path: Path) -> None:
    sweep_id = trackd.sweep(GRID, project="sw-fn")
    seen: list[dict[str, Any]] = []

    def train() -> None:
        with pytest.warns(UserWarning) as caught:
            run = trackd.init(project="not-this-one", config={"lr": 99.0, "epochs": 3})
        said = [str(w.message) for w in caught]
        assert "Ignored trackd.init() arg project when running a sweep." in said
        assert "Config item 'lr' was locked by 'sweep' (ignored update)." in said
        with pytest.warns(UserWarning, match="Config item 'lr' was locked by 'sweep'"):
            run.config.update({"lr": 7.0})
        seen.append({"id": run.id, "project": run.project, "sweep_id": run.sweep_id,
                     "config": dict(run.config)})
        run.log({"loss": run.config.lr * (2 if run.config.opt["name"] == "sgd" else 1)})
        # The function's run is left open: the agent finishes it.

    trackd.agent(sweep_id, function=train, project="sw-fn")
    assert len(seen) == 4  # the grid, then the sweep gives no more
    combos = {(s["config"]["lr"], s["config"]["opt"]["name"]) for s in seen}
    assert combos == {(lr, n) for lr in (0.1, 0.01) for n in ("sgd", "adam")}
    for s in seen:
        assert s["project"] == "sw-fn" and s["sweep_id"] == sweep_id
        assert s["config"]["epochs"] == 3  # init's own keys stay
    stored = {r.id: r for r in _runs(sweep_id)}
    assert set(stored) == {s["id"] for s in seen}
    for run in stored.values():
        assert run.state == "finished" and run.sweep_id == sweep_id
        assert run.config["lr"] in (0.1, 0.01) and run.project == "sw-fn"
    sweep = Api().sweep(f"sw-fn/{sweep_id}")
    assert sweep.state == "FINISHED" and sweep.expected_run_count == 4
    best = sweep.best_run()
    assert best is not None and best.summary["loss"] == pytest.approx(0.01)
    # The agent put the environment back.
    assert "WANDB_SWEEP_ID" not in os.environ and "TRACKD_RUN_ID" not in os.environ


def test_function_agent_count_and_a_failing_function(sweep_sdk, capsys) -> None:
    sweep_id = trackd.sweep({**GRID, "method": "random"}, project="sw-count")
    calls = []

    def train() -> None:
        run = trackd.init()
        calls.append(run.id)
        if len(calls) == 2:
            raise RuntimeError("diverged")
        run.log({"loss": 1.0})

    trackd.agent(sweep_id, function=train, count=3)
    assert len(calls) == 3
    assert "Run " in capsys.readouterr().err
    states = {r.id: r.state for r in _runs(sweep_id)}
    assert states[calls[1]] == "failed"
    assert states[calls[0]] == states[calls[2]] == "finished"


def _program(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(PROGRAM)
    return path


@pytest.mark.parametrize("args_macro", ["${args}", "${args_json_file}"])
def test_command_agent_end_to_end(sweep_sdk, tmp_path: Path, args_macro: str) -> None:
    program = _program(tmp_path)
    command = (["${env}", "${interpreter}", "${program}", "${args}"] if args_macro == "${args}"
               else ["${interpreter}", "${program}", "--config", "${args_json_file}"])
    project = "sw-cmd-" + ("args" if args_macro == "${args}" else "json")
    sweep_id = trackd.sweep({**GRID, "program": str(program), "command": command},
                            project=project)
    trackd.agent(sweep_id)
    runs = _runs(f"{project}/{sweep_id}")
    assert len(runs) == 4
    for run in runs:
        assert run.state == "finished" and run.project == project  # not the program's project
        assert run.config["lr"] in (0.1, 0.01)  # the sweep's value, locked
        expected = run.config["lr"] * (2 if run.config["opt"]["name"] == "sgd" else 1)
        assert run.summary["loss"] == pytest.approx(expected)
        argv = run.summary["argv"]
        if args_macro == "${args}":
            assert f"--lr={run.config['lr']}" in argv
            assert f"--opt.name={run.config['opt']['name']}" in argv
        else:
            json_file = Path(argv.split()[-1])
            assert json_file.name == f"config-{run.id}.json"
            assert json.loads(json_file.read_text())["lr"] == run.config["lr"]
    param_dir = tmp_path / "wandb" / f"sweep-{sweep_id}"
    assert {p.name for p in param_dir.glob("config-*.yaml")} == {
        f"config-{r.id}.yaml" for r in runs}


def test_command_agent_count(sweep_sdk, tmp_path: Path) -> None:
    program = _program(tmp_path)
    sweep_id = trackd.sweep({**GRID, "program": str(program)}, project="sw-cmd-count")
    trackd.agent(f"sw-cmd-count/{sweep_id}", count=1)
    assert len(_runs(sweep_id)) == 1
    assert Api().sweep(sweep_id).state == "RUNNING"


def test_agent_on_a_finished_sweep_exits_at_once(sweep_sdk, capsys) -> None:
    from trackd._transport.sweep_client import SweepClient, parse_path

    sweep_id = trackd.sweep(GRID, project="sw-done")
    SweepClient().set_state(parse_path(sweep_id), "finish")
    called = []
    started = time.monotonic()
    trackd.agent(sweep_id, function=lambda: called.append(1))
    assert time.monotonic() - started < 5 and not called
    assert "finished" in capsys.readouterr().err


def test_agent_on_an_unknown_sweep(sweep_sdk) -> None:
    with pytest.raises(SweepNotFoundError):
        trackd.agent("nosuchsweep", function=lambda: None)
    with pytest.raises(SweepNotFoundError):
        trackd.agent("sw-fn/nosuchsweep", count=1)


def test_agent_waits_out_a_daemon_restart(own_daemon, tmp_path, monkeypatch) -> None:
    """The daemon is SIGKILLed while the agent waits in NextRun (a paused sweep) and started
    again: the agent reconnects, and runs what the sweep gives once resumed."""
    from trackd._transport.sweep_client import SweepClient, parse_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKD_AGENT_REPORT_INTERVAL", "0.5")
    sweep_id = trackd.sweep({**GRID, "run_cap": 2}, project="sw-restart")
    SweepClient().set_state(parse_path(sweep_id), "pause")
    seen: list[str] = []
    failure: list[BaseException] = []

    def train() -> None:
        run = trackd.init()
        seen.append(run.id)
        run.log({"loss": 0.5})

    def go() -> None:
        try:
            trackd.agent(sweep_id, function=train)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failure.append(exc)

    thread = threading.Thread(target=go)
    thread.start()
    time.sleep(1.0)  # the agent is waiting in NextRun
    own_daemon.kill()
    time.sleep(0.5)
    own_daemon.start()
    SweepClient().set_state(parse_path(sweep_id), "resume")
    thread.join(120)
    assert not thread.is_alive() and not failure, failure
    assert len(seen) == 2 and len(set(seen)) == 2
    wait_for(lambda: all(r.state == "finished" for r in _runs(sweep_id)))
    assert sys.modules.get("trackd") is trackd


def test_hyperband_stops_a_function_run_that_falls_behind(sweep_sdk) -> None:
    """Two good runs, then a bad one: at the first band (2 values) the bad run is worse than
    the threshold, the daemon stops it, the function gets RunStopped (a KeyboardInterrupt),
    the run ends killed and is recorded as stopped early, and the agent goes on."""
    from trackd.sweeps import RunStopped, SweepRun

    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [0.1, 0.2, 5.0]}},
              "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2}}
    sweep_id = trackd.sweep(config, project="sw-hb")
    tuner = trackd.controller(sweep_id)
    outcome: dict[float, str] = {}

    def train() -> None:
        run = trackd.init()
        q = run.config.q
        try:
            for _ in range(400 if q > 1 else 40):  # the bad run: long enough to be stopped
                run.log({"loss": q})
                time.sleep(0.05)
            outcome[q] = "ran to the end"
        except RunStopped:
            outcome[q] = "stopped"
            raise

    for q in (0.1, 0.2, 5.0):  # in this order: the scheduled run goes first
        tuner.schedule(SweepRun(config={"q": {"value": q}}))
        trackd.agent(sweep_id, function=train, count=1)
    assert outcome == {0.1: "ran to the end", 0.2: "ran to the end", 5.0: "stopped"}
    tuner.step()
    by_q = {r.params["q"]: r for r in tuner._runs}
    assert by_q[5.0].stopped and by_q[5.0].state == "killed"
    assert not by_q[0.1].stopped and by_q[0.1].state == "finished"
    states = {r.config["q"]: r.state for r in _runs(sweep_id)}
    assert states == {0.1: "finished", 0.2: "finished", 5.0: "killed"}


def test_a_sweep_run_waits_for_a_daemon_that_is_not_up_yet(tmp_path, monkeypatch) -> None:
    """init() of a sweep's run reaches a daemon that comes up later instead of going on
    offline (offline it would not count for the sweep); a plain run goes on offline."""
    from tests.helpers import DaemonDirs, DaemonProcess

    trackd.teardown()
    dirs = DaemonDirs.make()
    for k, v in dirs.env.items():
        monkeypatch.setenv(k, v)
    elsewhere = tmp_path / "rt"
    elsewhere.mkdir()
    monkeypatch.setenv("TRACKD_RUNTIME_DIR", str(elsewhere))  # nothing starts a daemon itself
    monkeypatch.chdir(tmp_path)
    daemon = DaemonProcess(dirs)
    try:
        plain = trackd.init(project="sw-wait", reinit="create_new")
        assert plain.offline
        plain.finish()
        starter = threading.Timer(2.0, daemon.start)
        starter.start()
        started = time.monotonic()
        run = trackd.init(project="sw-wait", reinit="create_new",
                          settings=trackd.Settings(sweep_id="sweep-x", init_timeout=60))
        assert not run.offline and time.monotonic() - started >= 1.5
        run.log({"loss": 1.0})
        run.finish()
        starter.join()
        assert Api().run(f"sw-wait/{run.id}").sweep_id == "sweep-x"
    finally:
        trackd.teardown()
        daemon.stop()
        dirs.cleanup()
