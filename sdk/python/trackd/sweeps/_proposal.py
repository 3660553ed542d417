"""What an agent is given (a :class:`Proposal`) and what it reports back (an
:class:`Outcome`), shared by the function and the command runners."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Proposal:
    """One run the daemon proposed: its id, parameters (nested as ``run.config`` holds
    them) and the entity and project it belongs to."""

    sweep_id: str
    run_id: str
    params: dict[str, Any]
    entity: str
    project: str

    @classmethod
    def from_response(cls, sweep_id: str, resp: Any) -> Proposal:
        params = json.loads(resp.params_json) if resp.params_json else {}
        if not isinstance(params, dict):
            params = {}
        return cls(sweep_id, resp.run_id, params, resp.entity, resp.project)


@dataclass(frozen=True)
class Outcome:
    """How a run's training ended: the exit code reported to the daemon, whether it counts
    as a failure for the agent's guards, and whether the agent stopped it on request."""

    exit_code: int
    failed: bool
    stopped: bool = False


class Runner(Protocol):
    """Runs one proposal to its end (the function in this process, or a command)."""

    def run(self, proposal: Proposal) -> Outcome: ...

    def request_stop(self, run_id: str) -> None: ...

    def close(self) -> None: ...


class RunStopped(KeyboardInterrupt):  # noqa: N818 - a KeyboardInterrupt, named as W&B's stop
    """Raised in a sweep function whose run the sweep stopped (early termination, a canceled
    sweep): a KeyboardInterrupt, so that training code reacts as to Ctrl-C."""


class AgentInterrupted(Exception):  # noqa: N818 - not an error: the user stopped the agent
    """The user stopped the agent (Ctrl-C, SIGTERM); the run in flight was stopped."""


def describe(params: Mapping[str, Any]) -> str:
    """The parameters as W&B's agent prints them: one ``\\tname: value`` line each."""
    return "\n".join(f"\t{k}: {v}" for k, v in params.items())
