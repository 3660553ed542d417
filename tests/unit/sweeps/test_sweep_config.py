"""validate_config: W&B's sweep schema, defaults filled in, every violation named."""

from __future__ import annotations

import copy

import pytest

from trackd_daemon.errors import SweepConfigError
from trackd_daemon.sweeps import validate_config

EVERY_DISTRIBUTION = {
    "c": {"value": "x"},
    "cat": {"values": [1, "a", None]},
    "catp": {"values": ["a", "b"], "probabilities": [0.25, 0.75]},
    "iu": {"min": 1, "max": 5},
    "u": {"min": 0.0, "max": 1},
    "qu": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
    "lu": {"distribution": "log_uniform", "min": -5, "max": 0},
    "luv": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
    "ilu": {"distribution": "inv_log_uniform", "min": 0, "max": 3},
    "iluv": {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1},
    "qlu": {"distribution": "q_log_uniform", "min": 0, "max": 5},
    "qluv": {"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 8},
    "n": {"distribution": "normal"},
    "qn": {"distribution": "q_normal", "mu": 10, "sigma": 3, "q": 0.5},
    "ln": {"distribution": "log_normal", "mu": 1, "sigma": 0.5},
    "qln": {"distribution": "q_log_normal"},
    "b": {"distribution": "beta", "a": 2},
    "qb": {"distribution": "q_beta", "q": 0.1},
    "group": {"parameters": {"inner": {"values": [1, 2]},
                             "deeper": {"parameters": {"k": {"value": 3}}}}},
}


def test_every_distribution_is_accepted_and_gets_its_defaults():
    raw = {"method": "random", "parameters": copy.deepcopy(EVERY_DISTRIBUTION)}
    config = validate_config(raw)
    p = config["parameters"]
    assert raw["parameters"] == EVERY_DISTRIBUTION, "the input is not modified"
    assert p["c"] == {"distribution": "constant", "value": "x"}
    assert p["cat"]["distribution"] == "categorical"
    assert p["catp"]["distribution"] == "categorical_w_probabilities"
    assert p["iu"] == {"distribution": "int_uniform", "min": 1, "max": 5}
    assert p["u"]["distribution"] == "uniform"
    assert p["qu"]["q"] == 2
    assert p["qlu"]["q"] == 1.0
    assert p["n"] == {"distribution": "normal", "mu": 0.0, "sigma": 1.0}
    assert p["qln"] == {"distribution": "q_log_normal", "mu": 0.0, "sigma": 1.0, "q": 1.0}
    assert p["b"] == {"distribution": "beta", "a": 2, "b": 1.0}
    assert p["qb"] == {"distribution": "q_beta", "a": 1.0, "b": 1.0, "q": 0.1}
    assert p["group"]["parameters"]["inner"]["distribution"] == "categorical"
    assert p["group"]["parameters"]["deeper"]["parameters"]["k"] == {
        "distribution": "constant", "value": 3}
    for name in ("lu", "luv", "ilu", "iluv", "qluv", "qn", "ln"):
        assert p[name]["distribution"] == EVERY_DISTRIBUTION[name]["distribution"]


def test_defaults_of_metric_and_hyperband():
    config = validate_config({
        "method": "bayes", "metric": {"name": "val/loss"},
        "parameters": {"lr": {"min": 0.1, "max": 1.0}},
        "early_terminate": {"type": "hyperband", "min_iter": 2},
        "run_cap": 5, "program": "train.py", "command": ["${env}", "${interpreter}", "${program}",
                                                          "${args}"],
        "name": "n", "description": "d", "project": "p", "entity": "e",
        "controller": {"type": "local"}, "apiVersion": "v1", "kind": "sweep",
        "job": "j", "image_uri": "img"})
    assert config["method"] == "bayes"
    assert config["metric"] == {"name": "val/loss", "goal": "minimize", "impute": "worst",
                                "impute_while_running": "false"}
    assert config["early_terminate"] == {"type": "hyperband", "min_iter": 2, "eta": 3,
                                         "strict": True}
    assert config["run_cap"] == 5 and config["command"][3] == "${args}"


def test_max_iter_form_of_hyperband():
    config = validate_config({"method": "random", "metric": {"name": "m", "goal": "maximize"},
                              "parameters": {"a": {"values": [1]}},
                              "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 3,
                                                  "eta": 2, "strict": False}})
    assert config["early_terminate"]["eta"] == 2 and config["early_terminate"]["strict"] is False


def violations_of(raw) -> list[str]:
    with pytest.raises(SweepConfigError) as info:
        validate_config(raw)
    return info.value.violations


