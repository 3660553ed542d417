"""RunService: create and finish runs (editing stored runs: ``run_edits.py``)."""

from __future__ import annotations

import logging
import math
import os

import anyio
import anyio.to_thread
import grpc

from trackd.v1 import record_pb2
from trackd.v1 import run_service_pb2 as pb
from trackd_daemon.access import ROOT_UID, Caller
from trackd_daemon.actors.file_sync import FileSyncActor, FinishFiles
from trackd_daemon.actors.history import Barrier, HistoryActor, Ingest
from trackd_daemon.actors.registry import Create, Lookup, Retire, RunRegistry
from trackd_daemon.actors.system_metrics import SystemMetricsActor, Track
from trackd_daemon.actors.wal import Append, Sync
from trackd_daemon.errors import FailedPreconditionError, InvalidArgumentError
from trackd_daemon.records import Exit
from trackd_daemon.rpc.convert import (
    STATE_TO_PB,
    key_from_pb,
    key_to_pb,
    new_run_from_pb,
    run_to_pb,
)
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.rpc.run_edits import RunEdits
from trackd_daemon.run_editing import RunEditor
from trackd_daemon.session import RunSession, WriterState
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import TERMINAL_STATES, NewRun, RunChanges

log = logging.getLogger("trackd.daemon.rpc")

DEFAULT_FINISH_WAIT = 60.0
INT64_MAX = 2**63 - 1
RESUME_POLICIES = {
    pb.RESUME_POLICY_UNSPECIFIED: "never",
    pb.RESUME_POLICY_NEVER: "never",
    pb.RESUME_POLICY_ALLOW: "allow",
    pb.RESUME_POLICY_MUST: "must",
}


def _finish_wait(request: pb.FinishRunRequest) -> float:
    """Seconds FinishRun waits for the records.

    :raises InvalidArgumentError: NaN.
    """
    if math.isnan(request.timeout_seconds):
        raise InvalidArgumentError("timeout_seconds must be a number of seconds",
                                   field="timeout_seconds")
    return request.timeout_seconds or DEFAULT_FINISH_WAIT


