"""Value types of the sweep part of the store (``sweep_base.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A sweep's states (``SweepState`` in sweep_service.proto, W&B's names).
SWEEP_RUNNING = "RUNNING"
SWEEP_PAUSED = "PAUSED"
SWEEP_FINISHED = "FINISHED"
SWEEP_CANCELED = "CANCELED"
SWEEP_STATES = (SWEEP_RUNNING, SWEEP_PAUSED, SWEEP_FINISHED, SWEEP_CANCELED)

#: A sweep run proposed but not started (no run of that id exists yet).
PENDING = "pending"


@dataclass(frozen=True)
class NewSweep:
    sweep_id: str
    entity: str
    project: str
    name: str
    #: The validated configuration, defaults filled in.
    config: dict[str, Any]
    owner_uid: int = -1
    created_at: float = 0.0


@dataclass(frozen=True)
class SweepKey:
    """A sweep's place (the access policy decides on its entity and project)."""

    entity: str
    project: str
    sweep_id: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}/{self.sweep_id}"


@dataclass
class SweepInfo:
    pk: int
    sweep_id: str
    entity: str
    project: str
    name: str
    config: dict[str, Any]
    state: str
    created_at: float
    updated_at: float
    owner_uid: int = -1
    #: Sweep runs recorded (prior runs included).
    run_count: int = 0

    @property
    def key(self) -> SweepKey:
        return SweepKey(self.entity, self.project, self.sweep_id)


@dataclass(frozen=True)
class NewSweepRun:
    run_id: str
    #: Parameters, nested as run.config holds them.
    params: dict[str, Any]
    #: The agent that took it and the request it answered ("" for a queued or prior run).
    agent_id: str = ""
    request_id: str = ""
    prior: bool = False
    created_at: float = 0.0


@dataclass
class SweepRunInfo:
    """A run of a sweep, with what the store knows of the run itself (``run_*`` fields: empty
    while no run of that id exists)."""

    sweep_pk: int
    run_id: str
    params: dict[str, Any]
    agent_id: str
    request_id: str
    prior: bool
    created_at: float
    stopped_early: bool = False
    #: The exit code an agent reported for the run's process (None: not reported).
    agent_exit_code: int | None = None
    #: The run's row: its pk (0: no run yet), state, name, summary and config.
    run_pk: int = 0
    run_state: str = ""
    run_name: str = ""
    run_summary: dict[str, Any] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)
    run_created_at: float = 0.0
    run_finished_at: float = 0.0

    @property
    def state(self) -> str:
        """The run's state, or ``pending`` before it starts; a process that ended before its
        run started (an agent reported its exit) is ``failed``."""
        if self.run_state:
            return self.run_state
        if self.agent_exit_code is not None:
            return "failed"
        return PENDING
