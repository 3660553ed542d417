"""FileService: a run's saved files and its console log (see file_service.proto)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import aclosing

import grpc

from trackd._shared.run_files import name_problem
from trackd.v1 import file_service_pb2 as pb
from trackd.v1 import record_pb2
from trackd_daemon import console_log
from trackd_daemon.actors.file_sync import FileSyncActor, Save, SaveItem
from trackd_daemon.actors.registry import Lookup, RunRegistry
from trackd_daemon.blobs import BlobStore, reading
from trackd_daemon.errors import (
    BlobNotFoundError,
    FailedPreconditionError,
    InvalidArgumentError,
    RunFileNotFoundError,
)
from trackd_daemon.rpc.convert import key_from_pb, page_limit
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo
from trackd_daemon.store.run_data_models import END, LIVE, NOW, RunFileVersion

POLICIES = {pb.FILE_POLICY_UNSPECIFIED: LIVE, pb.FILE_POLICY_NOW: NOW,
            pb.FILE_POLICY_LIVE: LIVE, pb.FILE_POLICY_END: END}
CHUNK = 1 << 20
MAX_FILES_PER_SAVE = 10_000
MAX_CONSOLE_PAGE = 10_000


def _version(v: RunFileVersion) -> pb.FileVersion:
    return pb.FileVersion(version=v.version, size=v.size, md5=v.md5, blob_key=v.key,
                          stored_at=v.stored_at, reason=v.reason)


class FileServicer:
    def __init__(self, registry: RunRegistry, store: MetadataStore, blobs: BlobStore,
                 files: FileSyncActor, guard: Guard) -> None:
        self._registry = registry
        self._store = store
        self._blobs = blobs
        self._files = files
        self._guard = guard

    async def _readable(self, context: grpc.aio.ServicerContext, ref: object) -> RunInfo:
        info = await self._store.get_run(key_from_pb(ref))  # type: ignore[arg-type]
        self._guard.require(context, info, "read")
        return info

    async def SaveFiles(
        self, request: pb.SaveFilesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SaveFilesResponse:
        key = key_from_pb(request.run)
        session = await self._registry.ask(lambda r: Lookup(key, r))
        if session is None:
            info = await self._store.get_run(key)
            self._guard.require(context, info, "write")
            raise FailedPreconditionError(f"run {key} is {info.state}; files can only be saved "
                                          "while it runs")
        caller = self._guard.require(context, session.info, "write")
        if len(request.files) > MAX_FILES_PER_SAVE:
            raise InvalidArgumentError(f"at most {MAX_FILES_PER_SAVE} files per SaveFiles call")
        trusted = self._guard.policy.trusted(caller)
        items = []
        for f in request.files:
            problem = name_problem(f.name)
            if problem:
                raise InvalidArgumentError(problem, field="files.name", path=f.name)
            policy = POLICIES.get(f.policy)
            if policy is None:
                raise InvalidArgumentError(f"{f.name}: unknown file policy {f.policy}",
                                           field="files.policy")
            if bool(f.path) == bool(f.blob_key):
                raise InvalidArgumentError(f"{f.name}: give either a path or a blob",
                                           field="files.path")
            if f.path:
                if not os.path.isabs(f.path):
                    raise InvalidArgumentError(f"{f.name}: the path must be absolute, got "
                                               f"{f.path!r}", field="files.path")
                items.append(SaveItem(f.name, policy, path=f.path))
                continue
            blob = await self._store.get_blob(f.blob_key)
            if blob is None or not (trusted or await self._store.blob_uploaded_by(
                    f.blob_key, caller.uid)):
                raise BlobNotFoundError(f"{f.name}: no uploaded bytes {f.blob_key[:12]}... "
                                        "of this user", path=f.name)
            items.append(SaveItem(f.name, policy, blob=BlobRecord(blob.key, blob.md5,
                                                                  blob.size)))
        saved = await self._files.ask(lambda r: Save(session, items, caller, trusted, r))
        return pb.SaveFilesResponse(results=[
            pb.SaveFileResult(name=s.name, version=s.version, unreadable=s.unreadable)
            for s in saved])

    async def ListFiles(
        self, request: pb.ListFilesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFilesResponse:
        info = await self._readable(context, request.run)
        names = list(request.names)
        out = [pb.RunFile(name=f.latest.name, latest=_version(f.latest), versions=f.versions,
                          history=[_version(v) for v in f.history])
               for f in await self._store.list_run_files(info.pk, names, request.versions)]
        when = info.finished_at or info.updated_at
        for name, _part, size in console_log.file_names(await self._store.console_parts(info.pk)):
            if names and name not in names:
                continue
            latest = pb.FileVersion(version=1, size=size, stored_at=when, reason="console")
            out.append(pb.RunFile(name=name, latest=latest, versions=1,
                                  history=[latest] if request.versions else []))
        out.sort(key=lambda f: f.name)
        return pb.ListFilesResponse(files=out)

    async def ReadFile(
        self, request: pb.ReadFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ReadFileResponse]:
        info = await self._readable(context, request.run)
        problem = name_problem(request.name)
        if problem:
            raise InvalidArgumentError(problem, field="name", path=request.name)
        found, part, size = console_log.lookup(
            request.name, await self._store.console_parts(info.pk))
        if found:
            first = True
            async for text in console_log.render(self._store, info.pk, part):
                for i in range(0, len(text), CHUNK):
                    yield pb.ReadFileResponse(chunk=text[i:i + CHUNK], size=size if first else 0)
                    first = False
            if first:
                yield pb.ReadFileResponse(size=0)
            return
        v = await self._store.get_run_file(info.pk, request.name, request.version)
        if v is None:
            which = f"version {request.version} of " if request.version else ""
            raise RunFileNotFoundError(f"run {info.key} has no {which}file {request.name!r}",
                                       path=request.name)
        first = True
        async with aclosing(reading.chunks(self._blobs, v.key, CHUNK)) as data:
            async for chunk in data:
                yield pb.ReadFileResponse(chunk=chunk, size=v.size if first else 0)
                first = False

    async def DeleteFiles(
        self, request: pb.DeleteFilesRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteFilesResponse:
        key = key_from_pb(request.run)
        info = await self._store.get_run(key)
        self._guard.require(context, info, "write")
        if not request.names:
            raise InvalidArgumentError("name at least one file to delete", field="names")
        if len(request.names) > MAX_FILES_PER_SAVE:
            raise InvalidArgumentError(f"at most {MAX_FILES_PER_SAVE} files per DeleteFiles "
                                       "call", field="names")
        if await self._registry.ask(lambda r: Lookup(key, r)) is not None:
            raise FailedPreconditionError(f"run {key} is running; its files can be deleted "
                                          "once it has finished")
        parts = await self._store.console_parts(info.pk)
        names = list(dict.fromkeys(request.names))
        for name in names:
            problem = name_problem(name)
            if problem:
                raise InvalidArgumentError(problem, field="names", path=name)
            if console_log.lookup(name, parts)[0]:
                raise InvalidArgumentError(f"{name!r} is the run's console log, which cannot "
                                           "be deleted", field="names", path=name)
        stored = {f.latest.name for f in await self._store.list_run_files(info.pk, names)}
        missing = [n for n in names if n not in stored]
        if missing:
            raise RunFileNotFoundError(f"run {info.key} has no file {missing[0]!r}",
                                       path=missing[0])
        return pb.DeleteFilesResponse(versions=await self._store.delete_run_files(info.pk,
                                                                                  names))

    async def ReadConsole(
        self, request: pb.ReadConsoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReadConsoleResponse:
        info = await self._readable(context, request.run)
        limit = page_limit(request.limit, 1000, MAX_CONSOLE_PAGE, "limit")
        lines = await self._store.read_console(info.pk, max(0, request.offset), limit)
        total = sum(p.lines for p in await self._store.console_parts(info.pk))
        return pb.ReadConsoleResponse(total=total, lines=[
            record_pb2.ConsoleLine(stream=ln.stream, line=ln.line, timestamp=ln.timestamp,
                                   text=ln.text) for ln in lines])
