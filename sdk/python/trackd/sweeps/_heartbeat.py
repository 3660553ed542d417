"""An agent's heartbeat: ``AgentHeartbeat`` every few seconds from a thread of its own.

Each beat tells the daemon which of the agent's runs are still running and how the ones that
ended exited (an exit stays queued until a beat carrying it was answered); the answer names
the runs the agent must stop, which go to ``on_stop`` (every run in flight once the sweep is
canceled). The agent also beats at once when a run
ends (:meth:`Heartbeat.beat` with ``survive_restarts``), so the daemon learns of the exit
before the agent asks for its next run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from trackd._transport.sweep_client import CANCELED, SweepClient, SweepPath
from trackd.errors import CommError
from trackd.sweeps._guards import env_seconds

log = logging.getLogger("trackd.sweeps")

#: Seconds between beats (W&B's agents beat every 5 s); ``TRACKD_AGENT_REPORT_INTERVAL`` /
#: ``WANDB_AGENT_REPORT_INTERVAL`` change it.
INTERVAL = 5.0


class Heartbeat:
    """The beats of one agent (see the module doc)."""

    def __init__(self, client: SweepClient, path: SweepPath, agent_id: str,
                 on_stop: Callable[[list[str]], None], interval: float | None = None) -> None:
        self._client = client
        self._path = path
        self._agent_id = agent_id
        self._on_stop = on_stop
        self.interval = (interval if interval is not None
                         else env_seconds("AGENT_REPORT_INTERVAL", INTERVAL, zero_ok=False))
        self._lock = threading.Lock()  # guards _running and _exits
        self._send = threading.Lock()  # one beat at a time: an exit is sent by one beat
        self._running: list[str] = []
        self._exits: list[tuple[str, int]] = []
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        #: The sweep's state as the last answer gave it (a SweepState value; 0 before one).
        self.state = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trackd-agent-heartbeat",
                                        daemon=True)
        self._thread.start()

    def started(self, run_id: str) -> None:
        with self._lock:
            self._running.append(run_id)

    def ended(self, run_id: str, exit_code: int) -> None:
        with self._lock:
            if run_id in self._running:
                self._running.remove(run_id)
            self._exits.append((run_id, exit_code))

    def beat(self, survive_restarts: bool = False) -> bool:
        """One beat now; returns whether the daemon answered (a failed beat keeps its exits
        for the next one)."""
        with self._send:
            with self._lock:
                running, exits = list(self._running), list(self._exits)
            try:
                resp = self._client.heartbeat(self._path, self._agent_id, running, exits,
                                              survive_restarts=survive_restarts)
            except (CommError, TimeoutError) as exc:
                log.debug("agent heartbeat failed: %s", exc)
                return False
            with self._lock:
                self._exits = self._exits[len(exits):]
            self.state = resp.state
        # A canceled sweep stops every run in flight (the daemon stops those it reaches
        # through the run itself; a process that does not listen is stopped here).
        wanted = running if resp.state == CANCELED else resp.stop
        stop = [r for r in wanted if r in running]
        if stop:
            self._on_stop(stop)
        return True

    def close(self) -> None:
        """Stop the thread, then send what is left (exits not reported yet)."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        with self._lock:
            pending = bool(self._exits)
        if pending:
            self.beat(survive_restarts=True)

    def _loop(self) -> None:
        while not self._closed.wait(self.interval):
            self.beat()
