"""The sweep engine: configuration checks and the searches (grid, random, bayes) and early
termination (Hyperband) of W&B's sweeps, as pure functions of a configuration and the sweep's
runs. No I/O: the controller (``trackd_daemon.actors.sweeps``) reads the runs from the store,
calls these in a worker thread, and records what they return.

    validate_config(raw)                 → the config with defaults, or SweepConfigError
    next_params(config, runs, seed)      → the next run's parameters (None: grid exhausted, custom)
    runs_to_stop(config, runs)           → ids of running runs Hyperband stops
    best_run(config, runs)               → id of the best ended run
    metric_value(config, summary)        → a run's value of the metric
"""

from __future__ import annotations

import importlib
from typing import Any

from ._config import validate_config
from ._grid import grid_size, next_grid_params
from ._hyperband import runs_to_stop
from ._random import next_random_params
from ._runs import SearchRun, best_run, metric_value
from ._space import flatten_params, params_from_run_config

__all__ = [
    "SearchRun",
    "best_run",
    "flatten_params",
    "grid_size",
    "metric_value",
    "needs_history",
    "next_params",
    "params_from_run_config",
    "runs_to_stop",
    "validate_config",
]


def next_params(config: dict[str, Any], runs: list[SearchRun], seed: int) -> dict[str, Any] | None:
    """The next run's parameters, nested as run.config receives them; None when the search has
    nothing to propose (a grid whose every combination some run holds, or method custom, where
    the controller's own search schedules the runs).

    ``seed`` is the sweep's own, the same on every call: the searches mix the number of runs in
    themselves (so each recorded proposal leads to a new one), and bayes takes its first
    proposals from one Halton sequence per seed, which is evenly spread only when the seed
    stays the same through the sweep. The same (config, runs, seed) gives the same proposal.
    """
    method = config["method"]
    if method == "grid":
        return next_grid_params(config, runs)
    if method == "random":
        return next_random_params(config, runs, seed)
    if method == "bayes":
        # Loaded on the first bayes proposal: Optuna and SciPy are tens of MiB that a daemon
        # running no bayes sweep never needs (its memory is measured against W&B's).
        bayes = importlib.import_module("trackd_daemon.sweeps._bayes")
        return bayes.next_bayes_params(config, runs, seed)  # type: ignore[no-any-return]
    return None


def needs_history(config: dict[str, Any]) -> bool:
    """Whether the runs' metric histories are needed (early termination judges them)."""
    return bool(config.get("early_terminate"))
