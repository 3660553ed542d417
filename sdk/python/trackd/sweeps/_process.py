"""The command agent's runner: each proposal is the sweep's ``program``/``command`` run as a
child process with the parameters as arguments (:mod:`trackd.sweeps.command`) and the
environment and parameter files of :mod:`trackd.sweeps._params`.

A run the sweep stops, and the run in flight when the agent itself is stopped (Ctrl-C,
SIGTERM), gets SIGTERM, then SIGKILL after ``TRACKD_AGENT_KILL_DELAY`` /
``WANDB_AGENT_KILL_DELAY`` seconds (default 30); a second Ctrl-C kills it at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Any

from trackd._base import messages
from trackd._base.terminal import visible
from trackd.errors import UsageError
from trackd.sweeps import command as commands
from trackd.sweeps._guards import env_seconds
from trackd.sweeps._params import run_env, sweep_dir, write_json, write_yaml
from trackd.sweeps._proposal import AgentInterrupted, Outcome, Proposal

KILL_DELAY = 30.0
#: How often the runner looks at its child and at stop requests.
POLL = 0.1


def exit_code(returncode: int) -> int:
    """A child's exit status as a shell reports it: 128 + N after signal N."""
    return 128 - returncode if returncode < 0 else returncode


class CommandRunner:
    """Runs each proposal as the sweep's command (see the module doc)."""

    def __init__(self, config: dict[str, Any], root: str, settings: Any,
                 kill_delay: float | None = None) -> None:
        self._command = config.get("command")
        self._program = config.get("program")
        self._root = root
        self._settings = settings
        self.kill_delay = (kill_delay if kill_delay is not None
                           else env_seconds("AGENT_KILL_DELAY", KILL_DELAY, zero_ok=True))
        self._stop_lock = threading.Lock()
        self._stop: set[str] = set()

    def request_stop(self, run_id: str) -> None:
        with self._stop_lock:
            self._stop.add(run_id)

    def _stop_requested(self, run_id: str) -> bool:
        with self._stop_lock:
            return run_id in self._stop

    def close(self) -> None:
        """Nothing outlives a run: each child is waited for in :meth:`run`."""

    def command_line(self, proposal: Proposal) -> tuple[list[str], dict[str, str]]:
        """The argument list and environment of ``proposal``'s process (writes its parameter
        files)."""
        directory = sweep_dir(self._root, proposal.sweep_id)
        param_path = write_yaml(directory, proposal.run_id, proposal.params)
        argv = commands.render(
            self._command, self._program, proposal.params,
            lambda: str(write_json(directory, proposal.run_id, proposal.params)))
        env = {**os.environ, **run_env(proposal.sweep_id, proposal.run_id, param_path,
                                       proposal.entity, proposal.project)}
        return argv, env

    def run(self, proposal: Proposal) -> Outcome:
        try:
            argv, env = self.command_line(proposal)
        except (UsageError, OSError) as exc:
            messages.error(self._settings, visible(f"cannot start run {proposal.run_id}: {exc}"))
            return Outcome(1, failed=True)
        messages.info(self._settings, visible("About to run command: " + " ".join(argv)))
        try:
            proc = subprocess.Popen(argv, env=env)
        except OSError as exc:
            messages.error(self._settings, visible(f"cannot start run {proposal.run_id}: {exc}"))
            return Outcome(127 if isinstance(exc, FileNotFoundError) else 126, failed=True)
        try:
            stopped = self._wait(proc, proposal.run_id)
        except KeyboardInterrupt:
            self._terminate(proc, proposal.run_id)
            raise AgentInterrupted() from None
        code = exit_code(proc.returncode)
        return Outcome(code, failed=code != 0 and not stopped, stopped=stopped)

    def _wait(self, proc: subprocess.Popen[bytes], run_id: str) -> bool:
        """Wait for the child; stop it (SIGTERM, SIGKILL after the delay) once the sweep
        asks. Returns whether it was stopped."""
        kill_at: float | None = None
        while True:
            try:
                proc.wait(timeout=POLL)
                return kill_at is not None
            except subprocess.TimeoutExpired:
                pass
            if kill_at is None and self._stop_requested(run_id):
                messages.info(self._settings, visible(f"Stopping run {run_id} (asked by the "
                                                      "sweep)"))
                _signal(proc, signal.SIGTERM)
                kill_at = time.monotonic() + self.kill_delay
            elif kill_at is not None and time.monotonic() >= kill_at:
                _signal(proc, signal.SIGKILL)
                kill_at = float("inf")  # once

    def _terminate(self, proc: subprocess.Popen[bytes], run_id: str) -> None:
        """The agent is being stopped: SIGTERM the child, SIGKILL after the delay (or at a
        second Ctrl-C)."""
        if proc.poll() is not None:
            return
        messages.info(self._settings, visible(
            f"Stopping run {run_id}: SIGTERM now, SIGKILL in {self.kill_delay:g} s (Ctrl-C "
            "again to kill it now)"))
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=self.kill_delay)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
        except KeyboardInterrupt:
            _signal(proc, signal.SIGKILL)
        proc.wait()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass

