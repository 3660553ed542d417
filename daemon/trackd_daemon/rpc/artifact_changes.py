"""ArtifactService changes: updates, deletion, links, uses and garbage collection (a mixin of
:class:`~trackd_daemon.rpc.artifact_servicer.ArtifactServicer`)."""

from __future__ import annotations

import grpc

from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb
from trackd_daemon.actors.artifact_gc import Collect
from trackd_daemon.artifacts import validate
from trackd_daemon.errors import InvalidArgumentError, PermissionDeniedError
from trackd_daemon.rpc.artifact_base import ArtifactContext
from trackd_daemon.rpc.artifact_convert import artifact_to_pb
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    LATEST,
    USED,
    CollectionKey,
    VersionChanges,
)


def _portfolio(link: apb.ArtifactSource) -> CollectionKey:
    return validate.collection_key(link.entity, link.project, link.collection, "link.collection")


class ArtifactChanges(ArtifactContext):
    """Changes of the ArtifactService."""

    async def UpdateArtifact(
        self, request: pb.UpdateArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateArtifactResponse:
        caller, v = await self.version(context, request.id)
        portfolio = _portfolio(request.link) if request.HasField("link") else None
        if portfolio is not None:
            v = await self._store.get_link(v.id, portfolio)
            if any(request.HasField(f) for f in ("description", "metadata_json", "tags",
                                                 "ttl_seconds")):
                raise InvalidArgumentError("a link's aliases are all that may change through it;"
                                           " update the source version", field="link")
        self.require(caller, v, "write")
        if v.state != COMMITTED:
            raise InvalidArgumentError(f"artifact version {v.id} is not committed yet", field="id")
        changes = VersionChanges(
            description=request.description if request.HasField("description") else None,
            metadata=(validate.metadata(request.metadata_json)
                      if request.HasField("metadata_json") else None),
            aliases=(validate.aliases(request.aliases.values)
                     if request.HasField("aliases") else None),
            tags=validate.tags(request.tags.values) if request.HasField("tags") else None,
            ttl_seconds=(validate.ttl(request.ttl_seconds)
                         if request.HasField("ttl_seconds") else None),
        )
        got = await self._store.update_version(v.id, changes, portfolio)
        return pb.UpdateArtifactResponse(artifact=artifact_to_pb(got))

    async def DeleteArtifact(
        self, request: pb.DeleteArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteArtifactResponse:
        caller, v = await self.version(context, request.id)
        if request.HasField("link"):
            portfolio = _portfolio(request.link)
            self.require(caller, await self._store.get_link(v.id, portfolio), "write")
            await self._store.unlink_version(v.id, portfolio)
        else:
            self.require(caller, v, "write")
            await self._store.delete_version(v.id, request.delete_aliases)
        return pb.DeleteArtifactResponse()

    async def LinkArtifact(
        self, request: pb.LinkArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.LinkArtifactResponse:
        caller, v = await self.version(context, request.id)
        if v.state != COMMITTED:
            raise InvalidArgumentError(f"artifact version {v.id} is not committed yet; wait for "
                                       "it before linking", field="id")
        portfolio = validate.collection_key(request.entity or v.key.entity,
                                            request.project or v.key.project,
                                            request.portfolio, "portfolio")
        await self.collection_writable(caller, portfolio)
        aliases = [a for a in validate.aliases(request.aliases) if a != LATEST]
        linked = await self._store.link_version(v.id, portfolio, aliases, caller.uid,
                                                owner_name=caller.name)
        return pb.LinkArtifactResponse(artifact=artifact_to_pb(linked))

    async def UnlinkArtifact(
        self, request: pb.UnlinkArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnlinkArtifactResponse:
        caller, v = await self.version(context, request.id)
        portfolio = _portfolio(request.link)
        link = await self._store.get_link(v.id, portfolio)
        self.require(caller, link, "write")
        await self._store.unlink_version(v.id, portfolio)
        return pb.UnlinkArtifactResponse()

    async def UseArtifact(
        self, request: pb.UseArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.UseArtifactResponse:
        _, v = await self.version(context, request.id)
        run = await self.run_for(context, request.run, "write")
        await self._store.record_use(v.id, run, USED, validate.short_id(request.use_as, "use_as"))
        return pb.UseArtifactResponse(artifact=artifact_to_pb(v))

    async def CollectGarbage(
        self, request: pb.CollectGarbageRequest, context: grpc.aio.ServicerContext
    ) -> pb.CollectGarbageResponse:
        caller = self._guard.caller(context)
        if not self._guard.policy.may_administer(caller):
            raise PermissionDeniedError(f"uid {caller.uid} may not run the garbage collector: "
                                        "only the daemon's user and root may",
                                        uid=str(caller.uid))
        freed = await self._collector.ask(lambda r: Collect(r, request.dry_run))
        return pb.CollectGarbageResponse(versions_expired=freed.versions_expired,
                                         blobs_freed=freed.blobs_freed,
                                         bytes_freed=freed.bytes_freed)
