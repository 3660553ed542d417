"""What the engine knows of a sweep's runs, their metric, the best of them, and the values
imputed for runs that ended without one (W&B's rules)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ._config import is_number

PENDING = "pending"
RUNNING = "running"
FINISHED = "finished"
PREEMPTED = "preempted"
#: Ended without finishing: their metric is imputed as ``metric.impute`` says.
FAILED_STATES = ("failed", "crashed", "killed")
ENDED_STATES = (FINISHED, *FAILED_STATES)

# Keys of a define_metric summary ({"min": 0.1, "last": 0.3}) tried for each goal, in order.
_SUMMARY_KEYS = {"minimize": ("min", "best", "last", "mean", "first"),
                 "maximize": ("max", "best", "last", "mean", "first")}


@dataclass
class SearchRun:
    """One run of a sweep, as the controller knows it."""

    run_id: str
    #: The run's parameters, nested as run.config holds them.
    params: dict[str, Any]
    #: pending, running, finished, failed, crashed, killed or preempted.
    state: str
    #: The run's summary ({} while it has none).
    summary: dict[str, Any]
    #: The metric's values in logging order (filled only when ``needs_history(config)``).
    history: list[float] = field(default_factory=list)
    stopped_early: bool = False


def goal_of(config: dict[str, Any]) -> str:
    return config.get("metric", {}).get("goal", "minimize")


def metric_value(config: dict[str, Any], summary: dict[str, Any]) -> float | None:
    """The run's value of the sweep's metric from its summary, or None when it has none.

    The name is looked up as a plain key ("val/loss", "val.loss"), then through nested dicts
    for a dotted name; a define_metric summary (a dict such as ``{"min": x}``) gives the value
    that fits the goal.
    """
    metric = config.get("metric")
    if not metric or not summary:
        return None
    name = metric["name"]
    value = summary.get(name)
    if value is None and "." in name:
        node: Any = summary
        for key in name.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        value = node
    if isinstance(value, dict):
        picked = None
        for key in _SUMMARY_KEYS[goal_of(config)]:
            if is_number(value.get(key)):
                picked = value[key]
                break
        value = picked
    return float(value) if is_number(value) else None


def better(config: dict[str, Any], a: float, b: float) -> bool:
    """Whether ``a`` is strictly better than ``b`` for the goal."""
    return a > b if goal_of(config) == "maximize" else a < b


def best_run(config: dict[str, Any], runs: list[SearchRun]) -> str | None:
    """The id of the finished run with the best metric; when no finished run has one, the best
    among runs that ended otherwise; None when no ended run has a metric."""
    for states in ((FINISHED,), ENDED_STATES):
        best_id, best_value = None, None
        for run in runs:
            if run.state not in states:
                continue
            value = metric_value(config, run.summary)
            if value is not None and (best_value is None or better(config, value, best_value)):
                best_id, best_value = run.run_id, value
        if best_id is not None:
            return best_id
    return None


def own_values(config: dict[str, Any], run: SearchRun) -> list[float]:
    """Every value of the metric the run reported: its history, then its summary's."""
    values = [float(v) for v in run.history if is_number(v)]
    value = metric_value(config, run.summary)
    if value is not None:
        values.append(value)
    return values


def worst_value(config: dict[str, Any], runs: list[SearchRun]) -> float | None:
    """W&B's "worst": the worst value any ended run reported, or None when none did."""
    worst = None
    for run in runs:
        if run.state not in ENDED_STATES:
            continue
        for value in own_values(config, run):
            if worst is None or better(config, worst, value):
                worst = value
    return worst


def imputed_value(config: dict[str, Any], run: SearchRun, strategy: str,
                  worst: float | None) -> float | None:
    """The value a run without a usable metric counts with: ``best`` (its own best value),
    ``latest`` (its last one) or ``worst`` (``worst_value`` of the sweep's runs); a run that
    reported nothing of its own gets the worst. None when there is nothing to impute from."""
    values = own_values(config, run)
    if values and strategy == "best":
        return max(values) if goal_of(config) == "maximize" else min(values)
    if values and strategy == "latest":
        # The summary holds the latest value unless define_metric says otherwise; the history's
        # last entry is the latest logged.
        logged = [float(v) for v in run.history if is_number(v)]
        return logged[-1] if logged else values[-1]
    return worst


def run_metric(config: dict[str, Any], run: SearchRun) -> float | None:
    """A run's own best-known value of the metric: its summary's, else its history's best."""
    value = metric_value(config, run.summary)
    if value is not None:
        return value
    values = own_values(config, run)
    if not values:
        return None
    return max(values) if goal_of(config) == "maximize" else min(values)


def is_open(config: dict[str, Any], run: SearchRun) -> bool:
    """A run a search counts as under way, its value unknown: pending, preempted, or running
    (unless ``metric.impute_while_running`` gives running runs a value)."""
    if run.state in ENDED_STATES:
        return False
    return not (run.state == RUNNING
                and config["metric"].get("impute_while_running", "false") != "false")


def observed_value(config: dict[str, Any], run: SearchRun, worst: float | None) -> float | None:
    """The value a search counts a run that is not open (``is_open``) with: its metric, or the
    value ``metric.impute`` (``impute_while_running`` for a running run) gives it; None when
    there is none, or it is not finite."""
    if run.state == FINISHED:
        value = run_metric(config, run)
        if value is None:
            value = imputed_value(config, run, config["metric"]["impute"], worst)
    elif run.state == RUNNING:
        value = run_metric(config, run)
        if value is None:
            value = imputed_value(config, run, config["metric"]["impute_while_running"], worst)
    else:
        value = imputed_value(config, run, config["metric"]["impute"], worst)
    return value if value is not None and math.isfinite(value) else None
