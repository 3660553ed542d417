"""Where a run's records go: the daemon (online) or the run directory (offline).

:class:`Run` talks to one backend; each owns the run's :class:`~trackd._transport.sender.Sender` and
knows how to read the summary, report status and finish in its mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackd._base import messages as _messages
from trackd._base.api_name import api_name
from trackd._base.names import STATE_NAMES
from trackd._base.terminal import visible
from trackd._run.footer_data import read
from trackd._run.stop import interrupt
from trackd._settings import Settings
from trackd._shared.history import MetricDef, RunHistory
from trackd._shared.values import fill_map, map_to_python, unpack_map
from trackd._transport.setup import ensure_daemon, state
from trackd.errors import (
    CommError,
    DaemonUnavailableError,
    InitTimeoutError,
    RpcError,
    RunAlreadyExistsError,
    RunNotFoundError,
    UsageError,
)

if TYPE_CHECKING:  # the sender pulls in gRPC: imported when a run starts, not with trackd
    from trackd._run.footer_data import FooterData
    from trackd._transport.sender import Sender

#: Seconds a summary read waits for earlier records to be delivered.
SUMMARY_READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunStatus:
    """A run's delivery status (``run.status()``)."""

    state: str
    acked_seq: int
    ingested_seq: int
    history_rows: int
    last_queued_seq: int


@dataclass(frozen=True)
class Finished:
    """What finishing reported: the final state, summary and number of history rows."""

    state: str
    summary: dict[str, Any]
    rows: int = 0


def _policy(name: str | None) -> int:
    """The wire value of a resume policy ("never", "allow", "must", or None)."""
    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import run_service_pb2 as pb

    return {None: pb.RESUME_POLICY_UNSPECIFIED, "never": pb.RESUME_POLICY_NEVER,
            "allow": pb.RESUME_POLICY_ALLOW, "must": pb.RESUME_POLICY_MUST}[name]


def _ref(meta: dict[str, Any]) -> Any:
    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import run_pb2

    return run_pb2.RunRef(entity=meta["entity"], project=meta["project"], run_id=meta["run_id"])


class InitClock:
    """What is left of ``init_timeout``: every wait of init() (finding or starting the daemon,
    creating the run, waiting out a daemon restart) takes its time from here."""

    def __init__(self, settings: Settings) -> None:
        self.limit = float(settings.get("init_timeout"))
        self.deadline = time.monotonic() + self.limit

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def expired(self, doing: str, address: str | None) -> InitTimeoutError:
        where = f" at {address}" if address else ""
        name = api_name()
        return InitTimeoutError(
            f"{name}.init() timed out after {self.limit:g} s (the init_timeout setting) "
            f"{doing}{where}. The daemon may be stopped, overloaded or stuck: `trackd daemon "
            "status` shows its state, and its log is in its state directory. To wait longer, "
            f"raise the limit: {name}.init(settings={name}.Settings("
            f"init_timeout={max(120, 2 * self.limit):g}))."
        )


