"""Bayes search through Optuna: better than random, deterministic, fast, and fed the runs'
states the way the docstring of ``_bayes`` says."""

from __future__ import annotations

import statistics
import time

import pytest

from trackd_daemon.sweeps import SearchRun, next_params, validate_config
from trackd_daemon.sweeps._bayes import _axis, _trial_of
from trackd_daemon.sweeps._runs import worst_value
from trackd_daemon.sweeps._space import params_of


def bowl(p):
    return (p["x"] - 0.3) ** 2 + (p["y"] + 1.2) ** 2 + 0.5 * abs(p["z"]["w"] - 2.0)


SPACE = {"x": {"min": -2.0, "max": 2.0}, "y": {"min": -2.0, "max": 2.0},
         "z": {"parameters": {"w": {"distribution": "q_uniform", "min": 0, "max": 5, "q": 0.5},
                              "tag": {"value": "t"}}}}


def search(method, seed, trials=25):
    config = validate_config({"method": method, "metric": {"name": "loss"},
                              "parameters": SPACE})
    runs = []
    for i in range(trials):
        params = next_params(config, runs, seed)
        assert params["z"]["tag"] == "t"
        runs.append(SearchRun(f"r{i}", params, "finished", {"loss": bowl(params)}))
    return min(r.summary["loss"] for r in runs)


def test_bayes_beats_random_on_a_simple_function():
    bayes = [search("bayes", s) for s in range(6)]
    random = [search("random", s) for s in range(6)]
    assert statistics.median(bayes) < 0.5 * statistics.median(random), (bayes, random)


def config_of_ten():
    return validate_config({"method": "bayes", "metric": {"name": "m", "goal": "maximize"},
                            "parameters": {
                                "a": {"min": 0.0, "max": 1.0}, "b": {"min": 1, "max": 50},
                                "c": {"values": ["x", "y", "z"]},
                                "d": {"distribution": "log_uniform_values", "min": 1e-4,
                                      "max": 1.0},
                                "e": {"distribution": "normal"},
                                "f": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.1},
                                "g": {"distribution": "beta", "a": 2, "b": 2},
                                "h": {"values": [1, 2], "probabilities": [0.3, 0.7]},
                                "i": {"distribution": "inv_log_uniform_values", "min": 0.1,
                                      "max": 10},
                                "j": {"distribution": "q_log_normal", "q": 0.5}}})


def hundred_runs(config):
    random_config = {**config, "method": "random"}
    runs = []
    for i in range(100):
        params = next_params(random_config, runs, 5)
        state = ("finished", "failed", "running", "pending", "crashed")[i % 5]
        runs.append(SearchRun(f"r{i}", params, state, {"m": (i * 37 % 101) / 100}))
    return runs


def test_deterministic_and_fast_with_100_runs_and_10_parameters():
    config = config_of_ten()
    runs = hundred_runs(config)
    times, proposals = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        proposals.append(next_params(config, runs, 11))
        times.append(time.perf_counter() - t0)
    assert proposals[0] == proposals[1] == proposals[2]
    assert next_params(config, runs, 12) != proposals[0]
    assert statistics.median(times) < 0.2, times


def trial_for(config, run, runs):
    axes = [_axis(p) for p in params_of(config) if p.distribution != "constant"]
    return _trial_of(config, run, worst_value(config, runs), axes)


IMPUTE = {"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}}


@pytest.mark.parametrize(("impute", "expected"), [("worst", 9.0), ("best", 2.0),
                                                   ("latest", 4.0)])
def test_failed_runs_count_with_the_imputed_value(impute, expected):
    config = validate_config({**IMPUTE, "metric": {"name": "loss", "impute": impute}})
    runs = [SearchRun("ok", {"x": 0.1}, "finished", {"loss": 1.0}, []),
            SearchRun("bad", {"x": 0.2}, "finished", {"loss": 9.0}, []),
            SearchRun("crash", {"x": 0.3}, "crashed", {"loss": 4.0}, [3.0, 2.0, 4.0])]
    trial = trial_for(config, runs[2], runs)
    assert trial.state.name == "COMPLETE" and trial.value == expected


def test_states_become_trials():
    config = validate_config({**IMPUTE, "metric": {"name": "loss"}})
    runs = [SearchRun("p", {"x": 0.5}, "pending", {}),
            SearchRun("r", {"x": 0.6}, "running", {"loss": 0.3}),
            SearchRun("f", {"x": 0.7}, "failed", {}),
            SearchRun("n", {"x": 0.8}, "finished", {}),
            SearchRun("out", {"x": 7.0}, "finished", {"loss": 1.0}),
            SearchRun("missing", {}, "finished", {"loss": 1.0})]
    states = [(t.state.name if (t := trial_for(config, r, runs[:4])) else None)
              for r in runs]
    # nothing to impute from (no ended run has a value): FAIL; outside the space or without
    # the parameter: left out
    assert states == ["RUNNING", "RUNNING", "FAIL", "FAIL", None, None]
    # once an ended run has a value, the failed one counts with the worst
    assert trial_for(config, runs[2], runs).value == 1.0
    while_running = validate_config({**IMPUTE, "metric": {"name": "loss",
                                                         "impute_while_running": "latest"}})
    trial = trial_for(while_running, runs[1], runs)
    assert trial.state.name == "COMPLETE" and trial.value == 0.3


def test_pending_runs_steer_proposals_apart():
    config = validate_config({"method": "bayes", "metric": {"name": "loss"},
                              "parameters": {"x": {"values": list(range(4))}}})
    runs = [SearchRun(f"f{v}", {"x": v}, "finished", {"loss": float(v)}) for v in range(4)] * 3
    best = next_params(config, runs, 1)
    assert best == {"x": 0}
    # With x=0 pending several times, the constant liar counts those as bad: another value.
    crowded = runs + [SearchRun(f"p{i}", {"x": 0}, "pending", {}) for i in range(20)]
    assert next_params(config, crowded, 1) != best


def test_first_proposals_are_spread_evenly():
    # The first proposals follow the sweep's Halton sequence: in base 2, 4 points fall one in
    # each quarter (4 random points would do that one time in ten).
    config = validate_config({"method": "bayes", "metric": {"name": "m"},
                              "parameters": {"x": {"min": 0.0, "max": 1.0}}})
    for seed in range(5):
        runs = []
        for i in range(4):
            params = next_params(config, runs, seed)
            runs.append(SearchRun(f"r{i}", params, "running", {}))
        assert sorted(int(r.params["x"] * 4) for r in runs) == [0, 1, 2, 3], seed
