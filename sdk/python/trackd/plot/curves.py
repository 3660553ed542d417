"""``trackd.plot.pr_curve``, ``roc_curve`` and ``confusion_matrix``: classifier charts with
W&B's signatures, tables and Vega specs, computed with NumPy (no scikit-learn needed; the
curves are computed as scikit-learn's ``precision_recall_curve`` and ``roc_curve`` do)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from trackd.media.table import Table
from trackd.plot.custom_chart import CustomChart

AREA_UNDER_CURVE = "wandb/area-under-curve/v0"


def pr_curve(y_true: Any = None, y_probas: Any = None, labels: Sequence[Any] | None = None,
             classes_to_plot: Sequence[Any] | None = None, interp_size: int = 21,
             title: str = "Precision-Recall Curve", split_table: bool = False) -> CustomChart:
    """The precision-recall curve of each class (one-vs-rest), precision interpolated at
    ``interp_size`` recall points from 1 to 0 (made monotonic, as W&B does).

    :param y_true: the true class of each sample.
    :param y_probas: each sample's probability of each class (samples × classes, in the
        order of the sorted distinct classes of ``y_true``).
    :param labels: names of the classes, indexed by the (integer) class.
    :param classes_to_plot: the classes to draw (default all).
    :raises ValueError: shapes that do not match.
    """
    import numpy as np

    truth, probas, classes = _inputs(y_true, y_probas, "pr_curve")
    recall_points = np.linspace(0.0, 1.0, interp_size)[::-1]
    table = Table(columns=["class", "precision", "recall"])
    for i in _indices(classes, classes_to_plot):
        precision, recall = _precision_recall(truth == classes[i], probas[:, i])
        precision = np.maximum.accumulate(precision)
        interpolated = np.interp(recall_points, recall[::-1], precision[::-1])
        name = _class_name(classes, i, labels)
        for p, r in zip(interpolated, recall_points, strict=True):
            table.add_data(name, round(float(p), 3), round(float(r), 3))
    return CustomChart(AREA_UNDER_CURVE, table,
                       {"x": "recall", "y": "precision", "class": "class"},
                       {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"},
                       split_table)


def roc_curve(y_true: Any = None, y_probas: Any = None, labels: Sequence[Any] | None = None,
              classes_to_plot: Sequence[Any] | None = None, title: str = "ROC Curve",
              split_table: bool = False) -> CustomChart:
    """The ROC curve (false positive rate, true positive rate) of each class, one-vs-rest;
    arguments as :func:`pr_curve`.

    :raises ValueError: shapes that do not match.
    """
    import numpy as np

    truth, probas, classes = _inputs(y_true, y_probas, "roc_curve")
    rows = []
    for i in _indices(classes, classes_to_plot):
        fpr, tpr = _roc(truth == classes[i], probas[:, i])
        name = _class_name(classes, i, labels)
        rows.extend([name, round(float(f), 3), round(float(t), 3)]
                    for f, t in zip(fpr, tpr, strict=True))
    if len(rows) > Table.MAX_ROWS:  # as W&B: a logged table holds at most MAX_ROWS points
        warnings.warn(f"roc_curve: only {Table.MAX_ROWS} of the curves' {len(rows)} points "
                      "are kept", UserWarning, stacklevel=2)
        keep = np.linspace(0, len(rows) - 1, Table.MAX_ROWS).round().astype(int)
        rows = [rows[k] for k in keep]
    table = Table(columns=["class", "fpr", "tpr"], data=rows)
    return CustomChart(AREA_UNDER_CURVE, table, {"x": "fpr", "y": "tpr", "class": "class"},
                       {"title": title, "x-axis-title": "False positive rate",
                        "y-axis-title": "True positive rate"}, split_table)


def confusion_matrix(probs: Any = None, y_true: Any = None, preds: Any = None,
                     class_names: Sequence[str] | None = None,
                     title: str = "Confusion Matrix Curve",
                     split_table: bool = False) -> CustomChart:
    """A confusion matrix: a row per (actual, predicted) pair of classes with the number of
    samples (columns ``Actual``, ``Predicted``, ``nPredictions``).

    :param probs: class probabilities per sample (the prediction is the most probable);
        give ``probs`` or ``preds``, not both.
    :param y_true: the true class index of each sample.
    :param preds: the predicted class index of each sample.
    :param class_names: the classes' names, by index (default ``Class_1``, ``Class_2``...).
    :raises ValueError: both or neither of ``probs`` and ``preds``, lengths that differ, or
        more classes than ``class_names``.
    """
    import numpy as np

    if (probs is None) == (preds is None):
        raise ValueError("Must provide probabilities or predictions but not both to "
                         "confusion matrix")
    if probs is not None:
        probs = np.asarray(probs)
        if probs.ndim != 2:
            raise ValueError(f"confusion_matrix: probs must be samples × classes, got shape "
                             f"{probs.shape} (give class indexes as preds=...)")
        preds = np.argmax(probs, axis=1)
    predicted = np.asarray(preds).tolist()
    actual = np.asarray(y_true).tolist() if y_true is not None else None
    if actual is None or len(actual) != len(predicted):
        raise ValueError("Number of predictions and label indices must match")
    if class_names is not None:
        names = list(class_names)
        if len(set(predicted)) > len(names):
            raise ValueError("The number of predicted classes exceeds the number of class names")
        if len(set(actual)) > len(names):
            raise ValueError("The number of true classes exceeds the number of class names")
        order = list(range(len(names)))
        unknown = (set(predicted) | set(actual)) - set(order)
        if unknown:
            raise ValueError(f"confusion_matrix: class indexes {sorted(unknown)} have no name "
                             f"in class_names ({len(names)} names)")
    else:
        order = sorted(set(predicted) | set(actual))
        names = [f"Class_{i + 1}" for i in range(len(order))]
    index = {c: i for i, c in enumerate(order)}
    counts = np.zeros((len(order), len(order)), dtype=np.int64)
    for a, p in zip(actual, predicted, strict=True):
        counts[index[a], index[p]] += 1
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(len(order)):
        for j in range(len(order)):
            table.add_data(names[i], names[j], int(counts[i, j]))
    return CustomChart("wandb/confusion_matrix/v1", table,
                       {"Actual": "Actual", "Predicted": "Predicted",
                        "nPredictions": "nPredictions"}, {"title": title}, split_table)


# -- the computations ----------------------------------------------------------------------------


def _inputs(y_true: Any, y_probas: Any, what: str) -> tuple[Any, Any, Any]:
    import numpy as np

    if y_true is None or y_probas is None:
        raise ValueError(f"{what}: give y_true and y_probas")
    truth = np.asarray(y_true)
    probas = np.asarray(y_probas, dtype=np.float64)
    if probas.ndim == 1:
        probas = np.stack([1.0 - probas, probas], axis=1)  # a binary classifier's scores
    if truth.ndim != 1 or probas.ndim != 2 or len(truth) != len(probas):
        raise ValueError(f"{what}: y_true must hold one class per sample and y_probas one row "
                         f"of class probabilities per sample; got shapes {truth.shape} and "
                         f"{probas.shape}")
    classes = np.unique(truth)
    if probas.shape[1] < len(classes):
        raise ValueError(f"{what}: y_true has {len(classes)} classes but y_probas only "
                         f"{probas.shape[1]} columns")
    return truth, probas, classes


def _indices(classes: Any, classes_to_plot: Sequence[Any] | None) -> list[int]:
    if classes_to_plot is None:
        return list(range(len(classes)))
    wanted = set(classes_to_plot)
    return [i for i, c in enumerate(classes.tolist()) if c in wanted]


def _class_name(classes: Any, i: int, labels: Sequence[Any] | None) -> Any:
    import numpy as np

    value = classes[i]
    if labels is not None and isinstance(value, (int, np.integer)):
        return labels[int(value)]
    return value.item() if hasattr(value, "item") else value


def _counts(positive: Any, scores: Any) -> tuple[Any, Any]:
    """True and false positives at each distinct threshold, highest score first."""
    import numpy as np

    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, positive = scores[order], positive[order].astype(np.float64)
    last = np.r_[np.where(np.diff(scores))[0], positive.size - 1]
    tps = np.cumsum(positive)[last]
    return tps, 1 + last - tps


def _precision_recall(positive: Any, scores: Any) -> tuple[Any, Any]:
    """Precision and recall from the highest threshold to the lowest, ending at recall 0 and
    precision 1 (scikit-learn's ``precision_recall_curve``, reversed)."""
    import numpy as np

    tps, fps = _counts(positive, scores)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    recall = np.ones_like(tps) if tps[-1] == 0 else tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]


def _roc(positive: Any, scores: Any) -> tuple[Any, Any]:
    """False and true positive rates, starting at (0, 0), without the points on a straight
    segment (scikit-learn's ``roc_curve`` with ``drop_intermediate``)."""
    import numpy as np

    tps, fps = _counts(positive, scores)
    if tps.size > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        tps, fps = tps[keep], fps[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    fpr = np.full_like(fps, np.nan) if fps[-1] <= 0 else fps / fps[-1]
    tpr = np.full_like(tps, np.nan) if tps[-1] <= 0 else tps / tps[-1]
    return fpr, tpr
