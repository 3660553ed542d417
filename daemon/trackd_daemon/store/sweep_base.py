"""The sweep part of the store interface (:class:`SweepStore`; ``MetadataStore`` includes it):
sweeps, their configuration and state, and the runs each proposed. The search's state is these
rows: a search is rebuilt from its sweep runs (their parameters and the runs' metrics), so a
sweep outlives the daemon. Contract tests: ``tests/daemon/store/contract_sweeps.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackd_daemon.store.sweep_models import NewSweep, NewSweepRun, SweepInfo, SweepRunInfo


class SweepStore(Protocol):
    async def create_sweep(self, new: NewSweep) -> SweepInfo:
        """Store a sweep (state RUNNING; its entity/project created on first use).

        :raises InvalidArgumentError: the sweep id exists.
        """
        ...

    async def get_sweep(self, sweep_id: str) -> SweepInfo:
        """:raises SweepNotFoundError: no such sweep."""
        ...

    async def list_sweeps(self, entity: str = "", project: str = "") -> list[SweepInfo]:
        """Sweeps of a project (empty: any), newest first."""
        ...

    async def set_sweep_state(self, sweep_id: str, state: str, at: float) -> SweepInfo:
        """:raises SweepNotFoundError: no such sweep."""
        ...

    async def add_sweep_runs(self, sweep_id: str,
                             runs: Sequence[NewSweepRun]) -> list[SweepRunInfo]:
        """Record runs of a sweep in one transaction (a run id already recorded for the sweep
        is kept as it was). A prior run that exists and belongs to no sweep gets this sweep's id
        (``RunInfo.sweep_id``).

        :raises SweepNotFoundError: no such sweep.
        """
        ...

    async def claim_sweep_run(self, sweep_id: str, run_id: str, agent_id: str,
                              request_id: str) -> SweepRunInfo:
        """Give a queued sweep run (no agent yet) to ``agent_id`` for ``request_id``.

        :raises SweepNotFoundError: no such sweep or run.
        """
        ...

    async def find_sweep_claim(self, sweep_id: str, agent_id: str,
                               request_id: str) -> SweepRunInfo | None:
        """The sweep run ``agent_id`` took with ``request_id``, if any (a retried request)."""
        ...

    async def list_sweep_runs(self, sweep_id: str) -> list[SweepRunInfo]:
        """The sweep's runs in the order they were recorded, each joined with its run (by
        the sweep's entity, project and the run id).

        :raises SweepNotFoundError: no such sweep.
        """
        ...

    async def update_sweep_run(self, sweep_id: str, run_id: str, *,
                               stopped_early: bool | None = None,
                               agent_exit_code: int | None = None) -> None:
        """Mark a sweep run stopped early, or record the exit code its agent reported.

        :raises SweepNotFoundError: no such sweep or run.
        """
        ...
