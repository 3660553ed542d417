"""RunService's editing calls: UpdateRun, MoveRun and DeleteRun (a mixin of
:class:`~trackd_daemon.rpc.run_servicer.RunServicer`).

Each checks the caller's write access to the run. A run with a live session (records still
arriving, or a client attached) is neither moved nor deleted: the registry is asked first. A
move is refused by the store if the run is marked running in the same transaction; a delete
goes through the registry (``Remove``), which serves it like a create of the key (a resume or
attach of the run waits behind it) and deletes the run's write-ahead log with it.
"""

from __future__ import annotations

import grpc

from trackd.v1 import run_pb2
from trackd.v1 import run_service_pb2 as pb
from trackd_daemon.actors.registry import Lookup, Remove, RunRegistry
from trackd_daemon.errors import (
    ArtifactNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
)
from trackd_daemon.rpc.convert import key_from_pb, run_to_pb
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.run_limits import check_fields
from trackd_daemon.store.artifact_models import COMMITTED, LOGGED
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo, RunKey


class RunEdits:
    """UpdateRun, MoveRun, DeleteRun."""

    _registry: RunRegistry
    _store: MetadataStore
    _guard: Guard

    async def _writable(self, ref: run_pb2.RunRef, context: grpc.aio.ServicerContext,
                        doing: str = "") -> RunInfo:
        """The run, once the caller may write it (and, with ``doing``, it is not live)."""
        key = key_from_pb(ref)
        info = await self._store.get_run(key)
        self._guard.require(context, info, "write")
        if doing and await self._registry.ask(lambda r: Lookup(key, r)) is not None:
            raise FailedPreconditionError(f"run {key} is running; it can be {doing} once it "
                                          "has finished")
        return info

    async def UpdateRun(  # noqa: N802
        self, request: pb.UpdateRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateRunResponse:
        info = await self._writable(request.ref, context)
        name = request.name if request.HasField("name") else None
        notes = request.notes if request.HasField("notes") else None
        tags = list(request.tags) if request.set_tags else None
        if name is not None and not name.strip():
            raise InvalidArgumentError("a run's name cannot be empty", field="name")
        if tags is not None and any(not t.strip() for t in tags):
            raise InvalidArgumentError("a tag cannot be empty", field="tags")
        check_fields({"name": name or "", "notes": notes or "", "tags": tags or []})
        got = await self._store.update_run_fields(info.key, name=name, notes=notes, tags=tags)
        return pb.UpdateRunResponse(run=run_to_pb(got))

    async def MoveRun(  # noqa: N802
        self, request: pb.MoveRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.MoveRunResponse:
        info = await self._writable(request.ref, context, "moved")
        target = run_pb2.RunRef(entity=info.key.entity, project=request.project,
                                run_id=info.key.run_id)
        key_from_pb(target)  # the project is a valid name
        return pb.MoveRunResponse(run=run_to_pb(await self._store.move_run(info.key,
                                                                           request.project)))

    async def DeleteRun(  # noqa: N802
        self, request: pb.DeleteRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteRunResponse:
        info = await self._writable(request.ref, context, "deleted")
        deleted = await self._delete_artifacts(info.key, context) if request.delete_artifacts \
            else 0
        released = await self._registry.ask(lambda r: Remove(info.key, r))
        return pb.DeleteRunResponse(blobs_released=released, artifacts_deleted=deleted)

    async def _delete_artifacts(self, key: RunKey, context: grpc.aio.ServicerContext) -> int:
        """Delete the committed versions the run logged, each once the caller may write it."""
        caller = self._guard.caller(context)
        versions = [v for v in await self._store.run_versions(key, LOGGED)
                    if v.state == COMMITTED]
        for v in versions:
            self._guard.policy.require(caller, v, "write", noun="artifact")
        deleted = 0
        for v in versions:
            try:
                await self._store.delete_version(v.id, delete_aliases=True)
            except ArtifactNotFoundError:
                continue  # deleted meanwhile
            deleted += 1
        return deleted
