"""Calls to the daemon's ArtifactService over this process's connection (see
``proto/trackd/v1/artifact_service.proto``). Every function blocks the calling thread (never
the connection's loop) and raises :mod:`trackd.errors` exceptions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from trackd._transport import handoff
from trackd._transport.setup import ensure_daemon, state
from trackd.errors import CommError, from_grpc
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb

#: Seconds a unary artifact call may take (listing or resolving large references included).
TIMEOUT = 120.0
#: Bytes per UploadFile message (the protocol allows 4 MiB).
UPLOAD_CHUNK = 4 << 20
#: Stream messages read ahead of the caller: bounds memory while the caller writes a file.
READ_AHEAD = 8
#: Seconds a PrepareStagedFiles hint may take (the daemon answers at once).
HINT_TIMEOUT = 10.0

_stubs: dict[int, Any] = {}
_lock = threading.Lock()


def connection() -> Any:
    """This process's connection to its daemon (found or started as ``init()`` does)."""
    # not loaded by `import trackd`: gRPC
    from trackd._transport.connection import get_connection

    return get_connection(ensure_daemon(state(), restart=True))


def stub(conn: Any) -> Any:
    """The ArtifactService stub of ``conn``'s current channel."""
    key = id(conn.channel)
    with _lock:
        s = _stubs.get(key)
        if s is None:
            # not loaded by `import trackd`: gRPC
            from trackd._transport.connection import make_stub

            async def build() -> Any:
                return make_stub(conn.channel, pb, "ArtifactService")

            s = _stubs[key] = conn.call(build())
        return s


#: What each daemon (by address) said about this caller: whether it opens its paths, and
#: its hand-over socket ("" when none, or when it is not on this machine).
_daemon_here: dict[str, tuple[bool, str]] = {}


def _here(conn: Any) -> tuple[bool, str]:
    address = conn.address
    known = _daemon_here.get(address)
    if known is not None:
        return known
    host = address.rsplit(":", 1)[0].strip("[]")
    found = (False, "")
    if address.startswith("unix:") or host in ("127.0.0.1", "localhost", "::1"):
        # not loaded by `import trackd`: protobuf messages
        from trackd.v1 import daemon_service_pb2

        try:
            info = conn.unary(conn.daemon.GetDaemonInfo,
                              daemon_service_pb2.GetDaemonInfoRequest(), timeout=10)
            found = (bool(info.reads_caller_paths), info.handoff_socket)
        except (CommError, TimeoutError):
            pass
    _daemon_here[address] = found
    return found


def is_local(conn: Any) -> bool:
    """Whether the daemon opens this user's files by path: it runs on this machine (a Unix
    socket or loopback) and says it reads this caller's paths (``GetDaemonInfo``'s
    ``reads_caller_paths``: it does for its own user and root only). A system-wide daemon of
    its own user never opens another user's files: they are handed to it open, or their bytes
    are uploaded, as to another machine."""
    return _here(conn)[0]


def handoff_socket(conn: Any) -> str:
    """The daemon's socket taking open files (``handoff.py``), when it is on this machine."""
    return _here(conn)[1]


def prepare_staged(paths: list[str]) -> concurrent.futures.Future[Any] | None:
    """Tell the daemon about staging copies just made (PrepareStagedFiles: it hashes and
    stores them while the rest are copied), without waiting for its answer; only over the
    connection this process already has (a run's), to a daemon that reads this user's files.
    ``None`` when there is none such: the copies are stored at LogArtifact as always."""
    # not loaded by `import trackd`: gRPC
    from trackd._transport.connection import current_connection

    conn = current_connection()
    if conn is None or not paths or not is_local(conn):
        return None
    method = stub(conn).PrepareStagedFiles
    request = pb.PrepareStagedFilesRequest(local_paths=paths)

    async def send() -> Any:
        return await method(request, timeout=HINT_TIMEOUT)

    return asyncio.run_coroutine_threadsafe(send(), conn.loop)


