"""What the sweep page shows of a sweep (``web/sweep_view.py``, pure): metric values, the best
so far for either goal, parameter columns, the parallel-coordinates axes, importance input."""

from __future__ import annotations

from typing import Any

from trackd_daemon.store.sweep_models import SweepInfo, SweepRunInfo
from trackd_daemon.web.sweep_view import (
    distribution,
    importance_input,
    param_names,
    sweep_detail,
    sweep_summary,
)

CONFIG: dict[str, Any] = {
    "method": "bayes",
    "metric": {"name": "acc", "goal": "maximize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "bn": {"values": [True, False]},
        "opt": {"parameters": {"kind": {"values": ["adam", "sgd"]},
                               "betas": {"values": [{"b1": 0.9}, {"b1": 0.8}]}}},
    },
}


def _sweep(config: dict[str, Any] = CONFIG) -> SweepInfo:
    return SweepInfo(pk=1, sweep_id="sw1", entity="e", project="p", name="", config=config,
                     state="RUNNING", created_at=1.0, updated_at=2.0, run_count=4)


def _run(run_id: str, params: dict[str, Any], state: str, summary: dict[str, Any],
         **kw: Any) -> SweepRunInfo:
    return SweepRunInfo(sweep_pk=1, run_id=run_id, params=params, agent_id="a", request_id="",
                        prior=False, created_at=float(len(run_id)), run_pk=1 if state else 0,
                        run_state=state, run_name=f"name-{run_id}", run_summary=summary, **kw)


def _params(lr: float, bn: bool, kind: str, b1: float) -> dict[str, Any]:
    return {"lr": lr, "bn": bn, "opt": {"kind": kind, "betas": {"b1": b1}}}


RUNS = [
    _run("r1", _params(0.01, True, "adam", 0.9), "finished", {"acc": 0.7}),
    _run("r2", _params(0.001, False, "sgd", 0.8), "running", {"acc": 0.9}),
    _run("r3", _params(0.05, True, "sgd", 0.9), "finished", {"acc": 0.8}),
    _run("r4", _params(0.002, False, "adam", 0.8), "", {}, stopped_early=True),
    _run("r5", _params(0.003, True, "adam", 0.9), "crashed", {"acc": float("nan")}),
]


def test_the_best_so_far_follows_the_goal_and_the_best_run_is_a_finished_one() -> None:
    got = sweep_detail(_sweep(), RUNS)
    assert got["name"] == "sw1"  # no name: the id
    assert [r["metric"] for r in got["runs"]] == [0.7, 0.9, 0.8, None, None]
    assert [r["best_so_far"] for r in got["runs"]] == [0.7, 0.9, 0.9, 0.9, 0.9]
    assert got["best"] == {"id": "r3", "name": "name-r3", "metric": 0.8}  # r2 still runs
    assert got["states"] == {"finished": 2, "running": 1, "pending": 1, "crashed": 1}
    assert got["stopped_early"] == 1 and got["runs"][3]["state"] == "pending"
    minimize = sweep_detail(_sweep({**CONFIG, "metric": {"name": "acc"}}), RUNS)
    assert [r["best_so_far"] for r in minimize["runs"]] == [0.7, 0.7, 0.7, 0.7, 0.7]
    assert minimize["best"]["id"] == "r1" and minimize["goal"] == "minimize"
    summary = sweep_summary(_sweep(), RUNS)
    assert summary["best"]["id"] == "r3" and "runs" not in summary


def test_parameters_by_dotted_name_with_dict_values_kept_whole() -> None:
    assert sorted(param_names(CONFIG, RUNS)) == ["bn", "lr", "opt.betas", "opt.kind"]
    extra = _run("r6", {**_params(0.01, True, "adam", 0.9), "seed": 3}, "finished", {})
    assert "seed" in param_names(CONFIG, [*RUNS, extra])  # a parameter outside the config
    got = sweep_detail(_sweep(), RUNS)
    assert got["runs"][0]["params"]["opt.betas"] == {"b1": 0.9}
    assert distribution(CONFIG, "lr") == "log_uniform_values"
    assert distribution(CONFIG, "opt.kind") == "" and distribution(CONFIG, "nope.x") == ""


def test_parallel_coordinates_axes() -> None:
    pc = sweep_detail(_sweep(), RUNS)["parcoords"]
    assert pc["runs"] == ["r1", "r2", "r3"]  # the runs with the metric
    dims = {d["label"]: d for d in pc["dimensions"]}
    assert dims["lr"]["values"] == [0.01, 0.001, 0.05] and dims["lr"]["log"] is True
    assert dims["bn"]["categorical"] and dims["bn"]["ticktext"] == ["false", "true"]
    assert dims["bn"]["values"] == [1, 0, 1]
    assert dims["opt.betas"]["ticktext"] == ["{'b1': 0.8}", "{'b1': 0.9}"]
    assert dims["acc"]["metric"] and dims["acc"]["values"] == [0.7, 0.9, 0.8]
    assert list(dims)[-1] == "acc"
    none = sweep_detail(_sweep({"method": "grid", "parameters": CONFIG["parameters"]}), RUNS)
    assert none["metric"] == "" and none["best"] is None
    assert none["parcoords"]["runs"] == ["r1", "r2", "r3", "r4", "r5"]
    assert all(not d.get("metric") for d in none["parcoords"]["dimensions"])


def test_importance_input_is_the_runs_with_a_metric() -> None:
    rows, metrics = importance_input(CONFIG, RUNS)
    assert metrics == [0.7, 0.9, 0.8]
    assert rows[0] == {"lr": 0.01, "bn": True, "opt.kind": "adam", "opt.betas": {"b1": 0.9}}
