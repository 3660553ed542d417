"""RunService's editing calls: UpdateRun, MoveRun and DeleteRun (a mixin of
:class:`~trackd_daemon.rpc.run_servicer.RunServicer`), through the daemon's run editor
(``run_editing.py``, which the dashboard edits through too). Each lets the editor change a run,
or an artifact version a deletion takes with it, only once the caller's uid may write it
(the access policy, through the servicer's ``Guard``).
"""

from __future__ import annotations

import grpc

from trackd.v1 import run_service_pb2 as pb
from trackd_daemon.access import Owned
from trackd_daemon.rpc.convert import key_from_pb, run_to_pb
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.run_editing import Allow, RunEditor


class RunEdits:
    """UpdateRun, MoveRun, DeleteRun."""

    _editor: RunEditor
    _guard: Guard

    def _allow(self, context: grpc.aio.ServicerContext) -> Allow:
        """The caller's write access, asked of the policy (the caller is resolved when first
        needed: an unknown run is answered as such first)."""

        def allow(thing: Owned, noun: str) -> None:
            self._guard.policy.require(self._guard.caller(context), thing, "write", noun=noun)

        return allow

    async def UpdateRun(  # noqa: N802
        self, request: pb.UpdateRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateRunResponse:
        got = await self._editor.update(
            key_from_pb(request.ref), self._allow(context),
            name=request.name if request.HasField("name") else None,
            notes=request.notes if request.HasField("notes") else None,
            tags=list(request.tags) if request.set_tags else None)
        return pb.UpdateRunResponse(run=run_to_pb(got))

    async def MoveRun(  # noqa: N802
        self, request: pb.MoveRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.MoveRunResponse:
        moved = await self._editor.move(key_from_pb(request.ref), request.project,
                                        self._allow(context))
        return pb.MoveRunResponse(run=run_to_pb(moved))

    async def DeleteRun(  # noqa: N802
        self, request: pb.DeleteRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteRunResponse:
        done = await self._editor.delete(key_from_pb(request.ref), self._allow(context),
                                         delete_artifacts=request.delete_artifacts)
        return pb.DeleteRunResponse(blobs_released=done.blobs_released,
                                    artifacts_deleted=done.artifacts_deleted)