def unary(name: str, request: Any, timeout: float = TIMEOUT) -> Any:
    conn = connection()
    return conn.unary(getattr(stub(conn), name), request, timeout=timeout)


def stream(name: str, request: Any, timeout: float | None = None) -> Iterator[Any]:
    """The messages of a server-streaming call, read ahead by at most ``READ_AHEAD``."""
    conn = connection()
    return conn.stream(getattr(stub(conn), name), request, READ_AHEAD, timeout)


# -- calls -----------------------------------------------------------------------------------


def log(request: pb.LogArtifactRequest) -> pb.LogArtifactResponse:
    return unary("LogArtifact", request)


def watch(artifact_id: str, on_progress: Callable[[apb.ArtifactProgress], None] | None = None,
          timeout: float | None = None) -> pb.WatchArtifactResponse:
    """Follow a version until it is stored; returns the last message (``done`` set)."""
    last = None
    for msg in stream("WatchArtifact", pb.WatchArtifactRequest(id=artifact_id), timeout):
        if on_progress is not None:
            on_progress(msg.progress)
        last = msg
        if msg.done:
            return msg
    raise CommError(f"the daemon stopped reporting on artifact {artifact_id} before it was "
                    f"stored (last progress: {last.progress if last else 'none'})")


def get(*, artifact_id: str = "", path: str = "", entity: str = "", project: str = "",
        type_: str = "") -> apb.Artifact:
    resp = unary("GetArtifact", pb.GetArtifactRequest(id=artifact_id, path=path, entity=entity,
                                                     project=project, type=type_))
    return resp.artifact


def manifest(artifact_id: str, path_prefix: str = "", paths: list[str] | None = None,
             ) -> list[apb.ManifestEntry]:
    out: list[apb.ManifestEntry] = []
    req = pb.GetManifestRequest(id=artifact_id, path_prefix=path_prefix, paths=paths or [])
    for page in stream("GetManifest", req, TIMEOUT):
        out.extend(page.entries)
    return out


def collections(entity: str, project: str, type_: str = "") -> list[apb.ArtifactCollection]:
    return list(unary("ListArtifactCollections", pb.ListArtifactCollectionsRequest(
        entity=entity, project=project, type=type_)).collections)


def versions(entity: str, project: str, collection: str = "", type_: str = "",
             limit: int = 0) -> list[apb.Artifact]:
    return list(unary("ListArtifacts", pb.ListArtifactsRequest(
        entity=entity, project=project, collection=collection, type=type_, limit=limit)).artifacts)


def update(request: pb.UpdateArtifactRequest) -> apb.Artifact:
    return unary("UpdateArtifact", request).artifact


def delete(artifact_id: str, delete_aliases: bool = False,
           link: apb.ArtifactSource | None = None) -> None:
    unary("DeleteArtifact", pb.DeleteArtifactRequest(id=artifact_id, delete_aliases=delete_aliases,
                                                     link=link))


def link(artifact_id: str, entity: str, project: str, portfolio: str,
         aliases: list[str]) -> apb.Artifact:
    return unary("LinkArtifact", pb.LinkArtifactRequest(
        id=artifact_id, entity=entity, project=project, portfolio=portfolio,
        aliases=aliases)).artifact


def unlink(artifact_id: str, target: apb.ArtifactSource) -> None:
    unary("UnlinkArtifact", pb.UnlinkArtifactRequest(id=artifact_id, link=target))


def use(artifact_id: str, run: Any, use_as: str = "") -> apb.Artifact:
    return unary("UseArtifact", pb.UseArtifactRequest(id=artifact_id, run=run,
                                                      use_as=use_as)).artifact


def lineage(artifact_id: str) -> pb.GetArtifactLineageResponse:
    return unary("GetArtifactLineage", pb.GetArtifactLineageRequest(id=artifact_id))


def run_artifacts(run: Any, used: bool) -> list[apb.Artifact]:
    kind = pb.RUN_ARTIFACTS_KIND_USED if used else pb.RUN_ARTIFACTS_KIND_LOGGED
    return list(unary("ListRunArtifacts", pb.ListRunArtifactsRequest(run=run, kind=kind)).artifacts)


