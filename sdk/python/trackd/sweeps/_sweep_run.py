"""``SweepRun``: a run as a controller's search and stopping callables see it (the shape of
W&B's ``sweeps.SweepRun``): ``name``, ``config`` as ``{name: {"value": v}}``,
``summary_metrics``, ``history``, ``state``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: States of a run that will not change again.
TERMINAL = frozenset({"finished", "failed", "crashed", "killed", "preempted"})


class SweepRun:
    """One run of a sweep, or a proposal (return one from a custom search: only ``config``
    matters then).

    ``config`` is ``{name: {"value": v}}`` (a plain ``{name: v}`` is accepted and converted);
    ``state`` one of "pending", "running", "finished", "failed", "crashed", "killed",
    "preempted"; ``history`` the run's history rows, read from the daemon the first time it is
    used; ``stopped`` whether the sweep stopped it early.
    """

    def __init__(self, name: str | None = None, config: Mapping[str, Any] | None = None,
                 summary_metrics: Mapping[str, Any] | None = None,
                 history: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]] | None = None,
                 state: str = "pending", stopped: bool = False, metric: float | None = None,
                 agent_id: str = "") -> None:
        self.name = name
        self.config: dict[str, dict[str, Any]] = as_sweep_config(config or {})
        self.summary_metrics: dict[str, Any] = dict(summary_metrics or {})
        self._history = history
        self.state = state
        self.stopped = stopped
        #: The run's value of the sweep's metric (None without one).
        self.metric = metric
        self.agent_id = agent_id

    @property
    def id(self) -> str | None:
        """The run id (``name``: W&B's sweep runs are named by their id)."""
        return self.name

    @property
    def history(self) -> list[dict[str, Any]]:
        if callable(self._history):
            self._history = list(self._history())
        return list(self._history or [])

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as ``{name: v}`` (what ``run.config`` gets)."""
        return {k: v.get("value") for k, v in self.config.items()}

    def __repr__(self) -> str:
        return f"SweepRun(name={self.name!r}, state={self.state!r}, config={self.config!r})"


def as_sweep_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: {"value": v}}`` from either that or ``{name: v}``."""
    if config and all(isinstance(v, Mapping) and "value" in v for v in config.values()):
        return {str(k): dict(v) for k, v in config.items()}
    return {str(k): {"value": v} for k, v in config.items()}