def test_a_bad_config_names_every_violation():
    found = violations_of({
        "parameters": {
            "lr": {"min": 1, "max": 0.1},
            "opt": {"values": ["a", "b"], "probabilities": [0.5, 0.6]},
            "short": {"values": [1, 2, 3], "probabilities": [0.5, 0.5]},
            "z": {"distribution": "normal", "sigma": -1, "colour": "red"},
            "w": {"distribution": "wiggly"},
            "lv": {"distribution": "log_uniform_values", "min": 0, "max": 1},
            "iu": {"distribution": "int_uniform", "min": 0.5, "max": 3},
            "q": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0},
            "nothing": {},
            "g": {"parameters": {"deep": {"min": "a", "max": 2}}, "extra": 1},
        },
        "early_terminate": {"type": "hyperband", "eta": 1},
        "run_cap": 0, "command": "python x.py", "controller": {"type": "remote"},
        "colour": "blue",
    })
    expected = [
        "method: is required",
        "colour: unknown key",
        "run_cap: must be a positive integer",
        "command: must be a list of strings",
        "controller.type: must be one of local, cloud",
        "metric: is required when early_terminate is set",
        "early_terminate.eta: must be a number greater than 1",
        "early_terminate: needs min_iter, or max_iter and s",
        "parameters.lr.min: must be less than max (got 1 >= 0.1)",
        "parameters.opt.probabilities: must sum to 1",
        "parameters.short.probabilities: must have as many items as values",
        "parameters.z.colour: unknown key for distribution normal",
        "parameters.z.sigma: must be a number greater than 0",
        "parameters.w.distribution: unknown distribution 'wiggly'",
        "parameters.lv.min: must be greater than 0",
        "parameters.iu.min: must be an integer",
        "parameters.q.q: must be a number greater than 0",
        "parameters.nothing: cannot tell its distribution",
        "parameters.g.extra: unknown key",
        "parameters.g.parameters.deep: min and max must be numbers",
    ]
    for text in expected:
        assert any(v.startswith(text) for v in found), (text, found)
    assert len(found) == len(expected), found


def test_metric_rules():
    found = violations_of({"method": "bayes", "parameters": {"a": {"min": 0.0, "max": 1.0}}})
    assert found == ["metric: is required when method is bayes"]
    found = violations_of({"method": "random", "parameters": {"a": {"value": 1}},
                           "metric": {"goal": "up", "impute": "mean", "target": "x", "k": 1}})
    assert sorted(found) == sorted([
        "metric.k: unknown key", "metric.name: is required",
        "metric.goal: must be one of minimize, maximize (got 'up')",
        "metric.target: must be a number (got 'x')",
        "metric.impute: must be one of latest, best, worst (got 'mean')"])


def test_grid_needs_enumerable_parameters():
    found = violations_of({"method": "grid", "parameters": {
        "a": {"values": [1, 2]}, "b": {"min": 0.0, "max": 1.0},
        "c": {"values": [1, 2], "probabilities": [0.5, 0.5]},
        "g": {"parameters": {"n": {"distribution": "normal"}}}}})
    assert sorted(found) == sorted([
        "parameters.b: a grid needs constant, categorical, int_uniform or q_uniform "
        "parameters (got uniform)",
        "parameters.c: a grid needs constant, categorical, int_uniform or q_uniform "
        "parameters (got categorical_w_probabilities)",
        "parameters.g.parameters.n: a grid needs constant, categorical, int_uniform or "
        "q_uniform parameters (got normal)"])


def test_other_structural_violations():
    assert violations_of([1, 2]) == ["config: must be a mapping (got list)"]
    assert violations_of({"method": "random"}) == ["parameters: is required"]
    assert violations_of({"method": "random", "parameters": {}}) == [
        "parameters: must name at least one parameter"]
    assert violations_of({"method": "bayes", "metric": {"name": "m"},
                          "parameters": {"a": {"value": 1}}}) == [
        "parameters: bayes needs at least one parameter that is not constant"]
    found = violations_of({"method": "random", "parameters": {"1bad": {"value": 1}},
                           "early_terminate": {"type": "median", "max_iter": 3},
                           "metric": {"name": "m"}})
    assert "early_terminate.type: must be hyperband (got 'median')" in found
    assert "early_terminate.s: is required with max_iter" in found
    assert any(v.startswith("parameters.1bad: is not a valid parameter name") for v in found)
    found = violations_of({"method": "random", "parameters": {"a": {"value": 1}},
                           "metric": {"name": "m"},
                           "early_terminate": {"type": "hyperband", "max_iter": 2, "s": 1}})
    assert found == ["early_terminate.max_iter: leaves no band (max_iter/eta < 1: 2/3)"]


def test_error_message_lists_violations():
    with pytest.raises(SweepConfigError) as info:
        validate_config({"method": "nope", "parameters": {"a": {"value": 1}}})
    assert "1 violation" in str(info.value) and "method: must be one of" in str(info.value)
