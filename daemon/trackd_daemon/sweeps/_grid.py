"""Grid search: every combination of the parameters' values once.

A combination is known by its values, not by the run that holds it: each value is written
as canonical JSON (keys sorted, a float that is a whole number written as the int, as W&B's
hash does), so a combination that any stored run holds, in any state, is never proposed again,
however often the search is asked and however many agents ask.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from . import _distributions as dists
from ._runs import SearchRun
from ._space import Param, is_missing, nest, params_of, value_at


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def value_key(value: Any) -> str:
    """The identity of one parameter value."""
    return json.dumps(_canonical(value), sort_keys=True, default=repr)


def _axes(config: dict[str, Any]) -> list[tuple[Param, list[Any]]]:
    return [(p, dists.grid_values(p.spec)) for p in params_of(config)]


def grid_size(config: dict[str, Any]) -> int:
    """The number of combinations of a grid sweep; 0 for other methods."""
    if config.get("method") != "grid":
        return 0
    return math.prod(len(values) for _, values in _axes(config))


def next_grid_params(config: dict[str, Any], runs: list[SearchRun]) -> dict[str, Any] | None:
    """The first combination (in the order of ``itertools.product`` over the parameters sorted
    by name) that no run holds yet; None when every one is taken."""
    axes = _axes(config)
    # Constants take part as one-value axes: a run that holds another value for a constant
    # (a prior run) does not take the grid's combination.
    seen: set[tuple[str, ...]] = set()
    for run in runs:
        key = []
        for param, _ in axes:
            value = value_at(run.params, param.path)
            if is_missing(value):
                break
            key.append(value_key(value))
        else:
            seen.add(tuple(key))
    keyed = [[(value_key(v), v) for v in values] for _, values in axes]
    for combo in itertools.product(*keyed):
        if tuple(k for k, _ in combo) not in seen:
            return nest([(param.path, v) for (param, _), (_, v) in zip(axes, combo, strict=True)])
    return None
