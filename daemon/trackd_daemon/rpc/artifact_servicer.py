"""ArtifactService: logging versions, uploads and progress here; reads in
``artifact_reads.py``; changes, links and lineage in ``artifact_changes.py``. The RPCs'
semantics are documented in ``proto/trackd/v1/artifact_service.proto``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import grpc

from trackd._shared.artifact_rules import manifest_digest
from trackd.v1 import artifact_service_pb2 as pb
from trackd_daemon.access import ROOT_UID
from trackd_daemon.actors.artifacts import PRESTAGE_PATHS, Progress, Store
from trackd_daemon.artifacts import validate
from trackd_daemon.artifacts.intake import prepare
from trackd_daemon.blobs import BlobInfo
from trackd_daemon.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    UploadMismatchError,
)
from trackd_daemon.local_paths import LocalPaths
from trackd_daemon.rpc.artifact_changes import ArtifactChanges
from trackd_daemon.rpc.artifact_convert import artifact_to_pb, progress_to_pb
from trackd_daemon.rpc.artifact_reads import ArtifactReads
from trackd_daemon.store.artifact_models import COMMITTED, DELETED, PENDING, BlobRecord, NewVersion

#: Largest upload chunk (the SDK sends 1 MiB).
MAX_CHUNK = 4 << 20
#: How often WatchArtifact reports progress, and checks the store when no job runs here.
WATCH_TICK = 0.1
WATCH_IDLE_TICK = 0.5


class ArtifactServicer(ArtifactReads, ArtifactChanges):
    """The ArtifactService."""

    raw_requests: frozenset[str] = frozenset()

    async def LogArtifact(
        self, request: pb.LogArtifactRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogArtifactResponse:
        key = validate.collection_key(request.entity, request.project, request.name)
        new = NewVersion(
            key=key, type=validate.artifact_type(request.type, request.name, request.internal),
            owner_uid=-1,
            description=request.description, metadata=validate.metadata(request.metadata_json),
            aliases=validate.aliases(request.aliases), tags=validate.tags(request.tags),
            ttl_seconds=validate.ttl(request.ttl_seconds), history_step=request.history_step,
            distributed_id=validate.short_id(request.distributed_id, "distributed_id"),
            finalize=request.finalize, base_id=validate.short_id(request.base_id, "base_id"),
            incremental=request.incremental,
            request_id=validate.short_id(request.request_id, "request_id"),
        )
        entries = validate.entries(request.entries)
        if request.digest:
            if not all(e.digest for e in entries):
                raise InvalidArgumentError("digest: given, but some entries have no digest",
                                           field="digest")
            if manifest_digest((e.path, e.digest) for e in entries) != request.digest:
                raise InvalidArgumentError("digest: not the manifest digest of the entries",
                                           field="digest")
        caller = self._guard.caller(context)
        new.owner_uid, new.owner_name = caller.uid, caller.name
        if request.HasField("run") and request.run.run_id:
            new.run = await self.run_for(context, request.run, "write")
        if request.internal:  # a run_table comes from the run that logged the Table
            validate.run_table(request.type, request.name, request.run.run_id if new.run else "")
        await self.collection_writable(caller, key)
        if new.base_id:
            await self.version(context, new.base_id)
        trusted = self.trusted(caller)
        staged = [e.local_path for e in entries if e.staged] if trusted else []
        # Staging copies taken in early (PrepareStagedFiles): found stored by their stamps.
        await self._uploader.prestaged(staged)
        check = LocalPaths(caller, trusted)
        writers = sorted({caller.uid, ROOT_UID, self._guard.policy.daemon_uid})
        intake = await prepare(self._store, entries, check, trusted,
                               lambda v: self.may(caller, v), caller.uid, writers)
        res = await self._store.log_version(new, intake.entries)
        early = self._uploader.claim_prestaged(staged)
        if res.version.state == PENDING and res.to_store:
            await self._uploader.tell(Store(res.version.id, intake.files_to_store,
                                            intake.bytes_to_store, early if early.files else None))
        elif early.files and res.version.state == COMMITTED:
            self._uploader.stored_early(res.version.id, early)
        return pb.LogArtifactResponse(artifact=artifact_to_pb(res.version),
                                      deduplicated=res.deduplicated)

    async def PrepareStagedFiles(
        self, request: pb.PrepareStagedFilesRequest, context: grpc.aio.ServicerContext
    ) -> pb.PrepareStagedFilesResponse:
        paths = list(request.local_paths)
        if len(paths) > PRESTAGE_PATHS:
            raise InvalidArgumentError(f"local_paths: at most {PRESTAGE_PATHS} per call",
                                       field="local_paths")
        for i, path in enumerate(paths):
            if not path.startswith("/") or "\0" in path:
                raise InvalidArgumentError(f"local_paths[{i}]: not an absolute path: {path!r}",
                                           field=f"local_paths[{i}]")
        caller = self._guard.caller(context)
        if not paths or not self.trusted(caller):
            return pb.PrepareStagedFilesResponse(accepted=0)
        taken = self._uploader.prestage(paths, caller.uid)
        return pb.PrepareStagedFilesResponse(accepted=len(paths) if taken else 0)

    async def UploadFile(
        self, requests: AsyncIterator[pb.UploadFileRequest], context: grpc.aio.ServicerContext
    ) -> pb.UploadFileResponse:
        caller = self._guard.caller(context)
        writer = await anyio.to_thread.run_sync(self._blobs.writer)
        header: pb.UploadFileHeader | None = None
        received = 0
        try:
            async for msg in requests:
                if header is None:
                    header = msg.header if msg.HasField("header") else pb.UploadFileHeader(size=-1)
                if len(msg.chunk) > MAX_CHUNK:
                    raise InvalidArgumentError(f"chunk: at most {MAX_CHUNK} bytes per message",
                                               field="chunk")
                if msg.chunk:
                    received += len(msg.chunk)
                    if header.size >= 0 and received > header.size:
                        raise UploadMismatchError(
                            f"{header.name or 'upload'}: more than the {header.size} bytes "
                            "announced", name=header.name)
                    await anyio.to_thread.run_sync(writer.write, msg.chunk)
            info: BlobInfo = await anyio.to_thread.run_sync(writer.commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(writer.abort)
            raise
        head = header or pb.UploadFileHeader(size=-1)
        if head.size >= 0 and info.size != head.size:
            raise UploadMismatchError(f"{head.name or 'upload'}: {info.size} bytes received, "
                                      f"{head.size} announced", name=head.name)
        if head.md5 and head.md5 != info.md5:
            raise UploadMismatchError(f"{head.name or 'upload'}: MD5 of the bytes received is "
                                      f"{info.md5}, not {head.md5}", name=head.name)
        await self._store.put_blob(BlobRecord(info.key, info.md5, info.size),
                                   uploader_uid=caller.uid)
        return pb.UploadFileResponse(blob_key=info.key, md5=info.md5, size=info.size,
                                     new=info.new)

    async def WatchArtifact(
        self, request: pb.WatchArtifactRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchArtifactResponse]:
        caller = self._guard.caller(context)
        v = await self._store.get_version(validate.short_id(request.id, "id"))
        self.require(caller, v, "read")
        first = v.id
        while True:
            if v.replaced_by:
                v = await self._store.get_version(v.replaced_by)
            if v.state == COMMITTED:
                last = self._uploader.progress(first)  # None when stored long ago, or elsewhere
                yield pb.WatchArtifactResponse(progress=progress_to_pb(v.id, COMMITTED, last),
                                               done=True, artifact=artifact_to_pb(v))
                return
            if v.state == DELETED:
                raise FailedPreconditionError(f"artifact version {v.id} was deleted before it "
                                              "was committed", id=v.id)
            if v.error:
                raise FailedPreconditionError(v.error, id=v.id)
            p = self._uploader.progress(v.id)
            if p is None:
                yield pb.WatchArtifactResponse(progress=progress_to_pb(v.id, PENDING))
                await anyio.sleep(WATCH_IDLE_TICK)
            else:
                async for msg in self._follow(p):
                    yield msg
                if p.error is not None:
                    raise p.error
            v = await self._store.get_version(v.id)

    async def _follow(self, p: Progress) -> AsyncIterator[pb.WatchArtifactResponse]:
        last = None
        while True:
            snap = progress_to_pb(p.version_id, PENDING, p)
            if snap != last:
                yield pb.WatchArtifactResponse(progress=snap)
                last = snap
            if p.done.is_set():
                return
            with anyio.move_on_after(WATCH_TICK):
                await p.done.wait()
