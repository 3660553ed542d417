"""SweepService: sweeps, agents and controllers, on top of the sweep controller actor.

Access follows the sweep's project and owner as for runs: reading a sweep needs read access,
anything that changes it (its state, its runs) write access. Requests are checked here; the
actor does the work.
"""

from __future__ import annotations

import json
from typing import Any

import grpc

from trackd.v1 import sweep_service_pb2 as pb
from trackd_daemon.access import Mode
from trackd_daemon.actors.sweep_messages import NoRun, search_runs
from trackd_daemon.actors.sweeps import SweepController
from trackd_daemon.errors import InvalidArgumentError, SweepNotFoundError
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.sweep_models import SweepInfo
from trackd_daemon.sweeps import best_run, grid_size, metric_value

STATE_TO_PB = {"RUNNING": pb.SWEEP_STATE_RUNNING, "PAUSED": pb.SWEEP_STATE_PAUSED,
               "FINISHED": pb.SWEEP_STATE_FINISHED, "CANCELED": pb.SWEEP_STATE_CANCELED}
ACTION_FROM_PB = {pb.SWEEP_ACTION_PAUSE: "pause", pb.SWEEP_ACTION_RESUME: "resume",
                  pb.SWEEP_ACTION_FINISH: "finish", pb.SWEEP_ACTION_CANCEL: "cancel"}
#: Parameters of one scheduled run, as JSON text: a run's config is bounded elsewhere too.
MAX_PARAMS_BYTES = 1 << 20


def _json_object(text: str, what: str) -> dict[str, Any]:
    if len(text) > MAX_PARAMS_BYTES:
        raise InvalidArgumentError(f"{what} is over {MAX_PARAMS_BYTES} bytes")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{what} must be a JSON object")
    return value


def sweep_to_pb(info: SweepInfo, runs: list[Any] | None = None) -> pb.Sweep:
    out = pb.Sweep(
        ref=pb.SweepRef(entity=info.entity, project=info.project, sweep_id=info.sweep_id),
        config_json=json.dumps(info.config), state=STATE_TO_PB[info.state], name=info.name,
        created_at=info.created_at, updated_at=info.updated_at, run_count=info.run_count,
        grid_size=grid_size(info.config), owner_uid=info.owner_uid,
    )
    if runs is not None:
        for r in runs:
            value = metric_value(info.config, r.run_summary) if "metric" in info.config else None
            out.runs.append(pb.SweepRun(
                run_id=r.run_id, params_json=json.dumps(r.params), state=r.state,
                stopped_early=r.stopped_early, has_metric=value is not None,
                metric=value if value is not None else 0.0, agent_id=r.agent_id,
                created_at=r.created_at, name=r.run_name, prior=r.prior))
        if "metric" in info.config:
            out.best_run_id = best_run(info.config, search_runs(info.config, runs)) or ""
    return out


