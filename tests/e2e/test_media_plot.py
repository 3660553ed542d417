"""``trackd.plot``: the seed's PR curve example as written, each chart's table under
``<key>_table`` and W&B's Vega2 panel in ``_wandb.visualize.<key>``, the curves' values (as
scikit-learn computes them) and the confusion matrix's counts, read back through
``trackd.Api()``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trackd
from trackd import Api


def _visualize(run_path: str) -> dict:
    return Api().run(run_path).config["_wandb"]["visualize"]


def _table(run_path: str, key: str, tmp_path) -> trackd.Table:  # type: ignore[no-untyped-def]
    """The table logged under ``key``, made again from its history row and the run's file."""
    run = Api().run(run_path)
    (value,) = [row[key] for row in run.scan_history() if key in row]

    def source(path: str) -> str:
        run.file(path).download(root=str(tmp_path), replace=True).close()
        return str(tmp_path / path)

    return trackd.Table._from_json(value, source)


def _rows(table: trackd.Table, cls: str) -> list[list]:
    return [row[1:] for row in table.data if row[0] == cls]


def test_the_seed_pr_curve_example_as_written(clean_sdk, tmp_path):
    import trackd as wandb

    rng = np.random.default_rng(7)
    y_test = rng.integers(0, 3, 300)
    y_probas = rng.random((300, 3))
    y_probas[np.arange(300), y_test] += 1.0
    y_probas /= y_probas.sum(axis=1, keepdims=True)
    labels = ["cat", "dog", "bird"]

    # The seed's example, as written (but for the import line).
    run = wandb.init()
    run.log({"pr": wandb.plot.pr_curve(y_test, y_probas, labels)})
    run.finish()

    (row,) = list(Api().run(run.path).scan_history())
    assert "pr" not in row and row["pr_table"]["_type"] == "table-file"
    table = _table(run.path, "pr_table", tmp_path)
    assert table.columns == ["class", "precision", "recall"]
    assert sorted(set(table.get_column("class"))) == ["bird", "cat", "dog"]
    for name in labels:
        points = _rows(table, name)
        assert len(points) == 21  # interp_size
        assert [r for _, r in points] == [round(1 - i / 20, 3) for i in range(21)]
        precisions = [p for p, _ in points]
        assert precisions == sorted(precisions)  # made monotonic: highest at low recall
        assert precisions[-1] == 1.0
    panel = _visualize(run.path)["pr"]
    assert panel["panel_type"] == "Vega2"
    config = panel["panel_config"]
    assert config["panelDefId"] == "wandb/area-under-curve/v0"
    assert config["fieldSettings"] == {"x": "recall", "y": "precision", "class": "class"}
    assert config["stringSettings"] == {"title": "Precision-Recall Curve",
                                        "x-axis-title": "Recall", "y-axis-title": "Precision"}
    assert config["transform"] == {"name": "tableWithLeafColNames"}
    query = config["userQuery"]["queryFields"][0]
    assert {"name": "summaryTable", "args": [{"name": "tableKey", "value": "pr_table"}],
            "fields": []} in query["fields"]
    got = Api().artifact(f"run-{run.id}-pr_table:latest").get("pr_table")
    assert got.data == table.data


def test_curve_values_are_scikit_learns(clean_sdk, tmp_path):
    # scikit-learn's documented example: precision_recall_curve and roc_curve of these scores.
    y_true = [0, 0, 1, 1]
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    probas = np.stack([1 - scores, scores], axis=1)
    with trackd.init(project="plot-curves") as run:
        run.log({"roc": trackd.plot.roc_curve(y_true, probas, classes_to_plot=[1]),
                 "pr": trackd.plot.pr_curve(y_true, probas, interp_size=3)})
    roc = _table(run.path, "roc_table", tmp_path / "roc")
    assert roc.columns == ["class", "fpr", "tpr"]
    assert _rows(roc, 1) == [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]
    assert _rows(roc, 0) == []  # classes_to_plot
    pr = _table(run.path, "pr_table", tmp_path / "pr")
    # precision [0.5, 0.667, 0.5, 1, 1] at recall [1, 1, 0.5, 0.5, 0]; made monotonic from
    # recall 1 down: [0.5, 0.667, 0.667, 1, 1]; read by numpy.interp at recall 1, 0.5 and 0
    # (where a recall repeats, the point of the lowest threshold), as W&B reads it.
    assert _rows(pr, 1) == [[0.5, 1.0], [0.667, 0.5], [1.0, 0.0]]
    panel = _visualize(run.path)["roc"]["panel_config"]
    assert panel["panelDefId"] == "wandb/area-under-curve/v0"
    assert panel["fieldSettings"] == {"x": "fpr", "y": "tpr", "class": "class"}
    assert panel["stringSettings"]["title"] == "ROC Curve"