class OnlineBackend:
    """Creates the run in the daemon and streams records to it."""

    def __init__(self, meta: dict[str, Any], settings: Settings, sync_dir: Path,
                 resume: str | None = None, moment: tuple[str, str, int] | None = None,
                 writer: str | None = None) -> None:
        # not loaded by `import trackd`: gRPC, protobuf messages
        from trackd._transport.connection import get_connection
        from trackd._transport.sender import Sender
        from trackd.v1 import run_service_pb2

        st = state()
        clock = InitClock(settings)  # init()'s waits start here: nothing before them blocks
        while True:
            try:
                address = ensure_daemon(st, timeout=clock.left())
                break
            except DaemonUnavailableError:
                if clock.left() <= 0:
                    raise clock.expired("waiting for a daemon to start", st.address) from None
                if not meta["sweep_id"]:
                    raise
            # A sweep's run waits for its daemon (restarting, say), as its agent does, rather
            # than going on offline, where it would not count for the sweep.
            time.sleep(min(0.2, clock.left()))
        conn = get_connection(address)
        self._conn = conn
        self._settings = settings
        self._ref = _ref(meta)
        self._meta = meta
        self._sync_dir = sync_dir
        req = run_service_pb2.CreateRunRequest(
            ref=self._ref, name=meta["name"], notes=meta["notes"], tags=meta["tags"],
            group=meta["group"], job_type=meta["job_type"], start_time=meta["start_time"],
            host=meta["host"], program=meta["program"], sweep_id=meta["sweep_id"],
            request_id=f"{os.getpid()}-{id(self)}-{meta['start_time']}",
            resume=_policy(resume), shared=writer is not None, writer=writer or "",
            # The daemon samples this process's tree (system metrics): nothing runs here.
            pid=os.getpid(),
            stats_sampling_interval=-1.0 if settings.get("x_disable_stats")
            else float(settings.get("x_stats_sampling_interval")),
            # heartbeat_seconds: how long the daemon waits for a vanished client (0: its own).
            crash_grace_seconds=float(settings.heartbeat_seconds or 0),
            # The daemon posts the run's alert webhooks through them ("": its environment).
            http_proxy=settings.http_proxy or "", https_proxy=settings.https_proxy or "",
        )
        #: Shared mode: the writer this process streams as ("" for the primary writer).
        self.writer = writer or ""
        if moment is not None:
            kind, source, step = moment
            target = req.fork_from if kind == "fork_from" else req.rewind_to
            target.run_id, target.step = source, step
        req.config.SetInParent()
        fill_map(req.config, meta["config"])

        async def reconnect() -> None:
            # Called on the sender's own loop while the daemon is unreachable, so blocking it
            # for a daemon start is fine; no executor (it may run at interpreter exit).
            new = ensure_daemon(st, restart=True)
            if new != conn.address:
                await conn.reopen(new)

        self._reconnect = reconnect
        self._reconnect_timeout = float(settings.get("reconnect_timeout"))
        try:
            # A retried CreateRun is safe (request_id): a daemon that is draining, or was
            # replaced between the two calls, is waited out like a restart.
            resp = self._unary_surviving_restarts(conn.runs.CreateRun, req, None,
                                                  deadline=clock.deadline)
        except RunNotFoundError:
            if moment is not None:
                raise UsageError(
                    f"{moment[0]}: run {moment[1]!r} does not exist in "
                    f"{meta['entity']}/{meta['project']}"
                ) from None
            raise UsageError(
                f"resume='must' is not a valid option for run {meta['run_id']!r}: no run with that "
                f"id exists in {meta['entity']}/{meta['project']}"
            ) from None
        except RunAlreadyExistsError:
            if resume == "never":
                raise UsageError(
                    f"run {meta['run_id']!r} already exists in {meta['entity']}/{meta['project']} "
                    "and resume='never' forbids continuing it"
                ) from None
            raise
        except CommError as exc:
            if isinstance(exc, RpcError) or clock.left() > 0:
                raise
            raise clock.expired("waiting for the daemon to create the run", conn.address) from None
        self.name: str = resp.run.name
        #: The stored run when an existing run was continued (its config, tags, last step...).
        self.resumed_from: Any = resp.run if resp.resumed else None
        #: The run as the daemon holds it (its config, for a process attached to it).
        self.stored: Any = resp.run
        #: The stored run when this is a fork (its config includes the source's).
        self.forked: Any = resp.run if moment is not None and moment[0] == "fork_from" else None
        self.starting_step: int = resp.starting_step


        self.sender: Sender = Sender(
            conn.loop, ref=self._ref, bound=int(settings.get("max_buffered_records")), conn=conn,
            reconnect_timeout=float(settings.get("reconnect_timeout")), reconnect=reconnect,
            # Another writer of a shared run keeps retrying rather than going offline: its log
            # would not belong to the run's own seq space.
            # So does a run started with init(force=True): it must reach the daemon.
            go_offline=(None if self.writer or getattr(settings, "force", None)
                        else self._go_offline),
            start_seq=resp.run.acked_seq, on_stop=self._stopped, writer=self.writer,
            tell_error=lambda text: _messages.error(settings, text),
        )

    def _stopped(self) -> None:
        """The daemon says the run was asked to stop: interrupt the training (as W&B does)."""
        _messages.warning(self._settings, f"run {visible(self._meta['run_id'])} was asked to "
                          "stop (trackd runs stop, or its sweep); interrupting the training")
        interrupt(self._meta["run_id"])

    def _unary_surviving_restarts(self, method: Any, request: Any, timeout: float | None,
                                  deadline: float | None = None) -> Any:
        """A unary call that outlives a daemon restart: when the daemon is gone (UNAVAILABLE),
        reconnect (starting one on the default socket) and call again; the new daemon has
        recovered the run from its log. Gives up after ``reconnect_timeout``, or at
        ``deadline`` (a ``time.monotonic()`` value) when that comes first: then each call's
        timeout is what is left of it too."""
        give_up = time.monotonic() + self._reconnect_timeout
        if deadline is not None:
            give_up = min(give_up, deadline)
        delay = 0.05
        while True:
            call_timeout = timeout
            if deadline is not None:
                call_timeout = max(0.0, deadline - time.monotonic())
            try:
                return self._conn.unary(method, request, timeout=call_timeout)
            except CommError as exc:
                if isinstance(exc, RpcError) or time.monotonic() >= give_up:
                    raise
                hint = exc.retry_after  # a draining daemon says when the next one should be up
            time.sleep(min(max(delay, min(hint or 0.0, 5.0)), max(0.0, give_up - time.monotonic())))
            delay = min(delay * 2, 1.0)
            try:
                self._conn.call(self._reconnect(),
                                timeout=max(0.01, min(self._reconnect_timeout,
                                                      give_up - time.monotonic())))
            except (CommError, TimeoutError):
                pass

    def _go_offline(self) -> Path:
        """The daemon stayed unreachable: continue in an offline log (the sender's fallback)."""
        (self._sync_dir / "run.json").write_text(json.dumps({**self._meta, "name": self.name}))
        return self._sync_dir / f"run-{self._meta['run_id']}.wal"

    def read_summary(self, seq: int, timeout: float = SUMMARY_READ_TIMEOUT) -> dict[str, Any]:
        """The summary once the daemon has ingested record ``seq``.

        :raises TimeoutError: not within ``timeout`` seconds.
        """
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import query_service_pb2

        if self.sender.went_offline:
            return {}
        try:
            resp = self._conn.unary(
                self._conn.queries.GetRun,
                query_service_pb2.GetRunRequest(ref=self._ref, min_ingested_seq=seq),
                timeout=timeout,
            )
        except CommError as exc:
            if "DEADLINE_EXCEEDED" in f"{getattr(exc, 'code', '')} {exc}".upper():
                raise TimeoutError(str(exc)) from None
            raise
        return map_to_python(resp.run.summary)

    def status(self) -> RunStatus:
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import run_service_pb2

        resp = self._conn.unary(self._conn.runs.GetRunStatus,
                                run_service_pb2.GetRunStatusRequest(ref=self._ref), timeout=30)
        return RunStatus(STATE_NAMES.get(resp.state, "unknown"), resp.acked_seq,
                         resp.ingested_seq, resp.history_rows, self.sender.last_seq)

    def footer_data(self, summary: dict[str, Any]) -> FooterData:
        """What the finish footer shows of the run, read back from the daemon."""
        return read(self._ref, summary)

    def finish(self, code: int, timeout: float | None) -> Finished:
        """After the exit record is acknowledged: let the daemon make everything durable."""
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import run_service_pb2

        if self.sender.went_offline:
            _messages.warning(self._settings, visible(
                f"run {self._meta['run_id']} was saved offline; upload it with: "
                f"trackd sync {self._sync_dir}"), force=True)
            return Finished("finished" if code == 0 else "failed", {})
        req = run_service_pb2.FinishRunRequest(ref=self._ref, exit_code=code,
                                               last_seq=self.sender.last_seq,
                                               timeout_seconds=timeout or 0, writer=self.writer)
        resp = self._unary_surviving_restarts(self._conn.runs.FinishRun, req, timeout)
        return Finished(STATE_NAMES.get(resp.run.state, "unknown"), map_to_python(resp.run.summary),
                        resp.run.history_rows)


