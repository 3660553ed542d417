"""Random search draws each distribution as it should: checked on thousands of draws."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from trackd_daemon.sweeps import SearchRun, next_params, validate_config

DRAWS = 4000
# Statistical tests fail by chance with this probability (the draws are seeded, so a pass is
# reproducible; the threshold keeps a wrong distribution from passing).
ALPHA = 1e-4


def draws(spec: dict, n: int = DRAWS) -> np.ndarray | list:
    config = validate_config({"method": "random", "parameters": {"p": spec}})
    values = [next_params(config, [], seed)["p"] for seed in range(n)]
    return values if not all(isinstance(v, (int, float)) for v in values) else np.array(values)


def assert_uniform(samples: np.ndarray, lo: float, hi: float) -> None:
    assert samples.min() >= lo and samples.max() <= hi
    assert stats.kstest(samples, stats.uniform(lo, hi - lo).cdf).pvalue > ALPHA


def assert_multiples(samples: np.ndarray, q: float) -> None:
    k = samples / q
    assert np.allclose(k, np.round(k), atol=1e-9), samples[:10]


def test_uniform():
    assert_uniform(draws({"min": -2.0, "max": 3.0}), -2.0, 3.0)


def test_int_uniform_hits_every_integer_evenly():
    samples = draws({"min": 3, "max": 9})
    assert all(isinstance(v, (int, np.integer)) for v in samples)
    counts = Counter(samples.tolist())
    assert sorted(counts) == list(range(3, 10))
    assert stats.chisquare([counts[i] for i in range(3, 10)]).pvalue > ALPHA


def test_q_uniform_is_quantised_and_bounded():
    samples = draws({"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.1})
    assert_multiples(samples, 0.1)
    assert samples.min() >= 0 and samples.max() <= 1.0
    assert set(np.round(samples, 6)) == {round(0.1 * k, 6) for k in range(11)}
    ints = draws({"distribution": "q_uniform", "min": 0, "max": 20, "q": 5}, 500)
    assert set(ints.tolist()) == {0, 5, 10, 15, 20}
    assert all(isinstance(v, int) for v in ints.tolist())


def test_log_uniform_values_is_uniform_in_log():
    samples = draws({"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1})
    assert_uniform(np.log(samples), math.log(1e-5), math.log(1e-1))


def test_log_uniform_takes_exponents():
    samples = draws({"distribution": "log_uniform", "min": -4, "max": 1})
    assert_uniform(np.log(samples), -4, 1)


def test_inv_log_uniform():
    # exp(-x) for x uniform in [min, max]
    samples = draws({"distribution": "inv_log_uniform", "min": 1, "max": 4})
    assert_uniform(-np.log(samples), 1, 4)
    values = draws({"distribution": "inv_log_uniform_values", "min": 0.01, "max": 10})
    assert_uniform(np.log(values), math.log(0.01), math.log(10))


def test_q_log_uniform():
    samples = draws({"distribution": "q_log_uniform_values", "min": 1, "max": 1024, "q": 4})
    assert_multiples(samples, 4)
    assert samples.min() >= 0 and samples.max() <= 1024
    # Quantisation blurs the small end; above 64 the log is still uniform (within a step).
    big = samples[samples >= 64]
    assert abs(len(big) / DRAWS - (math.log(1024) - math.log(64)) / math.log(1024)) < 0.03
    exponents = draws({"distribution": "q_log_uniform", "min": 0, "max": 3, "q": 0.5})
    assert_multiples(exponents, 0.5)
    assert exponents.max() <= math.exp(3) + 0.25


def test_normal():
    samples = draws({"distribution": "normal", "mu": 5.0, "sigma": 2.0})
    assert abs(samples.mean() - 5.0) < 4 * 2.0 / math.sqrt(DRAWS)
    assert abs(samples.std() - 2.0) < 0.1
    assert stats.kstest(samples, stats.norm(5.0, 2.0).cdf).pvalue > ALPHA
    defaults = draws({"distribution": "normal"})
    assert abs(defaults.mean()) < 0.07 and abs(defaults.std() - 1) < 0.05


def test_q_normal():
    samples = draws({"distribution": "q_normal", "mu": 10, "sigma": 3, "q": 0.5})
    assert_multiples(samples, 0.5)
    assert abs(samples.mean() - 10) < 0.2 and abs(samples.std() - 3) < 0.15


def test_log_normal():
    samples = draws({"distribution": "log_normal", "mu": 1.0, "sigma": 0.5})
    assert samples.min() > 0
    logs = np.log(samples)
    assert abs(logs.mean() - 1.0) < 0.03 and abs(logs.std() - 0.5) < 0.03
    q = draws({"distribution": "q_log_normal", "mu": 2.0, "sigma": 0.5, "q": 2})
    assert_multiples(q, 2)
    assert abs(np.median(q) - math.exp(2.0)) < 1.0


def test_beta():
    samples = draws({"distribution": "beta", "a": 2, "b": 5})
    assert samples.min() >= 0 and samples.max() <= 1
    assert abs(samples.mean() - 2 / 7) < 0.01
    assert stats.kstest(samples, stats.beta(2, 5).cdf).pvalue > ALPHA
    q = draws({"distribution": "q_beta", "a": 5, "b": 1, "q": 0.25})
    assert_multiples(q, 0.25)
    assert set(q.tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert abs(q.mean() - 5 / 6) < 0.02


def test_categorical_is_even():
    samples = draws({"values": ["a", "b", "c", [1, 2]]})
    counts = Counter(str(v) for v in samples)
    assert len(counts) == 4
    assert stats.chisquare(list(counts.values())).pvalue > ALPHA


def test_categorical_with_probabilities():
    probs = [0.1, 0.2, 0.7]
    samples = draws({"values": ["x", "y", "z"], "probabilities": probs})
    counts = Counter(samples)
    observed = [counts[v] for v in ("x", "y", "z")]
    assert stats.chisquare(observed, [p * DRAWS for p in probs]).pvalue > ALPHA
    never = draws({"values": ["x", "y"], "probabilities": [0.0, 1.0]}, 500)
    assert set(never) == {"y"}


def test_constant():
    assert set(draws({"value": 7}, 20).tolist()) == {7}


def test_nested_parameters_arrive_nested():
    config = validate_config({"method": "random", "parameters": {
        "lr": {"min": 0.0, "max": 1.0},
        "model": {"parameters": {"layers": {"values": [1, 2]}, "act": {"value": "relu"},
                                 "opt": {"parameters": {"beta": {"distribution": "beta"}}}}}}})
    params = next_params(config, [], 1)
    assert set(params) == {"lr", "model"}
    assert set(params["model"]) == {"layers", "act", "opt"}
    assert params["model"]["act"] == "relu"
    assert 0 <= params["model"]["opt"]["beta"] <= 1


def test_random_search_is_deterministic_and_moves_on():
    config = validate_config({"method": "random", "parameters": {"a": {"min": 0.0, "max": 1.0}}})
    first = next_params(config, [], 42)
    assert next_params(config, [], 42) == first
    assert next_params(config, [], 43) != first
    # The same seed with one more run recorded: a new proposal.
    assert next_params(config, [SearchRun("r", first, "pending", {})], 42) != first


@pytest.mark.parametrize("spec", [
    {"distribution": "normal", "mu": 1, "sigma": 2},
    {"distribution": "q_log_uniform_values", "min": 1, "max": 100, "q": 3},
    {"distribution": "inv_log_uniform", "min": 0, "max": 2},
    {"distribution": "q_uniform", "min": -1, "max": 1, "q": 0.25},
    {"values": [{"a": 1}, [2], "s"], "probabilities": [0.2, 0.3, 0.5]},
    {"distribution": "q_beta", "a": 2, "b": 2, "q": 0.05},
])
def test_bayes_proposes_values_of_the_distribution(spec):
    config = validate_config({"method": "bayes", "metric": {"name": "m"},
                              "parameters": {"p": spec, "x": {"min": 0.0, "max": 1.0}}})
    random_config = {**config, "method": "random"}
    support = [next_params(random_config, [], s)["p"] for s in range(300)]
    runs = []
    for i in range(25):
        params = next_params(config, runs, 3)
        value = params["p"]
        if "values" in spec:
            assert value in spec["values"]
        else:
            lo, hi = min(support), max(support)
            span = hi - lo
            assert lo - 0.5 * span <= value <= hi + 0.5 * span
            if "q" in spec:
                assert abs(value / spec["q"] - round(value / spec["q"])) < 1e-9
        runs.append(SearchRun(str(i), params, "finished", {"m": float(i % 7)}))
