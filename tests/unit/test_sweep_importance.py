"""Parameter importance of a sweep (the sweep page's panel): correlations and random-forest
importances over encoded parameters."""

from __future__ import annotations

import random

import pytest

from trackd_daemon.sweeps.importance import MAX_CATEGORIES, OTHER, parameter_importance


def _by_feature(rows, metrics):  # type: ignore[no-untyped-def]
    return {f.feature: f for f in parameter_importance(rows, metrics)}


def test_the_parameter_that_drives_the_metric_is_the_most_important() -> None:
    rng = random.Random(1)
    rows, metrics = [], []
    for _ in range(200):
        lr, noise, layers = rng.uniform(0, 1), rng.uniform(0, 1), rng.choice([1, 2, 3])
        rows.append({"lr": lr, "noise": noise, "layers": layers})
        metrics.append(3.0 * lr + 0.05 * noise)
    got = parameter_importance(rows, metrics)
    assert got[0].feature == "lr" and got[0].param == "lr" and got[0].value is None
    assert got[0].importance is not None and got[0].importance > 0.8
    assert sum(f.importance or 0 for f in got) == pytest.approx(1.0)
    by = {f.feature: f for f in got}
    assert by["lr"].correlation is not None and by["lr"].correlation > 0.95
    assert by["noise"].correlation is not None and abs(by["noise"].correlation) < 0.3
    # The same input gives the same numbers (a fixed seed: a page shows the same on reload).
    assert [f.to_json() for f in parameter_importance(rows, metrics)] == [
        f.to_json() for f in got]


def test_a_negative_correlation_keeps_its_sign() -> None:
    rows = [{"dropout": d / 10} for d in range(10)]
    by = _by_feature(rows, [1.0 - d / 10 for d in range(10)])
    assert by["dropout"].correlation == pytest.approx(-1.0)


def test_categorical_parameters_are_one_hot_encoded() -> None:
    rows, metrics = [], []
    for i in range(60):
        opt = ["adam", "sgd", "rmsprop"][i % 3]
        rows.append({"optimizer": opt, "batch": 32 if i % 2 else 64, "amsgrad": bool(i % 5)})
        metrics.append({"adam": 0.9, "sgd": 0.5, "rmsprop": 0.6}[opt])
    by = _by_feature(rows, metrics)
    assert {"optimizer=adam", "optimizer=sgd", "optimizer=rmsprop", "batch", "amsgrad"} == set(by)
    assert by["optimizer=adam"].param == "optimizer" and by["optimizer=adam"].value == "adam"
    assert by["optimizer=adam"].correlation is not None and by["optimizer=adam"].correlation > 0.9
    assert by["optimizer=sgd"].correlation is not None and by["optimizer=sgd"].correlation < 0
    assert by["amsgrad"].value is None  # booleans are 0/1, one feature
    top = max(by.values(), key=lambda f: f.importance or 0)
    assert top.param == "optimizer"
    assert (by["batch"].importance or 0) < 0.05


def test_many_categories_share_an_other_feature() -> None:
    rows = [{"seed_name": f"s{i}"} for i in range(MAX_CATEGORIES + 10)]
    by = _by_feature(rows, [float(i) for i in range(len(rows))])
    assert len(by) == MAX_CATEGORIES + 1 and f"seed_name={OTHER}" in by


def test_mixed_and_missing_values() -> None:
    # A parameter some runs lack (a numeric one is filled with the mean), one that is text in
    # one run (categorical), and a constant one (no correlation).
    rows = [{"lr": 0.1, "width": 3, "const": 1}, {"lr": 0.2, "const": 1},
            {"lr": 0.3, "width": "wide", "const": 1}, {"lr": 0.4, "width": 5, "const": 1}]
    by = _by_feature(rows, [1.0, 2.0, 3.0, 4.0])
    assert by["const"].correlation is None and by["const"].importance == 0.0
    assert {"width=3", "width=5", "width=wide", "width=null"} <= set(by)
    assert by["lr"].correlation == pytest.approx(1.0)


def test_too_few_runs_or_a_constant_metric() -> None:
    one = parameter_importance([{"lr": 0.1}], [1.0])
    assert [(f.feature, f.correlation, f.importance) for f in one] == [("lr", None, None)]
    flat = _by_feature([{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}], [1.0, 1.0, 1.0])
    assert flat["lr"].correlation is None and flat["lr"].importance == 0.0
    assert parameter_importance([], []) == []
    with pytest.raises(ValueError):
        parameter_importance([{"lr": 1}], [])