class OfflineBackend:
    """Appends records to the run directory's log and keeps the summary locally.

    With ``sync_at_finish`` (a child forked from a process that used gRPC, where gRPC cannot
    work) a fresh process ingests the directory into the daemon when the run finishes.
    """

    def __init__(self, meta: dict[str, Any], settings: Settings, sync_dir: Path,
                 sync_at_finish: bool = False) -> None:
        # not loaded by `import trackd`: gRPC
        from trackd._transport.connection import get_loop_thread
        from trackd._transport.sender import Sender

        self.name: str | None = meta["name"] or None
        self._settings = settings
        self._sync_dir = sync_dir
        self._sync_at_finish = sync_at_finish
        (sync_dir / "run.json").write_text(json.dumps(meta))
        self._history = RunHistory(start_time=meta["start_time"])
        self._lock = threading.Lock()
        self.sender = Sender(
            get_loop_thread().loop, ref=_ref(meta), bound=int(settings.get("max_buffered_records")),
            offline_path=sync_dir / f"run-{meta['run_id']}.wal", observer=self._observe,
        )

    def _observe(self, item: tuple[Any, ...]) -> None:
        """Apply each record to the local history state (on the sender's thread)."""
        h = self._history
        with self._lock:
            kind = item[0]
            if kind == "h":
                data = item[2]
                h.on_history(unpack_map(data) if type(data) is bytes else data, item[3],
                             item[4], item[5])
            elif kind == "s":
                h.on_summary(item[2], item[3])
            elif kind == "m":
                d = item[2]
                h.on_metric(MetricDef(d["name"], d["step_metric"], d["step_sync"], d["hidden"],
                                      tuple(d["summary"]), d["goal"]), bool(item[3]))
            elif kind == "x":
                h.on_exit()
            h.take_rows()

    def read_summary(self, seq: int, timeout: float = SUMMARY_READ_TIMEOUT) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._history.summary))

    def status(self) -> RunStatus:
        s = self.sender
        return RunStatus("running", s.acked_seq, s.acked_seq, self._history.rows_written, s.last_seq)

    def finish(self, code: int, timeout: float | None) -> Finished:
        state = "finished" if code == 0 else "failed"
        summary = self.read_summary(0)
        if self._sync_at_finish:
            self.sender.close(timeout)
            proc = subprocess.run(
                [sys.executable, "-m", "trackd._cli.main", "sync", str(self._sync_dir)],
                capture_output=True, text=True, timeout=timeout,
            check=False,
            )
            if proc.returncode != 0:
                _messages.error(self._settings, visible(
                    f"run saved in {self._sync_dir} could not be sent to the daemon "
                    f"({(proc.stderr or proc.stdout).strip()}); retry with: "
                    f"trackd sync {self._sync_dir}", multiline=True))
        return Finished(state, summary, self._history.rows_written)
