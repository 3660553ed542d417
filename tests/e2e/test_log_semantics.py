"""log() step/commit rules (wandb-semantics §2.5), values round-trip, summary and
define_metric, against the real daemon."""

from __future__ import annotations

import math

import pytest

import trackd
from trackd import Api


def rows_of(run: trackd.Run) -> list[dict]:
    if not run._finished:
        run.summary.keys()  # a summary read waits until everything logged is in the store
    return list(Api().run(run.path).scan_history())


def user_rows(run: trackd.Run) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("_runtime", "_timestamp")} for r in rows_of(run)]


def test_each_log_is_a_step(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"a": 1})
    run.log({"a": 2})
    assert run.step == 2
    run.finish()
    assert user_rows(run) == [{"a": 1, "_step": 0}, {"a": 2, "_step": 1}]


def test_commit_false_accumulates_into_one_row(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"loss": 0.5}, commit=False)
    assert run.step == 0
    run.log({"acc": 0.8})
    run.log({"loss": 0.4}, commit=False)
    run.log({"acc": 0.9})
    run.finish()
    assert user_rows(run) == [
        {"loss": 0.5, "acc": 0.8, "_step": 0},
        {"loss": 0.4, "acc": 0.9, "_step": 1},
    ]


def test_explicit_step_accumulates_until_a_later_step(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"loss": 0.5}, step=0)
    run.log({"acc": 0.8}, step=0)
    assert run.step == 0
    run.log({"loss": 0.4}, step=1)
    run.log({"acc": 0.9}, step=1)
    # step 1 is still pending: only step 0 is written
    assert user_rows(run) == [{"loss": 0.5, "acc": 0.8, "_step": 0}]
    run.finish()  # exit writes the pending row
    assert user_rows(run)[-1] == {"loss": 0.4, "acc": 0.9, "_step": 1}


def test_step_with_commit_true_writes_at_once(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"x": 1}, step=5, commit=True)
    assert run.step == 6
    assert user_rows(run) == [{"x": 1, "_step": 5}]
    run.log({"x": 2})
    run.finish()
    assert user_rows(run) == [{"x": 1, "_step": 5}, {"x": 2, "_step": 6}]


def test_backwards_step_warns_and_drops(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"a": 10}, step=10)
    with pytest.warns(UserWarning, match="less than the current step 10"):
        run.log({"dropped": 5}, step=5)
    run.log({"b": 1})
    run.finish()
    assert user_rows(run) == [{"a": 10, "b": 1, "_step": 10}]


def test_empty_log_advances_the_step(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"a": 1})
    run.log({})
    run.log({"a": 3})
    run.finish()
    assert [r["_step"] for r in user_rows(run)] == [0, 2]


def test_runtime_and_timestamp_are_added(clean_sdk):
    run = trackd.init(project="sem")
    run.log({"a": 1})
    run.log({"a": 2, "_timestamp": 1234.5})
    run.finish()
    rows = rows_of(run)
    assert rows[0]["_runtime"] >= 0 and rows[0]["_timestamp"] > 1e9
    assert rows[1]["_timestamp"] == 1234.5


def test_values_round_trip_exactly(clean_sdk):
    run = trackd.init(project="values")
    values = {
        "nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "negzero": -0.0,
        "imax": 2**63 - 1, "imin": -(2**63), "one_int": 1, "one_float": 1.0,
        "t": True, "f": False, "none": None, "text": "héllo wörld ✓",
        "nested": {"a": {"b": [1, 2.5, None, "x", [True, {"deep": -1}]]}, "empty": {}},
        "list": [], "tuple": (1, 2), "ключ": 7, "🔑": "emoji key",
    }
    run.log(values)
    run.finish()
    (row,) = rows_of(run)
    assert math.isnan(row["nan"])
    assert row["inf"] == math.inf and row["ninf"] == -math.inf
    assert math.copysign(1.0, row["negzero"]) == -1.0
    assert row["imax"] == 2**63 - 1 and row["imin"] == -(2**63)
    assert type(row["one_int"]) is int and type(row["one_float"]) is float
    assert row["t"] is True and row["f"] is False and row["none"] is None
    assert row["text"] == "héllo wörld ✓"
    assert row["nested"] == {"a": {"b": [1, 2.5, None, "x", [True, {"deep": -1}]]}, "empty": {}}
    assert row["list"] == [] and row["tuple"] == [1, 2]
    assert row["ключ"] == 7 and row["🔑"] == "emoji key"
    summary = Api().run(run.path).summary
    assert summary["imax"] == 2**63 - 1 and math.isnan(summary["nan"])


