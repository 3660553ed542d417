"""Parameter importance of a sweep, as W&B's parameter importance panel shows it: for each
parameter, its correlation with the sweep's metric and its importance in a random forest that
predicts the metric from the parameters (pure, CPU-bound: call it from a worker thread).

Parameters are encoded as W&B does: a numeric parameter is one feature; a categorical one
(strings, and any value that is not a number) is one-hot encoded, one feature per value
(``optimizer.value_adam`` in W&B, ``optimizer=adam`` here); booleans are 0/1. The correlation is
Pearson's between the feature and the metric (None where either is constant); the importance is
scikit-learn's ``RandomForestRegressor.feature_importances_`` (mean decrease in impurity, summing
to 1 over the features).
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# NumPy is imported by the functions that use it: a daemon that computes no importance never
# loads it (see trackd_daemon.store.series).
if TYPE_CHECKING:
    import numpy as np

#: Runs the forest is fitted on (the newest ones past that): a sweep of a few thousand runs
#: still answers within a second on one core.
MAX_RUNS = 5000
#: Values of one categorical parameter encoded one-hot (the most frequent ones; the rest share
#: one ``(other)`` feature), so that a parameter with a value per run cannot blow the matrix up.
MAX_CATEGORIES = 20
#: Features in all (parameters beyond it, the ones with fewest runs, are left out).
MAX_FEATURES = 200
#: Trees of the forest; fixed seed so that a page shows the same numbers on every load.
TREES = 100
SEED = 0
#: Runs with a metric needed before there is anything to fit.
MIN_RUNS = 2
OTHER = "(other)"


@dataclass(frozen=True)
class Importance:
    """One feature: the parameter it encodes and, for a categorical one, the value."""

    feature: str
    param: str
    value: Any
    correlation: float | None
    importance: float | None

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "param": self.param, "value": self.value,
                "correlation": self.correlation, "importance": self.importance}


def _number(v: Any) -> float | None:
    """A finite number as float (bool as 0/1); None for anything else."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float) and math.isfinite(v):
        return float(v)
    return None


def _label(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _is_categorical(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return any(_number(v) is None for v in present) and not all(
        isinstance(v, bool) for v in present)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    import numpy as np

    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    r = float(np.corrcoef(x, y)[0, 1])
    return r if math.isfinite(r) else None


def _encode(rows: Sequence[Mapping[str, Any]], params: Sequence[str]) -> tuple[
        list[tuple[str, str, Any]], np.ndarray]:
    """The features (name, parameter, value) and the matrix (runs × features). A numeric
    parameter a run lacks gets the mean of the others (W&B fills it so too)."""
    import numpy as np

    features: list[tuple[str, str, Any]] = []
    columns: list[np.ndarray] = []
    for param in params:
        values = [row.get(param) for row in rows]
        if _is_categorical(values):
            labels = [_label(v) for v in values]
            counts = Counter(labels)
            kept = [label for label, _ in counts.most_common(MAX_CATEGORIES)]
            for label in kept:
                features.append((f"{param}={label}", param, label))
                columns.append(np.array([1.0 if v == label else 0.0 for v in labels]))
            if len(counts) > len(kept):
                features.append((f"{param}={OTHER}", param, OTHER))
                keep = set(kept)
                columns.append(np.array([0.0 if v in keep else 1.0 for v in labels]))
        else:
            nums = [_number(v) for v in values]
            known = [n for n in nums if n is not None]
            if not known:
                continue
            fill = sum(known) / len(known)
            features.append((param, param, None))
            columns.append(np.array([fill if n is None else n for n in nums]))
    matrix = np.column_stack(columns) if columns else np.zeros((len(rows), 0))
    return features, matrix


def parameter_importance(rows: Sequence[Mapping[str, Any]],
                         metrics: Sequence[float]) -> list[Importance]:
    """The importance of each parameter for the metric, most important first.

    ``rows``: each run's parameters by flat (dotted) name; ``metrics``: each run's metric
    (finite), in the same order. Fewer than ``MIN_RUNS`` runs give correlations and
    importances of None (nothing to fit).
    """
    import numpy as np

    if len(rows) != len(metrics):
        raise ValueError(f"{len(rows)} rows of parameters but {len(metrics)} metric values")
    rows, metrics = rows[-MAX_RUNS:], metrics[-MAX_RUNS:]
    seen: Counter[str] = Counter()
    for row in rows:
        seen.update(row.keys())
    params = sorted(seen, key=lambda p: (-seen[p], p))
    features, matrix = _encode(rows, params)
    if len(features) > MAX_FEATURES:
        features, matrix = features[:MAX_FEATURES], matrix[:, :MAX_FEATURES]
    y = np.asarray(metrics, dtype=float)
    if len(rows) < MIN_RUNS or not features:
        return [Importance(name, param, value, None, None) for name, param, value in features]
    correlations = [_pearson(matrix[:, i], y) for i in range(len(features))]
    if np.ptp(y) == 0:
        importances = [0.0] * len(features)  # a constant metric depends on nothing
    else:
        # scikit-learn is loaded on first use (in the worker thread that computes this): it
        # takes about half a second to import, and a daemon is started by a user's first
        # trackd.init(), which should not wait for a page it may never open.
        ensemble = importlib.import_module("sklearn.ensemble")
        forest = ensemble.RandomForestRegressor(n_estimators=TREES, random_state=SEED, n_jobs=1)
        forest.fit(matrix, y)
        importances = [float(v) for v in forest.feature_importances_]
    out = [Importance(name, param, value, correlations[i], importances[i])
           for i, (name, param, value) in enumerate(features)]
    out.sort(key=lambda f: (-(f.importance or 0.0), -abs(f.correlation or 0.0), f.feature))
    return out
