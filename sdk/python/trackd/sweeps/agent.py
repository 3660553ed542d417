"""``trackd.agent()``: take runs from a sweep and run them until it is done.

The agent asks the daemon for its next run (``NextRun``, a long wait: the daemon answers as
soon as a proposal exists), runs it — the user's function in this process, or the sweep's
command as a child process — reports how it ended, and asks again; until the sweep is done
(finished, canceled, a grid exhausted, ``run_cap`` reached), ``count`` runs were started, a
failure guard trips (:mod:`trackd.sweeps._guards`) or the user stops it.

A daemon restart does not lose a proposal: ``NextRun`` is retried with the same request id
until the daemon answers (the daemon gives the same run to a retried request); only an answer
makes the agent use a new request id.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Callable
from typing import Any

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._transport.setup import state
from trackd._transport.sweep_client import (
    CANCELED,
    FINISHED,
    PAUSED,
    STATE_NAMES,
    SweepClient,
    SweepPath,
    config_of,
    parse_path,
    path_of,
)
from trackd.errors import CommError, UsageError
from trackd.sweeps._function import FunctionRunner
from trackd.sweeps._guards import FailureGuard
from trackd.sweeps._heartbeat import Heartbeat
from trackd.sweeps._process import CommandRunner
from trackd.sweeps._proposal import AgentInterrupted, Proposal, Runner, describe

#: Sweep states in which an agent gets no more runs.
OVER = (FINISHED, CANCELED)


def agent(sweep_id: str, function: Callable[[], Any] | None = None, entity: str | None = None,
          project: str | None = None, count: int | None = None) -> None:
    """Run sweep runs until the sweep is done (W&B's ``wandb.agent``).

    ``sweep_id`` is ``"ID"``, ``"PROJECT/ID"`` or ``"ENTITY/PROJECT/ID"`` (``entity`` and
    ``project`` fill what it leaves out). With ``function``, each run calls it in this process
    (``trackd.init()`` inside gets the run's parameters, locked, in ``run.config``); without,
    each run is the sweep's ``program``/``command`` as a child process. ``count``: at most
    this many runs. Returns when the sweep gives no more runs, after ``count`` runs, when a
    failure guard stops the agent, or after Ctrl-C (which stops the run in flight).

    :raises trackd.errors.SweepNotFoundError: there is no such sweep.
    :raises UsageError: a bad ``sweep_id`` or ``count``.
    """
    try:
        Agent(sweep_id, function, entity, project, count).run()
    except AgentInterrupted:
        messages.warning(None, "Ctrl + C detected. Stopping sweep.")


class Agent:
    """One agent (see the module doc); :meth:`run` raises :class:`AgentInterrupted` when the
    user stopped it."""

    def __init__(self, sweep_id: str, function: Callable[[], Any] | None = None,
                 entity: str | None = None, project: str | None = None,
                 count: int | None = None) -> None:
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or count < 1):
            raise UsageError(f"count must be a positive integer or None, got {count!r}")
        if function is not None and not callable(function):
            raise UsageError(f"function must be callable, got {type(function).__name__}")
        self.path: SweepPath = parse_path(sweep_id, entity, project)
        self.function = function
        self.count = count
        self.agent_id = uuid.uuid4().hex
        self.client = SweepClient()
        self.settings = state().settings
        #: Runs started, and how many of them failed.
        self.started = 0
        self.guard = FailureGuard()

    def run(self) -> None:
        sweep = self.client.get(self.path)  # SweepNotFoundError before anything else
        self.path = path_of(sweep)
        if sweep.state in OVER:
            messages.info(self.settings, visible(
                f"Sweep {self.path} is {STATE_NAMES[sweep.state]}: the agent has nothing to "
                "run"))
            return
        config = config_of(sweep)
        root = self.settings.root_dir or os.getcwd()
        runner: Runner = (FunctionRunner(self.function, root, self.settings)
                          if self.function is not None
                          else CommandRunner(config, root, self.settings))
        heartbeat = Heartbeat(self.client, self.path, self.agent_id, _stopper(runner))
        messages.info(self.settings, visible(f"Starting agent {self.agent_id} for sweep "
                                             f"{self.path}"))
        restore = _sigterm_interrupts()
        heartbeat.start()
        try:
            self._loop(runner, heartbeat)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM while waiting for a run
            raise AgentInterrupted() from None
        finally:
            heartbeat.close()
            runner.close()
            restore()

    def _loop(self, runner: Runner, heartbeat: Heartbeat) -> None:
        request_id = uuid.uuid4().hex
        paused_said = False
        while self.count is None or self.started < self.count:
            resp = self.client.next_run(self.path, self.agent_id, request_id)
            request_id = uuid.uuid4().hex  # answered: the next request is a new one
            if resp.done:
                why = resp.reason or STATE_NAMES.get(resp.state, "done")
                messages.info(self.settings, visible(
                    f"Sweep {self.path} gives no more runs ({why}); the agent exits"))
                return
            if not resp.run_id:
                if resp.state == PAUSED and not paused_said:
                    messages.info(self.settings, visible(
                        f"Sweep {self.path} is paused; waiting for it to resume"))
                    paused_said = True
                continue
            paused_said = False
            proposal = Proposal.from_response(self.path.sweep_id, resp)
            self.started += 1
            messages.info(self.settings, visible(
                f"Agent Starting Run: {proposal.run_id} with config:\n"
                f"{describe(proposal.params)}", multiline=True))
            heartbeat.started(proposal.run_id)
            try:
                outcome = runner.run(proposal)
            except AgentInterrupted:
                heartbeat.ended(proposal.run_id, 255)
                raise
            heartbeat.ended(proposal.run_id, outcome.exit_code)
            heartbeat.beat(survive_restarts=True)
            if outcome.stopped:
                messages.info(self.settings, visible(f"Run {proposal.run_id} was stopped by "
                                                     "the sweep"))
            failed = outcome.failed and not self._stopped_by_sweep(proposal.run_id)
            stop = self.guard.record(failed)
            if stop:
                messages.error(self.settings, stop)
                return

    def _stopped_by_sweep(self, run_id: str) -> bool:
        """Whether the sweep stopped this run (its process then exits non-zero without having
        failed): the daemon's stop reaches a run's process through the run itself too."""
        try:
            sweep = self.client.get(self.path)
        except CommError:
            return False
        return any(r.run_id == run_id and (r.stopped_early or r.state == "killed")
                   for r in sweep.runs)


def _stopper(runner: Runner) -> Callable[[list[str]], None]:
    def stop(run_ids: list[str]) -> None:
        for run_id in run_ids:
            runner.request_stop(run_id)

    return stop


def _sigterm_interrupts() -> Callable[[], None]:
    """On the main thread, SIGTERM stops the agent as Ctrl-C does (the run in flight is
    stopped first); returns what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    return lambda: signal.signal(signal.SIGTERM, previous)