class SweepServicer:
    def __init__(self, sweeps: SweepController, store: MetadataStore, guard: Guard) -> None:
        self._sweeps = sweeps
        self._store = store
        self._guard = guard

    async def _sweep(self, ref: pb.SweepRef, context: grpc.aio.ServicerContext,
                     mode: Mode) -> SweepInfo:
        if not ref.sweep_id:
            raise InvalidArgumentError("a sweep id is required")
        info = await self._store.get_sweep(ref.sweep_id)
        if (ref.entity and ref.entity != info.entity) or (
                ref.project and ref.project != info.project):
            raise SweepNotFoundError(f"no sweep {ref.sweep_id!r} in "
                                     f"{ref.entity or info.entity}/{ref.project or info.project}",
                                     sweep_id=ref.sweep_id)
        self._guard.policy.require(self._guard.caller(context), info, mode, "sweep")
        return info

    async def CreateSweep(  # noqa: N802
        self, request: pb.CreateSweepRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSweepResponse:
        try:
            config = json.loads(request.config_json)
        except ValueError as exc:
            raise InvalidArgumentError(f"the sweep configuration is not JSON: {exc}") from None
        caller = self._guard.caller(context)
        info = await self._sweeps.create(request.entity, request.project, config,
                                         list(request.prior_runs), caller.uid)
        return pb.CreateSweepResponse(sweep=sweep_to_pb(info))

    async def GetSweep(  # noqa: N802
        self, request: pb.GetSweepRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSweepResponse:
        info = await self._sweep(request.ref, context, "read")
        runs = await self._store.list_sweep_runs(info.sweep_id)
        return pb.GetSweepResponse(sweep=sweep_to_pb(info, runs))

    async def ListSweeps(  # noqa: N802
        self, request: pb.ListSweepsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSweepsResponse:
        caller = self._guard.caller(context)
        sweeps = await self._store.list_sweeps(request.entity, request.project)
        return pb.ListSweepsResponse(sweeps=[
            sweep_to_pb(s) for s in sweeps if self._guard.policy.allows(caller, s, "read")])

    async def SetSweepState(  # noqa: N802
        self, request: pb.SetSweepStateRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetSweepStateResponse:
        info = await self._sweep(request.ref, context, "write")
        action = ACTION_FROM_PB.get(request.action)
        if action is None:
            raise InvalidArgumentError("action must be pause, resume, finish or cancel")
        info = await self._sweeps.set_state(info.sweep_id, action)
        return pb.SetSweepStateResponse(sweep=sweep_to_pb(info))

    async def NextRun(  # noqa: N802
        self, request: pb.NextRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.NextRunResponse:
        info = await self._sweep(request.ref, context, "write")
        if not request.agent_id or not request.request_id:
            raise InvalidArgumentError("NextRun needs an agent_id and a request_id")
        got = await self._sweeps.next_run(info.sweep_id, request.agent_id, request.request_id,
                                          request.wait_seconds)
        if isinstance(got, NoRun):
            return pb.NextRunResponse(done=got.done, state=STATE_TO_PB[got.state],
                                      reason=got.reason, entity=info.entity,
                                      project=info.project)
        return pb.NextRunResponse(run_id=got.run_id, params_json=json.dumps(got.params),
                                  entity=got.entity, project=got.project,
                                  state=pb.SWEEP_STATE_RUNNING)

    async def AgentHeartbeat(  # noqa: N802
        self, request: pb.AgentHeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> pb.AgentHeartbeatResponse:
        info = await self._sweep(request.ref, context, "write")
        stop, state = await self._sweeps.heartbeat(
            info.sweep_id, request.agent_id, list(request.running),
            [(e.run_id, e.exit_code) for e in request.exits])
        return pb.AgentHeartbeatResponse(stop=stop, state=STATE_TO_PB[state])

    async def ScheduleRuns(  # noqa: N802
        self, request: pb.ScheduleRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScheduleRunsResponse:
        info = await self._sweep(request.ref, context, "write")
        params = [_json_object(p, f"scheduled run {i}") for i, p in
                  enumerate(request.params_json)]
        runs = await self._sweeps.schedule(info.sweep_id, params)
        return pb.ScheduleRunsResponse(runs=[
            pb.SweepRun(run_id=r.run_id, params_json=json.dumps(r.params), state=r.state,
                        created_at=r.created_at) for r in runs])

    async def PreviewRun(  # noqa: N802
        self, request: pb.PreviewRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.PreviewRunResponse:
        info = await self._sweep(request.ref, context, "read")
        params = await self._sweeps.preview(info.sweep_id)
        if params is None:
            return pb.PreviewRunResponse()
        return pb.PreviewRunResponse(params_json=json.dumps(params))

    async def StopSweepRuns(  # noqa: N802
        self, request: pb.StopSweepRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.StopSweepRunsResponse:
        info = await self._sweep(request.ref, context, "read" if request.only_candidates
                                 else "write")
        stopped = await self._sweeps.stop_runs(info.sweep_id, list(request.run_ids),
                                               request.only_candidates)
        return pb.StopSweepRunsResponse(run_ids=stopped)
