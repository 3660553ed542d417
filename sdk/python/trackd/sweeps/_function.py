"""The function agent's runner: each proposal calls the user's function in this process.

Before each call, as W&B's agent does, the runs this process left open are finished, the
parameters are written to ``config-<run_id>.yaml`` and the run's environment is set
(``TRACKD_SWEEP_ID``/``WANDB_SWEEP_ID``, ``..._RUN_ID``, ``..._SWEEP_PARAM_PATH``,
``..._PROJECT``, ``..._ENTITY``), so that ``trackd.init()`` inside picks them up
(:mod:`trackd._init.sweep_init`). The environment is put back when the agent ends.

Stopping a run (early termination, a canceled sweep) raises :class:`RunStopped` (a
``KeyboardInterrupt``) in the function: on the main thread through a SIGINT handler of the
agent's (the daemon's stop request, :mod:`trackd._run.stop`, is delivered as a simulated
SIGINT), on another thread as an asynchronous exception. The run ends ``killed`` and the agent
goes on. A real Ctrl-C (a SIGINT with no stop pending) stops the agent.

The environment and the current run are the process's: one function agent runs in a process
at a time (as in W&B); agents that share a sweep run in processes of their own, or as command
agents.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._run import stop as _run_stop
from trackd._transport.setup import state
from trackd.sweeps._params import run_env, sweep_dir, write_yaml
from trackd.sweeps._proposal import AgentInterrupted, Outcome, Proposal, RunStopped

#: The exit code reported for a run the sweep stopped, and after Ctrl-C (as Python's).
STOPPED_EXIT = 255


class FunctionRunner:
    """Calls ``function`` once per proposal (see the module doc)."""

    def __init__(self, function: Callable[[], Any], root: str, settings: Any) -> None:
        self._function = function
        self._root = root
        self._settings = settings
        self._main = threading.current_thread() is threading.main_thread()
        self._thread_id = threading.get_ident()
        # Reentrant: the SIGINT handler runs on the main thread, possibly while it holds it.
        self._lock = threading.RLock()
        self._current: str | None = None
        self._stop_pending = False
        self._stop_delivered = False
        self._saved_env: dict[str, str | None] = {}
        self._redirected: list[str] = []
        self._previous_handler: Any = None
        if self._main:
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    # -- stopping ------------------------------------------------------------------------------

    def request_stop(self, run_id: str) -> None:
        """Stop the function if it is running ``run_id`` (once; later requests are no-ops)."""
        with self._lock:
            if run_id != self._current or self._stop_pending:
                return
            self._stop_pending = True
        if self._main:
            _thread.interrupt_main()
        else:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id),
                                                       ctypes.py_object(RunStopped))

    def _on_sigint(self, signum: int, frame: Any) -> None:
        with self._lock:
            if self._stop_pending:
                if self._current is not None and not self._stop_delivered:
                    self._stop_delivered = True
                    raise RunStopped()
                return  # the same stop again, or one for a run that has ended
        raise KeyboardInterrupt

    # -- one run -------------------------------------------------------------------------------

    def run(self, proposal: Proposal) -> Outcome:
        _finish_open_runs(0)  # W&B's agent tears down what the previous call left
        param_path = write_yaml(sweep_dir(self._root, proposal.sweep_id), proposal.run_id,
                                proposal.params)
        self._set_env(run_env(proposal.sweep_id, proposal.run_id, param_path,
                              proposal.entity, proposal.project))
        # Kept until the agent ends: a stop that arrives after the function returned must
        # not interrupt the agent itself.
        _run_stop.redirect(proposal.run_id, lambda: self.request_stop(proposal.run_id))
        self._redirected.append(proposal.run_id)
        code, failed, stopped = 0, False, False
        try:
            with self._lock:
                self._current = proposal.run_id
                self._stop_pending = self._stop_delivered = False
            try:
                self._function()
            finally:
                with self._lock:
                    self._current = None
        except RunStopped:
            code, stopped = STOPPED_EXIT, True
        except KeyboardInterrupt:
            _finish_open_runs(STOPPED_EXIT)
            raise AgentInterrupted() from None
        except Exception:  # noqa: BLE001 - the user's function failed: the run fails
            messages.error(self._settings, visible(
                f"Run {proposal.run_id} errored:\n{traceback.format_exc()}", multiline=True))
            code, failed = 1, True
        _finish_open_runs(code)  # what the function left open: its run ends with its outcome
        return Outcome(code, failed=failed, stopped=stopped)

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value

    def close(self) -> None:
        """Put the environment and the SIGINT handler back."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        for run_id in self._redirected:
            _run_stop.release(run_id)
        self._redirected.clear()
        if self._main and self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None


def _finish_open_runs(exit_code: int) -> None:
    """Finish the runs this process still has open (the function did not finish them)."""
    for run in list(reversed(state().runs)):
        try:
            run.finish(exit_code=exit_code)
        except Exception as exc:  # noqa: BLE001 - the next run must still start
            messages.error(run._settings, visible(f"could not finish run {run.id}: {exc}"))