def resolve_reference(uri: str, name: str, checksum: bool, max_objects: int,
                      http_proxy: str = "", https_proxy: str = "",
                      ) -> pb.ResolveReferenceResponse:
    return unary("ResolveReference", pb.ResolveReferenceRequest(
        uri=uri, name=name, checksum=checksum, max_objects=max_objects,
        http_proxy=http_proxy, https_proxy=https_proxy))


def locate(artifact_id: str, paths: list[str]) -> list[apb.ArtifactFileLocation]:
    return list(unary("LocateArtifactFiles", pb.LocateArtifactFilesRequest(
        id=artifact_id, paths=paths)).files)


def read_file(artifact_id: str, path: str, dest: str,
              on_bytes: Callable[[int], None] | None = None) -> int:
    """Stream one stored entry into the new file ``dest``; returns the bytes written."""
    written = 0
    with open(dest, "xb") as out:
        for msg in stream("ReadArtifactFile", pb.ReadArtifactFileRequest(id=artifact_id, path=path),
                          TIMEOUT * 10):
            out.write(msg.chunk)
            written += len(msg.chunk)
            if on_bytes is not None:
                on_bytes(len(msg.chunk))
    return written


def read_range(artifact_id: str, path: str, offset: int, length: int,
               out: Any) -> None:
    """Stream ``length`` bytes of one stored entry from byte ``offset`` into ``out`` (anything
    with ``write``): one part of a multipart download."""
    req = pb.ReadArtifactFileRequest(id=artifact_id, path=path, offset=offset, length=length)
    for msg in stream("ReadArtifactFile", req, TIMEOUT * 10):
        out.write(msg.chunk)


def upload_file(path: str, md5: str = "", on_bytes: Callable[[int], None] | None = None,
                ) -> pb.UploadFileResponse:
    """Send a file's bytes to the daemon's blob store: handed over open where the daemon
    takes open files (``handoff.py``), else streamed (client-streaming, 4 MiB chunks read in
    this thread and handed to the loop through a small queue)."""
    import grpc


    conn = connection()
    sock = handoff_socket(conn)
    if sock:
        try:
            resp = handoff.hand_over(sock, path, md5)
        except (OSError, handoff.HandOffFailed):
            pass  # streamed below, which says what is wrong if anything still is
        else:
            if on_bytes is not None:
                on_bytes(resp.size)
            return resp
    method = stub(conn).UploadFile
    end = object()

    async def make_queue() -> asyncio.Queue[Any]:
        return asyncio.Queue(maxsize=4)  # chunks in flight: 16 MiB of memory at most

    queue = conn.call(make_queue())

    async def requests() -> Any:
        while True:
            item = await queue.get()
            if item is end:
                return
            yield item

    async def call() -> pb.UploadFileResponse:
        return await method(requests(), timeout=TIMEOUT * 10)

    fut = asyncio.run_coroutine_threadsafe(call(), conn.loop)

    def put(item: Any) -> bool:
        """Queue a message; False once the call has ended (its error is raised below)."""
        while not fut.done():
            try:
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(queue.put(item), 1.0),
                                                 conn.loop).result()
                return True
            except TimeoutError:
                continue
        return False

    try:
        size = os.path.getsize(path)
        ok = put(pb.UploadFileRequest(header=pb.UploadFileHeader(size=size, md5=md5,
                                                                 name=os.path.basename(path))))
        with open(path, "rb") as f:
            while ok and (chunk := f.read(UPLOAD_CHUNK)):
                ok = put(pb.UploadFileRequest(chunk=chunk))
                if on_bytes is not None:
                    on_bytes(len(chunk))
        put(end)
        return fut.result()
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc) from None
    finally:
        if not fut.done():
            fut.cancel()


def collect_garbage(dry_run: bool = False) -> pb.CollectGarbageResponse:
    return unary("CollectGarbage", pb.CollectGarbageRequest(dry_run=dry_run))