def test_confusion_matrix_counts(clean_sdk, tmp_path):
    y_true = [0, 1, 1, 2, 2, 2]
    preds = [0, 1, 2, 2, 2, 0]
    probs = np.eye(3)[preds] * 0.8 + 0.05
    with trackd.init(project="plot-cm") as run:
        run.log({"cm": trackd.plot.confusion_matrix(y_true=y_true, preds=preds,
                                                    class_names=["a", "b", "c"])})
        run.log({"cm2": trackd.plot.confusion_matrix(probs, y_true)})
    table = _table(run.path, "cm_table", tmp_path / "a")
    assert table.columns == ["Actual", "Predicted", "nPredictions"]
    counts = {(a, p): n for a, p, n in table.data}
    assert len(counts) == 9
    assert counts == {("a", "a"): 1, ("a", "b"): 0, ("a", "c"): 0,
                      ("b", "a"): 0, ("b", "b"): 1, ("b", "c"): 1,
                      ("c", "a"): 1, ("c", "b"): 0, ("c", "c"): 2}
    by_probs = _table(run.path, "cm2_table", tmp_path / "b")
    assert {(a, p): n for a, p, n in by_probs.data}[("Class_3", "Class_3")] == 2
    panel = _visualize(run.path)["cm"]["panel_config"]
    assert panel["panelDefId"] == "wandb/confusion_matrix/v1"
    assert panel["fieldSettings"] == {"Actual": "Actual", "Predicted": "Predicted",
                                      "nPredictions": "nPredictions"}
    assert panel["stringSettings"] == {"title": "Confusion Matrix Curve"}


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="not both"):
        trackd.plot.confusion_matrix(probs=np.eye(2), y_true=[0, 1], preds=[0, 1])
    with pytest.raises(ValueError, match="not both"):
        trackd.plot.confusion_matrix(y_true=[0, 1])
    with pytest.raises(ValueError, match="must match"):
        trackd.plot.confusion_matrix(y_true=[0, 1], preds=[0])
    with pytest.raises(ValueError, match="exceeds the number of class names"):
        trackd.plot.confusion_matrix(y_true=[0, 1, 2], preds=[0, 1, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="shapes"):
        trackd.plot.pr_curve([0, 1, 1], np.ones((2, 2)))


def test_table_charts_and_their_panels(clean_sdk, tmp_path):
    table = trackd.Table(columns=["x", "y", "kind"],
                         data=[[i, i * i, "even" if i % 2 == 0 else "odd"] for i in range(6)])
    with trackd.init(project="plot-charts") as run:
        run.log({"loss": 1.0})
        with pytest.raises(ValueError, match="column 'nope'"):
            run.log({"bad": trackd.plot.line(table, "x", "nope")})
        run.log({
            "line": trackd.plot.line(table, "x", "y", stroke="kind", title="squares"),
            "scatter": trackd.plot.scatter(table, "x", "y"),
            "bar": trackd.plot.bar(table, "kind", "y"),
            "hist": trackd.plot.histogram(table, "y", title="h"),
            "series": trackd.plot.line_series([1, 2, 3], [[1, 4, 9], [3, 2, 1]],
                                              keys=["up", "down"], xname="epoch"),
            "split": trackd.plot.scatter(table, "x", "y", split_table=True),
        })
    rows = list(Api().run(run.path).scan_history())
    assert rows[0]["loss"] == 1.0
    assert sorted(k for k in rows[1] if not k.startswith("_")) == [
        "Custom Chart Tables/split_table", "bar_table", "hist_table", "line_table",
        "scatter_table", "series_table"]
    panels = {k: v["panel_config"] for k, v in _visualize(run.path).items()}
    assert set(panels) == {"line", "scatter", "bar", "hist", "series", "split"}
    assert panels["line"]["panelDefId"] == "wandb/line/v0"
    assert panels["line"]["fieldSettings"] == {"x": "x", "y": "y", "stroke": "kind"}
    assert panels["line"]["stringSettings"] == {"title": "squares"}
    assert panels["scatter"]["panelDefId"] == "wandb/scatter/v0"
    assert panels["bar"]["panelDefId"] == "wandb/bar/v0"
    assert panels["bar"]["fieldSettings"] == {"label": "kind", "value": "y"}
    assert panels["hist"]["panelDefId"] == "wandb/histogram/v0"
    assert panels["hist"]["fieldSettings"] == {"value": "y"}
    assert panels["series"]["panelDefId"] == "wandb/lineseries/v0"
    assert panels["series"]["stringSettings"] == {"title": "", "xname": "epoch"}
    split_query = json.dumps(panels["split"]["userQuery"])
    assert '"value": "Custom Chart Tables/split_table"' in split_query
    series = _table(run.path, "series_table", tmp_path)
    assert series.columns == ["step", "lineKey", "lineVal"]
    assert series.data == [[1, "up", 1], [2, "up", 4], [3, "up", 9],
                           [1, "down", 3], [2, "down", 2], [3, "down", 1]]
    line = _table(run.path, "line_table", tmp_path / "line")
    assert line.data == table.data
    split = Api().artifact(f"plot-charts/run-{run.id}-Custom_Chart_Tables_split_table:latest")
    assert split.type == "run_table"
    assert split.get("Custom Chart Tables/split_table").data == table.data


def test_line_series_arguments():
    chart = trackd.plot.line_series([[0, 1], [5, 6, 7]], [[1, 2], [3, 4, 5]])
    assert chart.table.get_column("lineKey") == ["key_0"] * 2 + ["key_1"] * 3
    assert chart.table.get_column("step") == [0, 1, 5, 6, 7]
    with pytest.raises(ValueError, match="2 keys for 1 lines"):
        trackd.plot.line_series([1], [[1]], keys=["a", "b"])
    with pytest.raises(ValueError, match="has 2 values for 1 xs"):
        trackd.plot.line_series([1], [[1, 2]])
    with pytest.raises(TypeError, match="trackd.Table"):
        trackd.plot.line([[1, 2]], "x", "y")
