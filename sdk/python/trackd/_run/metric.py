"""``run.define_metric``: validation and the object it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackd._shared.history import GOALS, SUMMARY_OPS
from trackd.errors import Error


@dataclass(frozen=True)
class Metric:
    """A metric definition as made by ``define_metric``."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: str | None = None
    goal: str | None = None
    overwrite: bool | None = None

    def _to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step_metric": self.step_metric or "",
            "step_sync": bool(self.step_sync),
            "hidden": bool(self.hidden),
            "summary": [op.strip().lower() for op in (self.summary or "").split(",") if op.strip()],
            "goal": self.goal or "",
        }


def make_metric(
    name: Any,
    step_metric: Any = None,
    step_sync: Any = None,
    hidden: Any = None,
    summary: Any = None,
    goal: Any = None,
    overwrite: Any = None,
) -> Metric:
    """Validate define_metric arguments.

    :raises trackd.Error: an argument has the wrong type or value (W&B's message form).
    """
    if not isinstance(name, str) or not name:
        raise Error(f"Unhandled define_metric() arg: name (must be a non-empty str): {name!r}")
    if "*" in name[:-1]:
        raise Error(f"Unhandled define_metric() arg: name (glob '*' only at the end): {name!r}")
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    if step_metric is not None and not isinstance(step_metric, str):
        raise Error(f"Unhandled define_metric() arg: step_metric must be a str: {step_metric!r}")
    for arg, value in (("step_sync", step_sync), ("hidden", hidden), ("overwrite", overwrite)):
        if value is not None and not isinstance(value, bool):
            raise Error(f"Unhandled define_metric() arg: {arg} must be a bool: {value!r}")
    if summary is not None:
        if not isinstance(summary, str):
            raise Error(f"Unhandled define_metric() arg: summary must be a str: {summary!r}")
        for op in summary.split(","):
            op = op.strip().lower()
            if op and op not in SUMMARY_OPS:
                raise Error(f"Unhandled define_metric() arg: summary op: {op}")
    if goal is not None:
        if not isinstance(goal, str) or goal.lower() not in GOALS:
            raise Error(f"Unhandled define_metric() arg: goal must be 'minimize' or 'maximize': {goal!r}")
        goal = goal.lower()
    if step_metric and step_sync is None:
        step_sync = True
    return Metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)
