"""ArtifactService reads: resolving versions, manifests, listings, lineage, references and file
bytes (a mixin of :class:`~trackd_daemon.rpc.artifact_servicer.ArtifactServicer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import grpc

from trackd.v1 import artifact_service_pb2 as pb
from trackd_daemon.artifacts import references, validate
from trackd_daemon.blobs import reading
from trackd_daemon.errors import ArtifactNotFoundError, FailedPreconditionError
from trackd_daemon.local_paths import LocalPaths
from trackd_daemon.rpc.artifact_base import ArtifactContext
from trackd_daemon.rpc.artifact_convert import (
    Owned,
    artifact_to_pb,
    collection_to_pb,
    entry_to_pb,
)
from trackd_daemon.rpc.convert import key_to_pb, page_limit, proxies_from_pb
from trackd_daemon.store.artifact_models import LATEST, LOGGED, USED, CollectionKey

#: Manifest entries per GetManifest message.
MANIFEST_PAGE = 1000
#: Bytes per ReadArtifactFile message.
READ_CHUNK = 1 << 20
MAX_LIST = 10_000


def parse_path(path: str, entity: str, project: str) -> tuple[CollectionKey, str]:
    """``[[entity/]project/]name[:selector]`` -> (collection, selector); bare names mean
    ``latest``."""
    head, sep, selector = path.partition(":")
    parts = head.split("/")
    if not head or len(parts) > 3 or not all(parts) or (sep and not selector):
        raise validate.bad("path", f"expected [[entity/]project/]name[:alias|vN|digest], "
                                   f"not {path!r}")
    name = parts[-1]
    project = parts[-2] if len(parts) >= 2 else project
    entity = parts[-3] if len(parts) == 3 else entity
    if not entity or not project:
        raise validate.bad("path", f"{path!r} needs an entity and a project (in the path or "
                                   "the request)")
    return CollectionKey(entity, project, name), selector or LATEST


class ArtifactReads(ArtifactContext):
    """Reads of the ArtifactService."""

    async def GetArtifact(
        self, request: pb.GetArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetArtifactResponse:
        if request.id:
            _, v = await self.version(context, request.id)
        else:
            key, selector = parse_path(request.path, request.entity, request.project)
            caller = self._guard.caller(context)
            v = await self._store.resolve_version(key, selector)
            self.require(caller, v, "read")
        if request.type and v.type != request.type:
            raise ArtifactNotFoundError(
                f"artifact {request.id or request.path} is of type {v.type!r}, not "
                f"{request.type!r}", artifact=request.id or request.path)
        return pb.GetArtifactResponse(artifact=artifact_to_pb(v))

    async def GetManifest(
        self, request: pb.GetManifestRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GetManifestResponse]:
        _, v = await self.version(context, request.id)
        after = ""
        while True:
            page = await self._store.manifest(v.id, request.path_prefix, list(request.paths),
                                              after, MANIFEST_PAGE)
            if page:
                yield pb.GetManifestResponse(entries=[entry_to_pb(e) for e in page])
            if len(page) < MANIFEST_PAGE:
                return
            after = page[-1].path

    async def ListArtifactCollections(
        self, request: pb.ListArtifactCollectionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListArtifactCollectionsResponse:
        caller = self._guard.caller(context)
        found = await self._store.list_collections(request.entity, request.project, request.type)
        return pb.ListArtifactCollectionsResponse(collections=[
            collection_to_pb(c) for c in found
            if self._guard.policy.allows(caller, Owned(c.key, c.owner_uid, c.owner_name),
                                         "read")])

    async def ListArtifacts(
        self, request: pb.ListArtifactsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListArtifactsResponse:
        caller = self._guard.caller(context)
        found = await self._store.list_versions(request.entity, request.project,
                                                request.collection, request.type,
                                                page_limit(request.limit, 1000, MAX_LIST, "limit"))
        return pb.ListArtifactsResponse(artifacts=[
            artifact_to_pb(v) for v in found if self.may(caller, v)])

    async def GetArtifactLineage(
        self, request: pb.GetArtifactLineageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetArtifactLineageResponse:
        _, v = await self.version(context, request.id)
        logged_by, used_by = await self._store.lineage(v.id)
        resp = pb.GetArtifactLineageResponse(used_by=[key_to_pb(k) for k in used_by])
        if logged_by is not None:
            resp.logged_by.CopyFrom(key_to_pb(logged_by))
        return resp

    async def ListRunArtifacts(
        self, request: pb.ListRunArtifactsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunArtifactsResponse:
        run = await self.run_for(context, request.run, "read")
        caller = self._guard.caller(context)
        kind = USED if request.kind == pb.RUN_ARTIFACTS_KIND_USED else LOGGED
        found = await self._store.run_versions(run, kind)
        return pb.ListRunArtifactsResponse(artifacts=[
            artifact_to_pb(v) for v in found if self.may(caller, v)])

    async def ResolveReference(
        self, request: pb.ResolveReferenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveReferenceResponse:
        if not request.uri or "://" not in request.uri:
            raise validate.bad("uri", f"a reference URI (scheme://...) is needed, not "
                                      f"{request.uri!r}")
        if request.max_objects < 0:
            raise validate.bad("max_objects", "must be >= 0")
        caller = self._guard.caller(context)
        check = LocalPaths(caller, self.trusted(caller))
        http_proxy, https_proxy = proxies_from_pb(request)
        found = await references.resolve(request.uri, request.name, request.checksum,
                                         request.max_objects, check, http_proxy, https_proxy)
        return pb.ResolveReferenceResponse(entries=[entry_to_pb(e) for e in found.entries],
                                           warnings=found.warnings)

    async def ReadArtifactFile(
        self, request: pb.ReadArtifactFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ReadArtifactFileResponse]:
        _, v = await self.version(context, request.id)
        (entry,) = await self._store.manifest(v.id, paths=[request.path]) or [None]
        if entry is None:
            raise ArtifactNotFoundError(f"artifact {v.key}:{v.version} has no file "
                                        f"{request.path!r}", path=request.path)
        if entry.ref or not entry.blob_key:
            raise FailedPreconditionError(
                f"{request.path!r} is a reference to {entry.ref}; fetch it from there"
                if entry.ref else f"{request.path!r} is not stored yet", path=request.path)
        if request.offset < 0 or request.offset > entry.size:
            raise validate.bad("offset", f"must be in [0, {entry.size}]")
        if request.length < 0:
            raise validate.bad("length", "must be >= 0 (0: through the end)")
        first = True
        async with aclosing(reading.chunks(self._blobs, entry.blob_key, READ_CHUNK,
                                           request.offset, request.length)) as data:
            async for chunk in data:
                yield pb.ReadArtifactFileResponse(chunk=chunk, size=entry.size if first else 0)
                first = False

    async def LocateArtifactFiles(
        self, request: pb.LocateArtifactFilesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LocateArtifactFilesResponse:
        caller, v = await self.version(context, request.id)
        trusted = self.trusted(caller)
        resp = pb.LocateArtifactFilesResponse()
        after = ""
        while True:
            page = await self._store.manifest(v.id, paths=list(request.paths), after=after,
                                              limit=MANIFEST_PAGE)
            for e in page:
                path = self._blobs.local_path(e.blob_key) if trusted and e.blob_key else None
                resp.files.add(path=e.path, blob_path=str(path) if path else "", size=e.size,
                               digest=e.digest)
            if len(page) < MANIFEST_PAGE:
                break
            after = page[-1].path
        if request.paths:
            order = {p: i for i, p in enumerate(request.paths)}
            files = sorted(resp.files, key=lambda f: order[f.path])
            del resp.files[:]
            resp.files.extend(files)
        return resp
