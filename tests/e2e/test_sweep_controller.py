"""The daemon as the sweep controller, spoken to through SweepService directly (the SDK's agent
and controller are tested in ``test_sweep_agent.py`` and ``test_sweep_sdk.py``)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd._transport.connection import make_stub
from trackd.v1 import sweep_service_pb2 as pb

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {
        "lr": {"values": [0.1, 0.01, 0.001]},
        "opt": {"parameters": {"name": {"values": ["sgd", "adam", "rmsprop", "adagrad"]}}},
    },
}


@pytest.fixture
def daemon() -> Iterator[DaemonProcess]:
    dirs = DaemonDirs.make()
    d = DaemonProcess(dirs)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        dirs.cleanup()


def _stub(d: DaemonProcess) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(f"unix:{d.dirs.socket}")
    return channel, make_stub(channel, pb, "SweepService")


def _create(stub: Any, config: dict[str, Any], **kw: Any) -> pb.Sweep:
    return stub.CreateSweep(pb.CreateSweepRequest(
        entity="ent", project="proj", config_json=json.dumps(config), **kw), timeout=30).sweep


def _ref(sweep_id: str) -> pb.SweepRef:
    return pb.SweepRef(entity="ent", project="proj", sweep_id=sweep_id)


def _next(stub: Any, sweep_id: str, agent: str, request: str,
          wait: float = 5.0) -> pb.NextRunResponse:
    return stub.NextRun(pb.NextRunRequest(ref=_ref(sweep_id), agent_id=agent, request_id=request,
                                          wait_seconds=wait), timeout=wait + 30)


def _metadata(err: grpc.RpcError) -> dict[str, str]:
    from google.rpc import error_details_pb2, status_pb2

    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return {"reason": info.reason, **info.metadata}
    return {}


def test_a_bad_configuration_is_refused_with_every_violation_named(daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        bad = {"method": "annealing", "parameters": {"lr": {"min": 1.0, "max": 0.1}},
               "early_terminate": {"type": "hyperband"}, "run_cap": -3}
        with pytest.raises(grpc.RpcError) as info:
            _create(stub, bad)
        err = info.value
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        meta = _metadata(err)
        assert meta["reason"] == "SWEEP_CONFIG_INVALID"
        violations = json.loads(meta["violations"])
        text = "\n".join(violations)
        for field in ("method", "parameters.lr", "early_terminate", "run_cap"):
            assert field in text, (field, violations)
        assert len(violations) >= 4
        # Not JSON at all, and no sweep stored.
        with pytest.raises(grpc.RpcError) as info:
            stub.CreateSweep(pb.CreateSweepRequest(entity="e", project="p", config_json="{"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert not stub.ListSweeps(pb.ListSweepsRequest()).sweeps


def test_unknown_and_finished_sweeps(daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        for call in (lambda: stub.GetSweep(pb.GetSweepRequest(ref=_ref("nope"))),
                     lambda: _next(stub, "nope", "a", "1")):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert _metadata(info.value)["reason"] == "SWEEP_NOT_FOUND"
        sweep = _create(stub, GRID)
        stub.SetSweepState(pb.SetSweepStateRequest(ref=_ref(sweep.ref.sweep_id),
                                                   action=pb.SWEEP_ACTION_FINISH))
        resp = _next(stub, sweep.ref.sweep_id, "a", "1")
        assert resp.done and not resp.run_id and resp.state == pb.SWEEP_STATE_FINISHED
        with pytest.raises(grpc.RpcError) as info:
            stub.SetSweepState(pb.SetSweepStateRequest(ref=_ref(sweep.ref.sweep_id),
                                                       action=pb.SWEEP_ACTION_RESUME))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_grid_proposes_each_combination_once_across_agents_and_a_daemon_kill(
        daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        sweep_id = _create(stub, GRID).ref.sweep_id
    got: list[tuple[str, str]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def agent(name: str) -> None:
        request = uuid.uuid4().hex
        while True:
            try:
                channel, stub = _stub(daemon)
                with channel:
                    resp = _next(stub, sweep_id, name, request)
            except grpc.RpcError:
                time.sleep(0.05)  # the daemon is down: ask again, same request
                continue
            if resp.done:
                return
            if resp.run_id:
                with lock:
                    got.append((resp.run_id, resp.params_json))
                request = uuid.uuid4().hex
                time.sleep(0.05)

    threads = [threading.Thread(target=agent, args=(f"agent-{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(got) >= 5, timeout=30)
    daemon.kill()
    killed.set()
    daemon.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    combos = [json.loads(p) for _, p in got]
    keys = {(c["lr"], c["opt"]["name"]) for c in combos}
    assert len(keys) == 12 and len(combos) == 12, combos
    assert len({r for r, _ in got}) == 12
    channel, stub = _stub(daemon)
    with channel:
        sweep = stub.GetSweep(pb.GetSweepRequest(ref=_ref(sweep_id))).sweep
        assert sweep.state == pb.SWEEP_STATE_FINISHED and sweep.grid_size == 12
        assert sorted(r.run_id for r in sweep.runs) == sorted(r for r, _ in got)


def test_a_retried_request_gets_the_same_run(daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        sweep_id = _create(stub, {"method": "random", "parameters": {
            "x": {"min": 0.0, "max": 1.0}}}).ref.sweep_id
        first = _next(stub, sweep_id, "a", "q1")
        again = _next(stub, sweep_id, "a", "q1")
        other = _next(stub, sweep_id, "a", "q2")
        assert first.run_id and first.run_id == again.run_id
        assert first.params_json == again.params_json
        assert other.run_id != first.run_id


def test_paused_sweeps_hold_agents_until_resumed(daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        sweep_id = _create(stub, {"method": "random", "run_cap": 2, "parameters": {
            "x": {"values": [1, 2, 3]}}}).ref.sweep_id
        stub.SetSweepState(pb.SetSweepStateRequest(ref=_ref(sweep_id),
                                                   action=pb.SWEEP_ACTION_PAUSE))
        # Paused: nothing comes within the wait.
        resp = _next(stub, sweep_id, "a", "q1", wait=0.5)
        assert not resp.run_id and not resp.done and resp.state == pb.SWEEP_STATE_PAUSED
        answer: list[pb.NextRunResponse] = []
        t = threading.Thread(target=lambda: answer.append(_next(stub, sweep_id, "a", "q1",
                                                                 wait=20)))
        t.start()
        time.sleep(0.5)
        resumed = time.monotonic()
        stub.SetSweepState(pb.SetSweepStateRequest(ref=_ref(sweep_id),
                                                   action=pb.SWEEP_ACTION_RESUME))
        t.join(20)
        assert answer and answer[0].run_id
        assert time.monotonic() - resumed < 5  # woken, not after the wait ran out
        # run_cap 2: one more, then done and the sweep finished.
        assert _next(stub, sweep_id, "a", "q2").run_id
        last = _next(stub, sweep_id, "a", "q3")
        assert last.done and "run_cap" in last.reason
        sweep = stub.GetSweep(pb.GetSweepRequest(ref=_ref(sweep_id))).sweep
        assert sweep.state == pb.SWEEP_STATE_FINISHED and len(sweep.runs) == 2


def test_a_controller_schedules_runs_for_waiting_agents(daemon: DaemonProcess) -> None:
    channel, stub = _stub(daemon)
    with channel:
        sweep_id = _create(stub, {"method": "custom", "parameters": {
            "x": {"values": [1, 2]}}}).ref.sweep_id
        assert not stub.PreviewRun(pb.PreviewRunRequest(ref=_ref(sweep_id))).HasField(
            "params_json")
        answer: list[pb.NextRunResponse] = []
        t = threading.Thread(target=lambda: answer.append(_next(stub, sweep_id, "a", "q1",
                                                                 wait=20)))
        t.start()
        time.sleep(0.3)
        scheduled = stub.ScheduleRuns(pb.ScheduleRunsRequest(
            ref=_ref(sweep_id), params_json=[json.dumps({"x": 7})])).runs
        t.join(20)
        assert answer and answer[0].run_id == scheduled[0].run_id
        assert json.loads(answer[0].params_json) == {"x": 7}


def test_cancel_stops_the_runs_in_flight(daemon: DaemonProcess, monkeypatch,  # type: ignore[no-untyped-def]
                                         tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for k, v in daemon.dirs.env.items():
        monkeypatch.setenv(k, v)
    channel, stub = _stub(daemon)
    with channel:
        sweep_id = _create(stub, {"method": "random", "parameters": {
            "x": {"values": [1, 2]}}}).ref.sweep_id
        proposal = _next(stub, sweep_id, "a", "q1")
        pending = _next(stub, sweep_id, "a", "q2")
        trackd.teardown()
        run = trackd.init(entity="ent", project="proj", id=proposal.run_id,
                          settings=trackd.Settings(sweep_id=sweep_id))
        run.log({"loss": 1.0})
        stub.SetSweepState(pb.SetSweepStateRequest(ref=_ref(sweep_id),
                                                   action=pb.SWEEP_ACTION_CANCEL))
        # The live run is asked to stop (as `trackd runs stop` does): the SDK interrupts the
        # main thread once the daemon's answer reaches it.
        with pytest.raises(KeyboardInterrupt):
            for i in range(2000):
                run.log({"loss": 1.0 / (i + 2)})
                time.sleep(0.01)
        run.finish()
        # The run that never started is left to its agent: the heartbeat says stop it.
        beat = stub.AgentHeartbeat(pb.AgentHeartbeatRequest(
            ref=_ref(sweep_id), agent_id="a", running=[pending.run_id]))
        assert list(beat.stop) == [pending.run_id]
        assert beat.state == pb.SWEEP_STATE_CANCELED
        assert _next(stub, sweep_id, "a", "q3").done
        sweep = stub.GetSweep(pb.GetSweepRequest(ref=_ref(sweep_id))).sweep
        states = {r.run_id: r.state for r in sweep.runs}
        assert states[proposal.run_id] == "killed"
    trackd.teardown()


def test_hyperband_stops_a_run_that_falls_behind(daemon: DaemonProcess, monkeypatch,  # type: ignore[no-untyped-def]
                                                 tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for k, v in daemon.dirs.env.items():
        monkeypatch.setenv(k, v)
    channel, stub = _stub(daemon)
    config = {"method": "random", "metric": {"name": "loss", "goal": "minimize"},
              "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2},
              "parameters": {"x": {"values": [1, 2, 3]}}}
    with channel:
        sweep_id = _create(stub, config).ref.sweep_id
        trackd.teardown()
        good = []
        for i in range(2):  # two runs whose loss falls, past every band the third reaches
            run_id = _next(stub, sweep_id, "a", f"good{i}").run_id
            with trackd.init(entity="ent", project="proj", id=run_id,
                             settings=trackd.Settings(sweep_id=sweep_id)) as run:
                for step in range(600):
                    run.log({"loss": 1.0 / (step + 1)})
            good.append(run_id)
        bad_id = _next(stub, sweep_id, "a", "bad").run_id
        run = trackd.init(entity="ent", project="proj", id=bad_id,
                          settings=trackd.Settings(sweep_id=sweep_id))
        logged = 0
        # Hyperband judges a run at the last band it reached (2, 4, 8, ... iterations) against
        # the runs that reached it too: this one is far behind at every band.
        with pytest.raises(KeyboardInterrupt):
            for step in range(500):
                run.log({"loss": 10.0 + step})
                logged += 1
                time.sleep(0.01)
        run.finish()
        assert logged < 3000
        sweep = stub.GetSweep(pb.GetSweepRequest(ref=_ref(sweep_id))).sweep
        by_id = {r.run_id: r for r in sweep.runs}
        assert by_id[bad_id].stopped_early and by_id[bad_id].state == "killed"
        for run_id in good:
            assert not by_id[run_id].stopped_early and by_id[run_id].state == "finished"
            assert by_id[run_id].has_metric
        assert sweep.best_run_id in good
        # The stop is what a controller's stopping() would report for a run still going.
        assert not stub.StopSweepRuns(pb.StopSweepRunsRequest(
            ref=_ref(sweep_id), only_candidates=True)).run_ids
    trackd.teardown()


def test_agents_keep_an_idle_daemon_up(daemon: DaemonProcess) -> None:
    """A daemon with no run in flight is not idle while an agent waits for a run (or was heard
    from moments ago): `Shutdown(if_idle)`, which a process that started the daemon sends at
    its exit, leaves it serving."""
    from trackd.v1 import daemon_service_pb2 as dpb

    channel, stub = _stub(daemon)
    with channel:
        daemon_stub = make_stub(channel, dpb, "DaemonService")
        sweep_id = _create(stub, {"method": "random", "parameters": {
            "x": {"values": [1, 2]}}}).ref.sweep_id
        assert _next(stub, sweep_id, "a", "q1").run_id
        assert daemon_stub.Shutdown(dpb.ShutdownRequest(if_idle=True)).stopping is False
        assert daemon.proc is not None and daemon.proc.poll() is None
