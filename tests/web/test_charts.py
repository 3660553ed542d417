"""Which charts a run page shows (pure)."""

from __future__ import annotations

from trackd_daemon.web.charts import layout


def test_sections_hidden_metrics_and_x_axes() -> None:
    keys = {"loss": 10, "train/loss": 10, "train/acc": 10, "a/b/c": 3, "val/loss": 2,
            "epoch": 2, "secret": 5, "_runtime": 10, "_timestamp": 10, "gpu/0/util": 4}
    metrics = [{"name": "val/*", "step_metric": "epoch"}, {"name": "secret", "hidden": True}]
    got = layout(keys, metrics)
    assert [s["name"] for s in got["sections"]] == ["", "a/b", "gpu/0", "train", "val"]
    by_section = {s["name"]: [c["key"] for c in s["charts"]] for s in got["sections"]}
    assert by_section[""] == ["epoch", "loss"]
    assert by_section["train"] == ["train/acc", "train/loss"]
    assert by_section["a/b"] == ["a/b/c"]
    assert got["hidden"] == ["secret"]
    val = got["sections"][-1]["charts"][0]
    assert (val["key"], val["points"], val["step_metric"]) == ("val/loss", 2, "epoch")
    assert got["x_axes"] == ["_step", "_runtime", "_timestamp", "epoch"]


def test_exact_definitions_win_over_globs() -> None:
    metrics = [{"name": "val/*", "hidden": True}, {"name": "val/acc", "step_metric": "epoch"}]
    got = layout({"val/acc": 1, "val/loss": 1, "epoch": 1}, metrics)
    assert got["hidden"] == ["val/loss"]
    assert [c["key"] for s in got["sections"] for c in s["charts"]] == ["epoch", "val/acc"]
