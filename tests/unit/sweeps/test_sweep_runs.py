"""The metric of a run, the best run, imputation, and parameters read back from run configs."""

from __future__ import annotations

import math

from trackd_daemon.sweeps import (
    SearchRun,
    best_run,
    flatten_params,
    metric_value,
    params_from_run_config,
    validate_config,
)
from trackd_daemon.sweeps._runs import imputed_value, is_open, observed_value, worst_value

MIN = validate_config({"method": "random", "metric": {"name": "val/loss"},
                       "parameters": {"a": {"value": 1}}})
MAX = validate_config({"method": "random", "metric": {"name": "acc", "goal": "maximize"},
                       "parameters": {"a": {"value": 1}}})
NESTED = validate_config({"method": "random", "parameters": {
    "lr": {"min": 0.0, "max": 1.0},
    "model": {"parameters": {"depth": {"values": [1, 2]},
                             "opt": {"parameters": {"name": {"value": "adam"}}}}}}})


def test_metric_value():
    assert metric_value(MIN, {"val/loss": 0.25}) == 0.25
    assert metric_value(MIN, {"val/loss": 3}) == 3.0
    assert metric_value(MIN, {}) is None
    assert metric_value(MIN, {"val/loss": "low"}) is None
    assert metric_value(MIN, {"val/loss": float("nan")}) is None
    assert metric_value(MIN, {"val/loss": math.inf}) is None
    assert metric_value(MIN, {"val/loss": True}) is None
    # define_metric summaries: the value that fits the goal
    assert metric_value(MIN, {"val/loss": {"min": 0.1, "max": 0.9, "last": 0.3}}) == 0.1
    assert metric_value(MAX, {"acc": {"min": 0.1, "max": 0.9}}) == 0.9
    assert metric_value(MAX, {"acc": {"last": 0.4}}) == 0.4
    dotted = validate_config({"method": "random", "metric": {"name": "val.acc"},
                              "parameters": {"a": {"value": 1}}})
    assert metric_value(dotted, {"val.acc": 1.5}) == 1.5
    assert metric_value(dotted, {"val": {"acc": 2.5}}) == 2.5
    assert metric_value(validate_config({"method": "random", "parameters": {"a": {"value": 1}}}),
                        {"x": 1}) is None


def runs_with(values, states=None):
    states = states or ["finished"] * len(values)
    return [SearchRun(f"r{i}", {}, s, {} if v is None else {"acc": v, "val/loss": v})
            for i, (v, s) in enumerate(zip(values, states, strict=True))]


def test_best_run():
    runs = runs_with([0.5, 0.9, None, 0.7])
    assert best_run(MAX, runs) == "r1"
    assert best_run(MIN, runs) == "r0"
    # A running run's metric does not count; finished runs come before failed ones.
    runs = runs_with([0.99, 0.2, 0.95], ["running", "finished", "crashed"])
    assert best_run(MAX, runs) == "r1"
    runs = runs_with([0.99, None, 0.95], ["running", "finished", "crashed"])
    assert best_run(MAX, runs) == "r2"
    assert best_run(MAX, runs_with([None, None])) is None
    assert best_run(MAX, []) is None


def test_imputation_rules():
    runs = [SearchRun("a", {}, "finished", {"acc": 0.8}, [0.2, 0.8]),
            SearchRun("b", {}, "finished", {"acc": 0.6}, [0.6]),
            SearchRun("c", {}, "crashed", {"acc": 0.3}, [0.5, 0.3]),
            SearchRun("d", {}, "running", {"acc": 0.05}, [0.05]),
            SearchRun("e", {}, "failed", {}, [])]
    crashed, failed = runs[2], runs[4]
    # worst: the worst value any ended run reported (the running run's does not count)
    assert imputed_value(MAX, crashed, "worst", worst_value(MAX, runs)) == 0.2
    assert imputed_value(MAX, failed, "worst", worst_value(MAX, runs)) == 0.2
    assert imputed_value(MAX, crashed, "best", worst_value(MAX, runs)) == 0.5
    assert imputed_value(MAX, crashed, "latest", worst_value(MAX, runs)) == 0.3
    # a run that reported nothing of its own gets the worst
    assert imputed_value(MAX, failed, "best", worst_value(MAX, runs)) == 0.2
    assert imputed_value(MAX, failed, "latest", worst_value(MAX, runs)) == 0.2
    assert imputed_value(MAX, failed, "worst", worst_value(MAX, runs[3:])) is None
    min_cfg = validate_config({"method": "random", "metric": {"name": "acc"},
                               "parameters": {"a": {"value": 1}}})
    assert imputed_value(min_cfg, crashed, "worst", worst_value(min_cfg, runs)) == 0.8
    assert imputed_value(min_cfg, crashed, "best", worst_value(min_cfg, runs)) == 0.3


def test_open_runs_and_observed_values():
    runs = {state: SearchRun(state, {}, state, {"val/loss": 0.5} if state != "failed" else {})
            for state in ("pending", "preempted", "running", "finished", "failed")}
    runs["nan"] = SearchRun("nan", {}, "finished", {"val/loss": math.nan})
    assert [s for s, r in runs.items() if is_open(MIN, r)] == ["pending", "preempted", "running"]
    # failed without a value of its own: the sweep's worst; with no worst (or a NaN): none
    assert observed_value(MIN, runs["finished"], 2.0) == 0.5
    assert observed_value(MIN, runs["failed"], 2.0) == 2.0
    assert observed_value(MIN, runs["failed"], None) is None
    assert observed_value(MIN, runs["nan"], None) is None
    while_running = validate_config({**MIN, "metric": {"name": "val/loss",
                                                       "impute_while_running": "latest"}})
    assert not is_open(while_running, runs["running"])
    assert observed_value(while_running, runs["running"], None) == 0.5
    assert is_open(while_running, runs["pending"])


def test_flatten_params():
    assert flatten_params(NESTED) == ["lr", "model.depth", "model.opt.name"]


def test_params_from_run_config():
    want = {"lr": 0.5, "model": {"depth": 2, "opt": {"name": "adam"}}}
    plain = {"lr": 0.5, "model": {"depth": 2, "opt": {"name": "adam"}}, "other": 1}
    assert params_from_run_config(NESTED, plain) == want
    wrapped = {"lr": {"value": 0.5, "desc": None},
               "model": {"value": {"depth": 2, "opt": {"name": "adam"}}}, "_wandb": {}}
    assert params_from_run_config(NESTED, wrapped) == want
    assert params_from_run_config(NESTED, {"lr": 0.5}) is None
    assert params_from_run_config(NESTED, {"lr": 0.5, "model": {"depth": 1}}) is None
    assert params_from_run_config(NESTED, {}) is None
