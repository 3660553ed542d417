"""The agent's loop against a scripted daemon (a fake SweepService client): request ids,
count, done, exits reported, stops (SIGTERM then SIGKILL), failure guards, the function
runner's environment and stop; and the client's retry across a daemon restart."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from trackd._transport.sweep_client import SweepClient, SweepPath
from trackd.errors import CommError, SweepNotFoundError
from trackd.sweeps import RunStopped
from trackd.sweeps.agent import Agent
from trackd.v1 import sweep_service_pb2 as pb

PROGRAM = """
import json, os, sys, time
out = os.environ["OUT_DIR"]
run_id = os.environ["TRACKD_RUN_ID"]
with open(os.path.join(out, run_id + ".json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
               if k.startswith(("TRACKD_", "WANDB_"))}}, f)
mode = os.environ.get("MODE", "ok")
if mode == "fail":
    sys.exit(3)
if mode == "hang":
    import signal
    if os.environ.get("IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open(os.path.join(out, run_id + ".started"), "w").close()
    time.sleep(60)
"""


class FakeClient:
    """Answers NextRun from a script; records requests and heartbeats."""

    def __init__(self, config: dict[str, Any], answers: list[Any],
                 state: int = pb.SWEEP_STATE_RUNNING) -> None:
        self.sweep = pb.Sweep(ref=pb.SweepRef(entity="ent", project="proj", sweep_id="sw1"),
                              config_json=json.dumps(config), state=state)
        self.answers = list(answers)
        self.requests: list[tuple[str, str]] = []
        self.exits: list[tuple[str, int]] = []
        self.stop: set[str] = set()

    def get(self, path: SweepPath) -> Any:
        return self.sweep

    def next_run(self, path: SweepPath, agent_id: str, request_id: str,
                 wait: float = 30.0) -> Any:
        self.requests.append((agent_id, request_id))
        if not self.answers:
            return pb.NextRunResponse(done=True, reason="test over")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def heartbeat(self, path: SweepPath, agent_id: str, running: list[str],
                  exits: list[tuple[str, int]], survive_restarts: bool = True) -> Any:
        self.exits += exits
        return pb.AgentHeartbeatResponse(stop=[r for r in running if r in self.stop],
                                         state=pb.SWEEP_STATE_RUNNING)


def proposal(run_id: str, **params: Any) -> Any:
    return pb.NextRunResponse(run_id=run_id, params_json=json.dumps(params), entity="ent",
                              project="proj", state=pb.SWEEP_STATE_RUNNING)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "out").mkdir()
    monkeypatch.setenv("OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("TRACKD_AGENT_REPORT_INTERVAL", "0.05")
    for k in list(os.environ):
        if k.startswith(("WANDB_", "TRACKD_")) and k.endswith(("SWEEP_ID", "RUN_ID",
                                                                "SWEEP_PARAM_PATH")):
            monkeypatch.delenv(k)
    return tmp_path


def agent(client: FakeClient, function: Any = None, count: int | None = None) -> Agent:
    a = Agent("sw1", function=function, count=count)
    a.client = client  # type: ignore[assignment]
    return a


def seen(workdir: Path, run_id: str) -> dict[str, Any]:
    return json.loads((workdir / "out" / f"{run_id}.json").read_text())


def test_command_agent_runs_each_proposal_and_reports_its_exit(workdir: Path) -> None:
    config = {"program": "prog.py", "command": ["${interpreter}", "${program}", "${args}"]}
    client = FakeClient(config, [proposal("r1", lr=0.1, opt={"m": 1}),
                                 pb.NextRunResponse(state=pb.SWEEP_STATE_RUNNING),
                                 proposal("r2", lr=0.2, opt={"m": 2})])
    agent(client).run()
    assert seen(workdir, "r1")["argv"] == ["--lr=0.1", "--opt.m=1"]
    env = seen(workdir, "r2")["env"]
    assert env["TRACKD_SWEEP_ID"] == env["WANDB_SWEEP_ID"] == "sw1"
    assert env["WANDB_RUN_ID"] == "r2" and env["TRACKD_PROJECT"] == "proj"
    param_file = Path(env["WANDB_SWEEP_PARAM_PATH"])
    assert param_file == workdir / "wandb" / "sweep-sw1" / "config-r2.yaml"
    assert "value: 0.2" in param_file.read_text()
    assert client.exits == [("r1", 0), ("r2", 0)]
    # A new request id after each answer (4 answers: r1, nothing yet, r2, done).
    ids = [r for _, r in client.requests]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert len({a for a, _ in client.requests}) == 1


def test_count_caps_the_runs(workdir: Path) -> None:
    client = FakeClient({"program": "prog.py"}, [proposal("r1", a=1), proposal("r2", a=2)])
    agent(client, count=1).run()
    assert len(client.requests) == 1 and client.exits == [("r1", 0)]


def test_a_finished_sweep_runs_nothing(workdir: Path) -> None:
    client = FakeClient({"program": "prog.py"}, [proposal("r1", a=1)],
                        state=pb.SWEEP_STATE_FINISHED)
    agent(client).run()
    assert client.requests == []


def test_failing_runs_trip_the_flapping_guard(workdir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MODE", "fail")
    client = FakeClient({"program": "prog.py"}, [proposal(f"r{i}", a=i) for i in range(6)])
    agent(client).run()
    assert client.exits == [("r0", 3), ("r1", 3), ("r2", 3)]
    assert "3 failed runs in the first 60 seconds" in capsys.readouterr().err


def test_a_stopped_run_gets_sigterm_then_sigkill(workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MODE", "hang")
    monkeypatch.setenv("IGNORE_TERM", "1")
    monkeypatch.setenv("WANDB_AGENT_KILL_DELAY", "0.5")
    client = FakeClient({"program": "prog.py"}, [proposal("r1", a=1)])
    client.stop.add("r1")
    started = time.monotonic()
    a = agent(client)
    a.run()
    assert time.monotonic() - started < 20
    assert client.exits == [("r1", 128 + 9)]  # SIGTERM ignored: killed after the delay
    assert a.guard.failed == 0  # stopped on request: no failure


def test_function_agent_sets_the_environment_and_goes_on_after_an_error(
        workdir: Path, capsys) -> None:
    calls: list[dict[str, Any]] = []

    def train() -> None:
        from trackd._init.sweep_init import read_yaml

        calls.append({"run": os.environ["WANDB_RUN_ID"],
                      "params": read_yaml(os.environ["TRACKD_SWEEP_PARAM_PATH"])})
        if len(calls) == 1:
            raise ValueError("boom")

    client = FakeClient({}, [proposal("r1", lr=1), proposal("r2", lr=2)])
    a = agent(client, function=train)
    a.run()
    assert calls == [{"run": "r1", "params": {"lr": 1}}, {"run": "r2", "params": {"lr": 2}}]
    assert client.exits == [("r1", 1), ("r2", 0)]
    err = capsys.readouterr().err
    assert "Run r1 errored" in err and "ValueError: boom" in err
    assert a.guard.failed == 1
    assert "WANDB_RUN_ID" not in os.environ and "TRACKD_SWEEP_ID" not in os.environ


def test_function_agent_stops_a_run_and_goes_on(workdir: Path) -> None:
    outcomes: list[str] = []

    def train() -> None:
        if os.environ["WANDB_RUN_ID"] == "r2":
            outcomes.append("r2 ran")
            return
        try:
            for _ in range(400):
                time.sleep(0.05)
            outcomes.append("ran out")
        except RunStopped:
            outcomes.append("stopped")
            raise

    client = FakeClient({}, [proposal("r1", lr=1), proposal("r2", lr=2)])
    client.stop.add("r1")
    a = agent(client, function=train, count=2)
    started = time.monotonic()
    a.run()
    assert outcomes == ["stopped", "r2 ran"]
    assert client.exits == [("r1", 255), ("r2", 0)]
    assert time.monotonic() - started < 30
    assert a.guard.failed == 0


def test_agent_on_an_unknown_sweep_raises(workdir: Path) -> None:
    class Missing(FakeClient):
        def get(self, path: SweepPath) -> Any:
            raise SweepNotFoundError("no sweep", reason="SWEEP_NOT_FOUND", code="NOT_FOUND")

    with pytest.raises(SweepNotFoundError):
        agent(Missing({}, [])).run()


def test_client_retries_the_same_request_until_the_daemon_answers(monkeypatch) -> None:
    sent: list[Any] = []

    class Conn:
        sweeps = type("Stub", (), {"NextRun": "NextRun"})()

        def unary(self, method: Any, request: Any, timeout: float | None = None) -> Any:
            sent.append(request)
            if len(sent) < 3:
                raise CommError("daemon call failed (UNAVAILABLE)")
            return pb.NextRunResponse(run_id="r9")

    monkeypatch.setattr(SweepClient, "connection", staticmethod(lambda: Conn()))
    client = SweepClient(reconnect_timeout=10)
    resp = client.next_run(SweepPath("e", "p", "s"), "agent", "req-1", wait=1)
    assert resp.run_id == "r9" and len(sent) == 3
    assert {r.request_id for r in sent} == {"req-1"}


def test_client_gives_up_after_reconnect_timeout_and_does_not_retry_refusals(
        monkeypatch) -> None:
    calls = []

    class Down:
        sweeps = type("Stub", (), {"GetSweep": "GetSweep"})()

        def unary(self, method: Any, request: Any, timeout: float | None = None) -> Any:
            calls.append(1)
            raise CommError("daemon call failed (UNAVAILABLE)")

    monkeypatch.setattr(SweepClient, "connection", staticmethod(lambda: Down()))
    with pytest.raises(CommError):
        SweepClient(reconnect_timeout=0.3).get(SweepPath("", "", "s"))
    assert len(calls) > 1

    class Refuses(Down):
        def unary(self, method: Any, request: Any, timeout: float | None = None) -> Any:
            calls.append(1)
            raise SweepNotFoundError("no", reason="SWEEP_NOT_FOUND", code="NOT_FOUND")

    calls.clear()
    monkeypatch.setattr(SweepClient, "connection", staticmethod(lambda: Refuses()))
    with pytest.raises(SweepNotFoundError):
        SweepClient(reconnect_timeout=5).get(SweepPath("", "", "s"))
    assert len(calls) == 1


def test_state_and_action_numbers_match_the_protocol() -> None:
    from trackd._transport import sweep_client as _client

    assert _client.STATE_NAMES == {pb.SWEEP_STATE_RUNNING: "running",
                                   pb.SWEEP_STATE_PAUSED: "paused",
                                   pb.SWEEP_STATE_FINISHED: "finished",
                                   pb.SWEEP_STATE_CANCELED: "canceled"}
    assert _client.ACTIONS == {"pause": pb.SWEEP_ACTION_PAUSE,
                               "resume": pb.SWEEP_ACTION_RESUME,
                               "finish": pb.SWEEP_ACTION_FINISH,
                               "stop": pb.SWEEP_ACTION_FINISH,
                               "cancel": pb.SWEEP_ACTION_CANCEL}


def test_interpreter_is_this_python() -> None:
    from trackd.sweeps.command import render

    assert render(["${interpreter}"], None, {}, str) == [sys.executable]


def test_a_canceled_sweep_stops_the_run_in_flight(workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MODE", "hang")
    monkeypatch.setenv("WANDB_AGENT_KILL_DELAY", "5")

    class Canceled(FakeClient):
        def heartbeat(self, path: SweepPath, agent_id: str, running: list[str],
                      exits: list[tuple[str, int]], survive_restarts: bool = True) -> Any:
            self.exits += exits
            return pb.AgentHeartbeatResponse(state=pb.SWEEP_STATE_CANCELED)

    client = Canceled({"program": "prog.py"}, [proposal("r1", a=1)])
    a = agent(client)
    started = time.monotonic()
    a.run()
    assert time.monotonic() - started < 20
    assert client.exits == [("r1", 128 + 15)]  # SIGTERM
    assert a.guard.failed == 0