def test_numpy_values(clean_sdk):
    np = pytest.importorskip("numpy")
    run = trackd.init(project="values")
    run.log({"f32": np.float32(0.5), "i64": np.int64(-3), "b": np.bool_(True),
             "small": np.arange(4), "big": np.arange(100, dtype=np.float64)})
    run.finish()
    (row,) = rows_of(run)
    assert row["f32"] == 0.5 and row["i64"] == -3 and row["b"] is True
    assert row["small"] == [0, 1, 2, 3]
    assert row["big"]["_type"] == "histogram" and sum(row["big"]["values"]) == 100
    assert len(row["big"]["bins"]) == 33


def test_summary_is_last_value_and_explicit_sets(clean_sdk):
    run = trackd.init(project="summary")
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1), "nested": {"a": i, "b": {"c": i * 2}}})
    assert run.summary["loss"] == 0.2
    assert run.summary.loss == 0.2
    assert run.summary["nested"]["b"]["c"] == 8
    run.summary["best"] = 42
    run.summary.update({"extra": "x"})
    run.summary["nested"]["a"] = -1
    assert run.summary["best"] == 42 and run.summary["nested"]["a"] == -1
    del run.summary["extra"]
    assert "extra" not in run.summary
    assert {"loss", "nested", "best", "_step", "_runtime"} <= set(run.summary.keys())
    run.finish()
    stored = Api().run(run.path).summary
    assert stored["loss"] == 0.2 and stored["best"] == 42 and "extra" not in stored
    assert stored["nested"] == {"a": -1, "b": {"c": 8}}


def test_define_metric_summaries(clean_sdk):
    run = trackd.init(project="metrics")
    run.define_metric("loss", summary="min,max,mean,first,last")
    run.define_metric("acc", summary="max")
    run.define_metric("val", summary="best", goal="maximize")
    run.define_metric("hidden_one", summary="none")
    for v in (3.0, 1.0, 2.0):
        run.log({"loss": v, "acc": v, "val": v, "hidden_one": v, "plain": v})
    s = run.summary
    assert s["loss"] == {"min": 1.0, "max": 3.0, "mean": 2.0, "first": 3.0, "last": 2.0}
    assert s["acc"] == {"max": 3.0}
    assert s["val"] == {"best": 3.0}
    assert "hidden_one" not in s
    assert s["plain"] == 2.0
    # An explicit value ends the aggregation of that key (as in W&B).
    run.summary["acc"] = 42
    run.log({"acc": 5.0})
    assert run.summary["acc"] == 5.0
    run.finish()
    assert Api().run(run.path).summary["loss"]["min"] == 1.0


def test_define_metric_globs_and_step_metric(clean_sdk):
    run = trackd.init(project="metrics")
    run.define_metric("train/step")
    run.define_metric("train/*", step_metric="train/step", summary="max")
    run.log({"train/step": 1, "train/loss": 0.5})
    run.log({"train/loss": 0.7})  # step_sync inserts the last train/step
    run.log({"_hidden_key": 1, "other": 2})
    run.finish()
    rows = rows_of(run)
    assert rows[1]["train/step"] == 1
    s = Api().run(run.path).summary
    assert s["train/loss"] == {"max": 0.7}
    assert s["other"] == 2
    defs = {m["name"]: m for m in Api().run(run.path).metrics}
    assert defs["train/*"]["step_metric"] == "train/step"


def test_define_metric_bad_arguments(clean_sdk):
    run = trackd.init(project="metrics")
    with pytest.raises(trackd.Error, match="summary op: bogus"):
        run.define_metric("x", summary="bogus")
    with pytest.raises(trackd.Error):
        run.define_metric("a*b")
    with pytest.raises(trackd.Error):
        run.define_metric("")
    with pytest.raises(trackd.Error):
        run.define_metric("x", goal="up")
    m = run.define_metric("x", step_metric="epoch")
    assert m.step_sync is True
    run.finish()


def test_module_level_functions(clean_sdk):
    assert trackd.run is None
    with pytest.raises(trackd.Error):
        trackd.log({"a": 1})
    with pytest.raises(trackd.Error):
        trackd.config["x"]  # noqa: B018
    run = trackd.init(project="module", config={"lr": 0.1})
    assert trackd.run is run
    trackd.log({"a": 1})
    trackd.define_metric("a", summary="max")
    trackd.log({"a": 3})
    assert trackd.config.lr == 0.1
    assert trackd.summary["a"] == {"max": 3}
    trackd.finish()
    assert trackd.run is None
    assert Api().run(run.path).state == "finished"
