"""Calls to the daemon's ``SweepService`` through the process's connection.

Every call finds (or starts) the daemon as ``Api`` does and turns a refused call into its
typed error (:func:`trackd.errors.from_grpc`: ``SweepNotFoundError``, ``SweepConfigError``...).
:meth:`SweepClient.call` also outlives a daemon restart: while the daemon is unreachable it
reconnects and calls again, until ``reconnect_timeout``. Only retry-safe calls go through it
(reads, and ``NextRun``/``AgentHeartbeat``, whose retries the daemon recognises).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trackd._transport.setup import ensure_daemon, state
from trackd.errors import CommError, RpcError, SweepConfigError, UsageError

if TYPE_CHECKING:  # gRPC and the messages load when a call is made, not with trackd
    from trackd._transport.connection import Connection

#: Seconds a plain call may take.
CALL_TIMEOUT = 60.0
#: NextRun: how long the daemon may hold the call waiting for a proposal (its limit is 60).
NEXT_RUN_WAIT = 30.0

#: ``trackd.v1.SweepState`` values by name.
RUNNING, PAUSED, FINISHED, CANCELED = 1, 2, 3, 4
STATE_NAMES = {RUNNING: "running", PAUSED: "paused", FINISHED: "finished",
               CANCELED: "canceled"}
#: ``trackd.v1.SweepAction`` values by the words of the CLI and the controller.
ACTIONS = {"pause": 1, "resume": 2, "finish": 3, "stop": 3, "cancel": 4}


@dataclass(frozen=True)
class SweepPath:
    """Where a sweep is: its id, and its entity and project ("" when not given: the daemon
    finds a sweep by its id alone)."""

    entity: str
    project: str
    sweep_id: str

    def ref(self) -> Any:
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        return pb.SweepRef(entity=self.entity, project=self.project, sweep_id=self.sweep_id)

    def __str__(self) -> str:
        return "/".join(p for p in (self.entity, self.project, self.sweep_id) if p)


def parse_path(path: str, entity: str | None = None, project: str | None = None) -> SweepPath:
    """``"id"``, ``"project/id"`` or ``"entity/project/id"``; ``entity`` and ``project`` fill
    the parts the path leaves out.

    :raises UsageError: not a sweep path.
    """
    if not isinstance(path, str):
        raise UsageError(f"a sweep id must be a string, got {type(path).__name__}")
    parts = path.strip().split("/")
    if not 1 <= len(parts) <= 3 or not all(p.strip() for p in parts):
        raise UsageError(f"invalid sweep id {path!r}: expected ID, PROJECT/ID or "
                         "ENTITY/PROJECT/ID")
    parts = [p.strip() for p in parts]
    sweep_id = parts[-1]
    if len(parts) >= 2:
        project = parts[-2]
    if len(parts) == 3:
        entity = parts[0]
    return SweepPath(entity or "", project or "", sweep_id)


def path_of(sweep: Any) -> SweepPath:
    """The full path of a ``trackd.v1.Sweep`` message."""
    return SweepPath(sweep.ref.entity, sweep.ref.project, sweep.ref.sweep_id)


def config_of(sweep: Any) -> dict[str, Any]:
    """The configuration of a ``trackd.v1.Sweep`` as stored ({} when unreadable)."""
    try:
        config = json.loads(sweep.config_json) if sweep.config_json else {}
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


class SweepClient:
    """The SweepService calls of one agent, controller or command."""

    def __init__(self, reconnect_timeout: float | None = None) -> None:
        st = state()
        self.reconnect_timeout = float(reconnect_timeout if reconnect_timeout is not None
                                       else st.settings.get("reconnect_timeout"))

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def connection() -> Connection:
        """This process's connection to a live daemon: one that stopped since is found again
        or started (as ``Api`` does); a daemon back at another address gets a new channel."""
        # not loaded by `import trackd`: gRPC
        from trackd._transport.connection import get_connection

        address = ensure_daemon(state(), restart=True)
        conn = get_connection(address)
        if conn.address != address:
            conn.call(conn.reopen(address), timeout=10)
        return conn

    def call(self, method: str, request: Any, timeout: float = CALL_TIMEOUT,
             survive_restarts: bool = True) -> Any:
        """Call ``SweepService.<method>``. With ``survive_restarts``, a daemon that is gone
        (UNAVAILABLE, a deadline passed) is reconnected to and called again with the same
        request, for up to ``reconnect_timeout`` seconds after the first failure.

        :raises trackd.errors.RpcError: the daemon refused the call (typed).
        :raises trackd.errors.CommError: no daemon answered in time.
        """
        give_up: float | None = None  # counted from the first failure
        delay = 0.05
        while True:
            try:
                conn = self.connection()
                return conn.unary(getattr(conn.sweeps, method), request, timeout=timeout)
            except CommError as exc:
                if isinstance(exc, RpcError) or not survive_restarts:
                    raise
                give_up = give_up or time.monotonic() + self.reconnect_timeout
                if time.monotonic() >= give_up:
                    raise
                hint = exc.retry_after or 0.0
            except TimeoutError:
                give_up = give_up or time.monotonic() + self.reconnect_timeout
                if not survive_restarts or time.monotonic() >= give_up:
                    raise CommError(f"the daemon did not answer {method} in time") from None
                hint = 0.0
            time.sleep(min(max(delay, min(hint, 5.0)), max(0.0, give_up - time.monotonic())))
            delay = min(delay * 2, 1.0)

    # -- the calls -----------------------------------------------------------------------------

    def create(self, entity: str, project: str, config: dict[str, Any],
               prior_runs: list[str]) -> Any:
        """Store a sweep; returns the ``trackd.v1.Sweep``.

        :raises SweepConfigError: the configuration breaks the schema; its message lists
            every violation.
        """
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        req = pb.CreateSweepRequest(entity=entity, project=project,
                                    config_json=json.dumps(config, allow_nan=False),
                                    prior_runs=prior_runs)
        try:
            # Not retried across a restart: a lost answer would store the sweep twice.
            return self.call("CreateSweep", req, survive_restarts=False).sweep
        except SweepConfigError as exc:
            raise config_error(exc) from None

    def get(self, path: SweepPath) -> Any:
        """The sweep with its runs. :raises SweepNotFoundError: there is none."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        return self.call("GetSweep", pb.GetSweepRequest(ref=path.ref())).sweep

    def list(self, entity: str = "", project: str = "") -> list[Any]:
        """Sweeps of a project (every project when empty), newest first, without runs."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        return list(self.call("ListSweeps", pb.ListSweepsRequest(entity=entity,
                                                                  project=project)).sweeps)

    def set_state(self, path: SweepPath, action: str) -> Any:
        """Pause, resume, finish ("stop") or cancel the sweep; returns it."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        return self.call("SetSweepState", pb.SetSweepStateRequest(
            ref=path.ref(), action=ACTIONS[action])).sweep

    def next_run(self, path: SweepPath, agent_id: str, request_id: str,
                 wait: float = NEXT_RUN_WAIT) -> Any:
        """An agent's next run (``NextRunResponse``); retried with the same request id
        across a daemon restart, so that a lost answer proposes nothing twice."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        req = pb.NextRunRequest(ref=path.ref(), agent_id=agent_id, request_id=request_id,
                                wait_seconds=wait)
        return self.call("NextRun", req, timeout=wait + 15.0)

    def heartbeat(self, path: SweepPath, agent_id: str, running: list[str],
                  exits: list[tuple[str, int]], survive_restarts: bool = True) -> Any:
        """Report the runs the agent has and how those that ended exited; the answer names
        the runs to stop (``AgentHeartbeatResponse``)."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        req = pb.AgentHeartbeatRequest(
            ref=path.ref(), agent_id=agent_id, running=running,
            exits=[pb.AgentRunExit(run_id=r, exit_code=c) for r, c in exits])
        return self.call("AgentHeartbeat", req, timeout=30.0, survive_restarts=survive_restarts)

    def schedule(self, path: SweepPath, params: list[dict[str, Any]]) -> list[Any]:
        """Queue runs with these parameters for the next agents to take."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        req = pb.ScheduleRunsRequest(ref=path.ref(),
                                     params_json=[json.dumps(p, allow_nan=False) for p in params])
        return list(self.call("ScheduleRuns", req, survive_restarts=False).runs)

    def preview(self, path: SweepPath) -> dict[str, Any] | None:
        """What the daemon's search would propose next (None: nothing more)."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        resp = self.call("PreviewRun", pb.PreviewRunRequest(ref=path.ref()))
        return json.loads(resp.params_json) if resp.HasField("params_json") else None

    def stop_runs(self, path: SweepPath, run_ids: list[str] | None = None,
                  only_candidates: bool = False) -> list[str]:
        """Stop these runs (recorded as stopped early); with ``only_candidates``, the runs
        early_terminate would stop now, stopping none."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import sweep_service_pb2 as pb

        req = pb.StopSweepRunsRequest(ref=path.ref(), run_ids=list(run_ids or ()),
                                      only_candidates=only_candidates)
        return list(self.call("StopSweepRuns", req).run_ids)


def config_error(exc: SweepConfigError) -> SweepConfigError:
    """``exc`` with a message that names every violation (the daemon lists them in its
    metadata; its message may summarise)."""
    violations = exc.violations
    if all(v in exc.message for v in violations):
        return exc
    lines = "\n".join(f"  - {v}" for v in violations)
    err = SweepConfigError(f"Invalid sweep configuration ({len(violations)} "
                           f"violation{'s' if len(violations) != 1 else ''}):\n{lines}",
                           reason=exc.reason, code=exc.code, metadata=exc.metadata)
    err.retry_after = exc.retry_after
    return err
