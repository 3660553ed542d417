"""The sweep controller's messages and answers (``actors/sweeps.py``), and the engine's view
of a sweep's runs (:func:`search_runs`, shared with the gRPC layer)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trackd_daemon.actors.base import Reply
from trackd_daemon.store.sweep_models import SweepInfo, SweepRunInfo
from trackd_daemon.sweeps import SearchRun


@dataclass(frozen=True)
class Proposal:
    """A run for an agent to start."""

    run_id: str
    params: dict[str, Any]
    entity: str
    project: str


@dataclass(frozen=True)
class NoRun:
    """Nothing to start: ``done`` (the sweep gives no more runs), or ask again."""

    done: bool
    state: str
    reason: str


# -- messages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    entity: str
    project: str
    config: Any
    prior_runs: Sequence[str]
    owner_uid: int
    reply: Reply[SweepInfo]


@dataclass(frozen=True)
class SetState:
    sweep_id: str
    action: str
    reply: Reply[SweepInfo]


@dataclass(frozen=True)
class Next:
    sweep_id: str
    agent_id: str
    request_id: str
    #: ``anyio.current_time()`` after which nobody waits for the answer.
    deadline: float
    reply: Reply[Proposal | NoRun]


@dataclass(frozen=True)
class Heartbeat:
    sweep_id: str
    agent_id: str
    running: Sequence[str]
    exits: Sequence[tuple[str, int]]
    reply: Reply[tuple[list[str], str]]


@dataclass(frozen=True)
class Schedule:
    sweep_id: str
    params: Sequence[dict[str, Any]]
    reply: Reply[list[SweepRunInfo]]


@dataclass(frozen=True)
class Preview:
    sweep_id: str
    reply: Reply[dict[str, Any] | None]


@dataclass(frozen=True)
class Stop:
    sweep_id: str
    run_ids: Sequence[str]
    only_candidates: bool
    reply: Reply[list[str]]


@dataclass(frozen=True)
class Check:
    """Runs of the sweeps in :attr:`SweepController._dirty` logged or ended."""


SweepMsg = Create | SetState | Next | Heartbeat | Schedule | Preview | Stop | Check


def search_runs(config: dict[str, Any], runs: Iterable[SweepRunInfo],
                histories: dict[str, list[float]] | None = None) -> list[SearchRun]:
    """The search's view of a sweep's runs."""
    histories = histories or {}
    return [SearchRun(run_id=r.run_id, params=r.params, state=r.state, summary=r.run_summary,
                      history=histories.get(r.run_id, []), stopped_early=r.stopped_early)
            for r in runs]