class RunServicer(RunEdits):
    def __init__(self, registry: RunRegistry, history: HistoryActor, store: MetadataStore,
                 guard: Guard, metrics: SystemMetricsActor | None = None,
                 files: FileSyncActor | None = None, editor: RunEditor | None = None) -> None:
        self._registry = registry
        self._history = history
        self._store = store
        self._guard = guard
        self._metrics = metrics
        self._files = files
        self._editor = editor or RunEditor(registry, store)

    async def CreateRun(  # noqa: N802
        self, request: pb.CreateRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateRunResponse:
        # In a worker thread: a config may hold up to MAX_CONFIG_BYTES to decode and measure.
        new = await anyio.to_thread.run_sync(new_run_from_pb, request)
        caller = self._guard.caller(context)
        new.owner_uid, new.owner_name = caller.uid, caller.name
        policy = RESUME_POLICIES.get(request.resume)
        if policy is None:
            raise InvalidArgumentError(f"unknown resume policy {request.resume}")
        fork = rewind = None
        if request.HasField("fork_from"):
            fork = (request.fork_from.run_id, request.fork_from.step)
        if request.HasField("rewind_to"):
            if request.rewind_to.run_id != new.key.run_id:
                raise InvalidArgumentError("rewind_to must name the run being continued")
            rewind, policy = request.rewind_to.step, "must"
        if fork is not None and (rewind is not None or policy != "never"):
            raise InvalidArgumentError("fork_from excludes resume and rewind_to")
        for step, field in ((fork and fork[1], "fork_from.step"), (rewind, "rewind_to.step")):
            # History goes on at step + 1, which must be a step too.
            if step is not None and not 0 <= step < INT64_MAX:
                raise InvalidArgumentError(
                    f"a fork or rewind step must be >= 0 and < {INT64_MAX}, got {step}",
                    field=field)
        if math.isnan(request.stats_sampling_interval):
            raise InvalidArgumentError("stats_sampling_interval must be a number of seconds",
                                       field="stats_sampling_interval")
        grace = request.crash_grace_seconds
        if math.isnan(grace) or grace < 0 or 0 < grace < 1 or grace > 86400:
            raise InvalidArgumentError("crash_grace_seconds must be 0 or 1 to 86400 seconds",
                                       field="crash_grace_seconds")
        if request.shared and (fork is not None or rewind is not None or policy != "never"):
            raise InvalidArgumentError("shared excludes resume, fork_from and rewind_to")
        info, session, resumed, start = await self._registry.ask(
            lambda r: Create(new, policy, r, fork_from=fork, rewind_to=rewind,
                             shared=request.shared, writer=request.writer,
                             allow=lambda info, mode: self._guard.policy.require(caller, info, mode)))
        if session is not None:
            await self._keep_options(session, new)
            info = session.info
            self._track(request, session, caller)
        run = run_to_pb(info, session.acked_seq if session else 0, session)
        if request.writer:
            run.acked_seq = session.acked_of(request.writer) if session else 0
        return pb.CreateRunResponse(run=run, resumed=resumed, starting_step=start)

    async def _keep_options(self, session: RunSession, new: NewRun) -> None:
        """The creating (or resuming) client's crash grace and proxies become the run's, in
        the store too: a daemon that restarts recovers the run with them."""
        info = session.info
        wanted = (new.crash_grace, new.http_proxy, new.https_proxy)
        if (info.crash_grace, info.http_proxy, info.https_proxy) != wanted:
            await self._store.apply([RunChanges(
                info.pk, 0, crash_grace=new.crash_grace, http_proxy=new.http_proxy,
                https_proxy=new.https_proxy)])
            info.crash_grace, info.http_proxy, info.https_proxy = wanted
        session.crash_grace = info.crash_grace

    def _track(self, request: pb.CreateRunRequest, session: RunSession, caller: Caller) -> None:
        """Start sampling the run's training process (a process on this machine only)."""
        from trackd_daemon.sysmetrics.sampler import same_machine

        if (self._metrics is None or request.stats_sampling_interval < 0
                or not same_machine(request.host)):
            return
        peer_pid = caller.pid if caller.pid != os.getpid() else 0  # the daemon's own: unknown
        if not (request.pid or peer_pid):
            return  # no process to sample (trackd sync of an offline run, say)
        trusted = caller.uid in (ROOT_UID, self._guard.policy.daemon_uid)
        try:
            self._metrics.tell_nowait(Track(session, request.writer, request.pid or peer_pid,
                                            request.stats_sampling_interval, caller.uid,
                                            trusted, peer_pid))
        except anyio.WouldBlock:
            log.warning("run %s: system metrics not sampled (the sampler is busy)", session.key)

    async def FinishRun(  # noqa: N802
        self, request: pb.FinishRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.FinishRunResponse:
        key = key_from_pb(request.ref)
        session = await self._registry.ask(lambda r: Lookup(key, r))
        if session is not None:
            self._guard.require(context, session.info, "write")
        if request.writer and session is not None:
            return await self._finish_writer(session, request)
        if session is None:  # finished already (finish is idempotent), or unknown
            info = await self._store.get_run(key)
            self._guard.require(context, info, "write")
            if info.state not in TERMINAL_STATES:
                raise FailedPreconditionError(f"run {key} is {info.state} on another daemon")
            return pb.FinishRunResponse(run=run_to_pb(info))
        wait = _finish_wait(request)
        with anyio.move_on_after(wait):
            await session.wait_acked(request.last_seq)
        if session.acked_seq < request.last_seq:
            raise FailedPreconditionError(
                f"run {key}: records up to seq {request.last_seq} were not received in {wait:.0f}s"
                f" (have {session.acked_seq})",
                acked_seq=str(session.acked_seq),
            )
        if not session.exit_seq:
            seq = session.acked_seq + 1
            entry = record_pb2.WalEntry(
                run=key_to_pb(key),
                records=[record_pb2.Record(seq=seq, exit=record_pb2.ExitRecord(
                    exit_code=request.exit_code))],
            )
            fresh = session.accept([Exit(seq, request.exit_code)])
            async with session.lock:
                await session.wal.ask(lambda r: Append(entry.SerializeToString(), r))
                session.mark_acked(seq)
                await self._history.tell(Ingest(session, fresh))
        await session.wait_ingested(session.exit_seq)
        if self._files is not None:  # end files, and live files once more
            await self._files.ask(lambda r: FinishFiles(session, r))
        await session.wal.ask(lambda r: Sync(r))
        await self._registry.tell(Retire(session))
        info = await self._store.get_run(key)
        return pb.FinishRunResponse(run=run_to_pb(info, session.acked_seq))

    async def _finish_writer(
        self, session: RunSession, request: pb.FinishRunRequest
    ) -> pb.FinishRunResponse:
        """Another writer of a shared run is done: its records are stored; the run goes on."""
        wait = _finish_wait(request)
        with anyio.move_on_after(wait):
            await session.wait_acked_of(request.writer, request.last_seq)
        if session.acked_of(request.writer) < request.last_seq:
            raise FailedPreconditionError(
                f"run {session.key}: writer {request.writer!r} records up to seq "
                f"{request.last_seq} were not received in {wait:.0f}s")
        session.writers.setdefault(request.writer, WriterState()).done = True
        await self._history.ask(lambda r: Barrier(r))
        info = await self._store.get_run(session.key)
        return pb.FinishRunResponse(run=run_to_pb(info, 0, session))

    async def StopRun(  # noqa: N802
        self, request: pb.StopRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.StopRunResponse:
        key = key_from_pb(request.ref)
        session = await self._registry.ask(lambda r: Lookup(key, r))
        if session is None or session.exit_seq:
            info = await self._store.get_run(key)
            self._guard.require(context, info, "write")
            raise FailedPreconditionError(f"run {key} is {info.state}; only a running run can be stopped")
        self._guard.require(context, session.info, "write")
        session.stop_requested = True
        return pb.StopRunResponse(streams=session.streams)

    async def GetRunStatus(  # noqa: N802
        self, request: pb.GetRunStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRunStatusResponse:
        key = key_from_pb(request.ref)
        session = await self._registry.ask(lambda r: Lookup(key, r))
        info = await self._store.get_run(key)
        self._guard.require(context, info, "read")
        if session is None:
            return pb.GetRunStatusResponse(
                state=STATE_TO_PB[info.state], acked_seq=info.ingested_seq,
                ingested_seq=info.ingested_seq, history_rows=info.history_rows,
            )
        return pb.GetRunStatusResponse(
            state=STATE_TO_PB[session.info.state], acked_seq=session.acked_seq,
            ingested_seq=session.ingested_seq, streams=session.streams,
            history_rows=info.history_rows,
        )
