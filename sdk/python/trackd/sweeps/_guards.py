"""W&B's failure guards of an agent: stop when runs keep failing from the start.

- *Flapping*: ``FLAPPING_MAX_FAILURES`` (3) failed runs within the agent's first
  ``FLAPPING_MAX_SECONDS`` (60) seconds stop it, unless ``WANDB_AGENT_DISABLE_FLAPPING`` (or
  ``TRACKD_AGENT_DISABLE_FLAPPING``) is true.
- *Initial failures*: when every run so far failed and they are at least
  ``WANDB_AGENT_MAX_INITIAL_FAILURES`` (``TRACKD_``; default 5), the agent stops.

A run the agent stopped on the sweep's request (early termination, a canceled sweep) is no
failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

FLAPPING_MAX_SECONDS = 60.0
FLAPPING_MAX_FAILURES = 3
MAX_INITIAL_FAILURES = 5

_TRUE = ("1", "true", "yes", "on")


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """``TRACKD_<name>``, else ``WANDB_<name>``, else None."""
    env = os.environ if env is None else env
    value = env.get(f"TRACKD_{name}")
    return value if value is not None else env.get(f"WANDB_{name}")


class FailureGuard:
    """Counts an agent's finished and failed runs and says when it must stop."""

    def __init__(self, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self.finished = 0
        self.failed = 0
        disable = (env_value("AGENT_DISABLE_FLAPPING", env) or "").strip().lower()
        self.flapping_enabled = disable not in _TRUE
        raw = env_value("AGENT_MAX_INITIAL_FAILURES", env)
        try:
            self.max_initial_failures = int(raw) if raw is not None else MAX_INITIAL_FAILURES
        except ValueError:
            self.max_initial_failures = MAX_INITIAL_FAILURES

    def record(self, failed: bool) -> str | None:
        """Count one finished run; returns why the agent must stop now, or None."""
        self.finished += 1
        if failed:
            self.failed += 1
        if (self.flapping_enabled and self._clock() - self._started < FLAPPING_MAX_SECONDS
                and self.failed >= FLAPPING_MAX_FAILURES):
            return (f"Detected {self.failed} failed runs in the first "
                    f"{FLAPPING_MAX_SECONDS:g} seconds, stopping the agent. To disable this "
                    "check set WANDB_AGENT_DISABLE_FLAPPING=true")
        if self.failed >= self.finished and self.failed >= self.max_initial_failures:
            return (f"Detected {self.failed} failed runs in a row at start, stopping the "
                    "agent. To change this value set WANDB_AGENT_MAX_INITIAL_FAILURES=val")
        return None
