"""``trackd.sweep()``, ``trackd.controller()`` and the public API's sweeps, against the real
daemon: what sweep() prints and where the sweep goes, a bad configuration naming every
violation, unknown sweep ids, prior runs, a controller with a custom search callable (and its
stopping), the built-in search's preview, ``Api().sweep``, ``Project.sweeps()`` and
``run.sweep``."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import trackd
from trackd import Api
from trackd.errors import SweepConfigError, SweepNotFoundError
from trackd.sweeps import SweepRun

RANDOM = {
    "method": "random",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"lr": {"min": 0.001, "max": 0.1}, "bs": {"values": [16, 32]}},
}


def test_sweep_prints_its_id_page_and_agent_command(sweep_sdk, capsys) -> None:
    sweep_id = trackd.sweep(lambda: {**RANDOM, "name": "lr-search"}, project="sw-print")
    err = capsys.readouterr().err
    sweep = Api().sweep(f"sw-print/{sweep_id}")
    assert f"Created sweep with ID: {sweep_id}" in err
    assert f"Run sweep agent with: trackd agent {sweep.entity}/sw-print/{sweep_id}" in err
    if sweep.url:
        assert f"View sweep at: {sweep.url}" in err
        assert sweep.url.endswith(f"/{sweep.entity}/sw-print/sweeps/{sweep_id}")
    assert sweep.name == "lr-search" and sweep.state == "RUNNING"
    assert sweep.config["method"] == "random" and sweep.order == "+summary_metrics.loss"
    assert sweep.expected_run_count is None and sweep.runs == [] and sweep.best_run() is None


def test_project_comes_from_the_config_then_the_argument_then_the_default(
        sweep_sdk, monkeypatch) -> None:
    from trackd._init.init import default_project

    in_config = trackd.sweep({**RANDOM, "project": "from-config"}, project="from-arg")
    assert Api().sweep(in_config).project == "from-config"
    from_arg = trackd.sweep(RANDOM, project="from-arg")
    assert Api().sweep(from_arg).project == "from-arg"
    default = trackd.sweep(RANDOM)
    assert Api().sweep(default).project == default_project(None)
    assert {s.id for s in Api().project("from-arg").sweeps()} == {from_arg}


def test_a_bad_configuration_names_every_violation(sweep_sdk) -> None:
    bad = {"method": "annealing", "metric": {"goal": "upward"},
           "parameters": {"lr": {"min": 1.0, "max": 0.1}, "bs": {"values": []}},
           "run_cap": -1}
    with pytest.raises(SweepConfigError) as info:
        trackd.sweep(bad, project="sw-bad")
    err = info.value
    assert len(err.violations) >= 5
    for violation in err.violations:
        assert violation in err.message
    text = err.message
    for field in ("method", "metric", "parameters.lr", "parameters.bs", "run_cap"):
        assert field in text, (field, text)
    assert Api().project("sw-bad").sweeps() == []
    with pytest.raises(SweepConfigError, match="must be a mapping"):
        trackd.sweep(lambda: ["not", "a", "dict"])
    with pytest.raises(SweepConfigError, match="not a finite number"):
        trackd.sweep({**RANDOM, "run_cap": float("nan")})


def test_unknown_sweep_ids(sweep_sdk) -> None:
    with pytest.raises(SweepNotFoundError):
        Api().sweep("nosuch")
    with pytest.raises(SweepNotFoundError):
        trackd.controller("someone/proj/nosuch")
    sweep_id = trackd.sweep(RANDOM, project="sw-where")
    with pytest.raises(SweepNotFoundError):  # the id, in another project
        Api().sweep(f"elsewhere/{sweep_id}")


def test_prior_runs_and_run_sweep(sweep_sdk) -> None:
    with trackd.init(project="sw-prior", config={"lr": 0.05, "bs": 16}) as run:
        run.log({"loss": 0.25})
    sweep_id = trackd.sweep(RANDOM, project="sw-prior", prior_runs=[run.id])
    sweep = Api().sweep(f"sw-prior/{sweep_id}")
    assert sweep.run_count == 1
    assert [r.id for r in sweep.runs] == [run.id]
    assert sweep.best_run().id == run.id
    listed = Api().project("sw-prior").sweeps()
    assert [s.id for s in listed] == [sweep_id] and [r.id for r in listed[0].runs] == [run.id]
    # A run of the sweep (linked through init) knows its sweep.
    with trackd.init(project="sw-prior", settings=trackd.Settings(sweep_id=sweep_id)) as linked:
        linked.log({"loss": 0.5})
    found = Api().run(f"sw-prior/{linked.id}").sweep
    assert found is not None and found.id == sweep_id and found.project == "sw-prior"


def test_controller_with_a_custom_search_drives_an_agent(sweep_sdk, capsys) -> None:
    proposed: list[int] = []

    def search(config: dict[str, Any], runs: list[SweepRun]) -> SweepRun | None:
        assert config["method"] == "custom"
        assert all(isinstance(r, SweepRun) for r in runs)
        if len(runs) >= 3:
            return None
        proposed.append(len(runs))
        return SweepRun(config={"x": {"value": len(runs)}, "tag": {"value": "c"}})

    tuner = trackd.controller(project="sw-ctl")
    tuner.configure_search(search)
    tuner.configure_metric("loss", goal="minimize")
    tuner.configure_parameter("x", values=[0, 1, 2])
    tuner.configure_parameter("tag", value="c")
    tuner.configure_name("custom-search")
    assert tuner.sweep_id is None and tuner.sweep_config["method"] == "custom"
    sweep_id = tuner.create()
    assert tuner.sweep_id == sweep_id and tuner.sweep_config["name"] == "custom-search"
    with pytest.raises(trackd.UsageError, match="created already"):
        tuner.configure_program("x.py")

    seen: list[dict[str, Any]] = []

    def train() -> None:
        run = trackd.init()
        seen.append(dict(run.config))
        run.log({"loss": float(run.config.x)})

    worker = threading.Thread(target=trackd.agent, args=(sweep_id,),
                              kwargs={"function": train})
    worker.start()
    tuner.run(print_status=True, print_actions=True)
    worker.join(120)
    assert not worker.is_alive()
    assert proposed == [0, 1, 2]
    assert sorted(s["x"] for s in seen) == [0, 1, 2] and {s["tag"] for s in seen} == {"c"}
    assert tuner.done() and Api().sweep(sweep_id).state == "FINISHED"
    out = capsys.readouterr().out
    assert f"Sweep: {sweep_id} (custom" in out and "scheduled run" in out
    tuner.print_summary()
    tuner.print_space()
    tuner.print_debug()
    out = capsys.readouterr().out
    assert "Best run:" in out and "x: categorical" in out and "Runs (3)" in out
    best = Api().sweep(sweep_id).best_run()
    assert best is not None and best.config["x"] == 0


def test_controller_of_an_existing_sweep_previews_and_schedules(sweep_sdk) -> None:
    sweep_id = trackd.sweep({"method": "grid", "parameters": {"a": {"values": [1, 2]}}},
                            project="sw-ctl2")
    tuner = trackd.controller(sweep_id)
    assert tuner.sweep_id == sweep_id and tuner.sweep_config["method"] == "grid"
    preview = tuner.search()
    assert preview is not None and preview.config["a"]["value"] in (1, 2)
    tuner.schedule(SweepRun(config={"a": {"value": 2}}))
    tuner.step()
    assert [r.state for r in tuner._runs] == ["pending"]
    assert tuner.stopping() == []
    got: list[int] = []

    def train() -> None:
        got.append(trackd.init().config.a)

    trackd.agent(sweep_id, function=train, count=1)
    assert got == [2]  # the scheduled run first
    tuner.print_status()
    assert not tuner.done()


def test_controller_custom_stopping_stops_a_live_run(sweep_sdk) -> None:
    sweep_id = trackd.sweep({"method": "random", "parameters": {"a": {"values": [1]}}},
                            project="sw-stop")
    tuner = trackd.controller(sweep_id)
    tuner.configure_stopping(lambda config, runs: [r for r in runs if r.state == "running"])
    outcome: list[str] = []
    started = threading.Event()

    def train() -> None:
        run = trackd.init()
        started.set()
        try:
            for _ in range(600):
                run.log({"loss": 1.0})
                import time

                time.sleep(0.05)
            outcome.append("not stopped")
        except KeyboardInterrupt:
            outcome.append("stopped")
            raise

    worker = threading.Thread(target=trackd.agent, args=(sweep_id,),
                              kwargs={"function": train, "count": 1})
    worker.start()
    assert started.wait(60)
    import time

    deadline = time.monotonic() + 60
    while not outcome and time.monotonic() < deadline:
        tuner.step()
        time.sleep(0.3)
    worker.join(60)
    assert outcome == ["stopped"]
    runs = Api().sweep(sweep_id).runs
    assert [r.state for r in runs] == ["killed"]
    sweep_runs = trackd.controller(sweep_id)._runs
    assert sweep_runs[0].stopped
