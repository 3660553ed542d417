"""The background uploader: what ``log_artifact`` hands an artifact to.

``submit()`` only queues a job (it waits only while ``QUEUE_BOUND`` jobs are queued). One
worker thread per process runs the jobs in order — versions of one collection are created in
the order they were logged — and for each:

1. sends ``LogArtifact`` with the manifest: entries whose digest is known from the checksum
   cache as digest-only (the daemon holds those bytes: nothing is read), the others as local
   paths the daemon reads, hashes and stores in one pass; a daemon on another machine gets
   every file through ``UploadFile`` instead;
2. if the daemon lacks bytes claimed by digest (``BLOB_NOT_FOUND``), or may not read a path
   (``ARTIFACT_PATH_UNREADABLE``), sends those files as local paths, or uploads them;
3. follows the version with ``WatchArtifact`` until it is committed (or deduplicated to an
   existing version), updates the Artifact object, deletes its staging copies and remembers
   the digests the daemon computed.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._shared import artifact_rules as rules
from trackd._transport import artifact_client as client
from trackd._transport.setup import current_settings
from trackd.artifacts import convert, local_files
from trackd.artifacts.digests import FileStat, parallel
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.errors import (
    ArtifactPathUnreadableError,
    BlobNotFoundError,
    CommError,
    Error,
    RpcError,
    UsageError,
    WaitTimeoutError,
)
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

T = TypeVar("T")

#: Jobs queued behind the one being stored. Each holds a manifest in memory (and its staging
#: copies on disk); past this, log_artifact waits for the uploads ahead of it rather than let
#: a training loop that logs faster than the disk stores grow without bound.
QUEUE_BOUND = 64


@dataclass
class Progress:
    """Where a job stands (updated from WatchArtifact)."""

    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_new: int = 0


class UploadJob:
    """One ``log_artifact``/``upsert_artifact``/``finish_artifact`` call."""

    def __init__(self, artifact: Artifact, *, entity: str, project: str, run_ref: Any,
                 aliases: list[str], tags: list[str], history_step: int,
                 distributed_id: str | None, finalize: bool,
                 reconnect_timeout: float = 60.0) -> None:
        self.artifact = artifact
        self.entity, self.project = entity, project
        self.run_ref = run_ref
        self.aliases, self.tags = aliases, tags
        self.history_step = history_step
        self.distributed_id = distributed_id
        self.finalize = finalize
        self.reconnect_timeout = reconnect_timeout
        self.progress = Progress()
        self.deduplicated = False
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._request_id = secrets.token_hex(16)
        self._attempt = 0

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> None:
        """:raises WaitTimeoutError: not finished in time. Re-raises the upload's error."""
        if not self._done.wait(timeout):
            raise WaitTimeoutError("Artifact upload wait timed out, failed to fetch Artifact "
                                   f"response (waited {timeout}s)")
        if self.error is not None:
            raise self.error

    # -- the work (on the uploader thread) ---------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self.error = exc
        finally:
            self._done.set()

    def _run(self) -> None:
        a = self.artifact
        entries = list(a.manifest.entries.values())
        local = client.is_local(client.connection())
        sources = {e.path: _source_of(e, local) for e in entries}
        if not local:
            self._upload(e for e in entries if sources[e.path] == "local")
            sources.update({e.path: "blob" for e in entries if sources[e.path] == "local"})
        a._staging.settle()  # copies announced while added: the daemon has them in hand
        try:
            resp = self._log(entries, sources)
        except BlobNotFoundError:
            # Bytes claimed by digest are not in the store (another daemon logged them, or
            # they were deleted): send those files after all.
            for e in entries:
                if sources[e.path] == "digest" and e.local_path:
                    _restage(a, e)
                    sources[e.path] = "local"
            if not local:
                self._upload(e for e in entries if sources[e.path] == "local")
                sources.update({e.path: "blob" for e in entries if sources[e.path] == "local"})
            resp = self._log_or_upload(entries, sources)
        except ArtifactPathUnreadableError:
            self._upload(e for e in entries if sources[e.path] == "local")
            sources.update({e.path: "blob" for e in entries if sources[e.path] == "local"})
            resp = self._log(entries, sources)
        self.deduplicated = resp.deduplicated
        final = resp.artifact
        early = final.state == apb.ARTIFACT_STATE_COMMITTED and not resp.deduplicated and any(
            e._staged for e in entries)  # its staging copies were stored as they were made
        if early or (final.state != apb.ARTIFACT_STATE_COMMITTED
                     and (self.finalize or not self.distributed_id)):
            final_id = final.id
            final = self._retry(lambda: client.watch(final_id, self._on_progress)).artifact
        elif final.state != apb.ARTIFACT_STATE_COMMITTED:
            final = self._watch_own_files(final)
        self._finish(final, entries)

    def _log_or_upload(self, entries: list[ArtifactManifestEntry], sources: dict[str, str]) -> Any:
        try:
            return self._log(entries, sources)
        except ArtifactPathUnreadableError:
            self._upload(e for e in entries if sources[e.path] == "local")
            sources.update({e.path: "blob" for e in entries if sources[e.path] == "local"})
            return self._log(entries, sources)

    def _log(self, entries: list[ArtifactManifestEntry], sources: dict[str, str]) -> Any:
        request = self._request(entries, sources)  # one request_id: a retry is harmless
        return self._retry(lambda: client.log(request))

    def _retry(self, call: Callable[[], T]) -> T:
        """``call()``, again after the daemon went away (restarted, draining, disk full) until
        ``reconnect_timeout``: it resumes pending versions, and LogArtifact with the same
        request_id returns the same version."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.05
        while True:
            try:
                return call()
            except CommError as exc:
                retryable = not isinstance(exc, RpcError) or exc.code == "RESOURCE_EXHAUSTED"
                if not retryable or time.monotonic() > deadline:
                    raise
                time.sleep(max(delay, min(exc.retry_after or 0.0, 5.0)))
                delay = min(delay * 2, 1.0)
            try:
                client.connection()  # find (or start) the daemon again
            except CommError:
                pass

    def _request(self, entries: list[ArtifactManifestEntry], sources: dict[str, str],
                 ) -> pb.LogArtifactRequest:
        a = self.artifact
        self._attempt += 1
        wire = [convert.entry_to_pb(e, source=sources[e.path]) for e in entries]
        known = all(w.digest for w in wire)
        req = pb.LogArtifactRequest(
            entity=self.entity, project=self.project, name=a._source_name.split(":")[0],
            type=a._type, description=a._description or "",
            metadata_json=json.dumps(a._metadata) if a._metadata else "",
            aliases=self.aliases, tags=self.tags, ttl_seconds=a._ttl_wire(), entries=wire,
            digest=rules.manifest_digest((w.path, w.digest) for w in wire) if known else "",
            history_step=self.history_step, distributed_id=self.distributed_id or "",
            finalize=self.finalize, base_id=a._base_id or "", incremental=a._incremental,
            request_id=f"{self._request_id}-{self._attempt}",
            internal=a._internal,
        )
        if self.run_ref is not None:
            req.run.CopyFrom(self.run_ref)
        return req

    def _upload(self, entries: Any) -> None:
        """Send local files' bytes to the daemon (it cannot read them by path), several at
        once."""
        def one(e: ArtifactManifestEntry) -> None:
            resp = self._retry(lambda: client.upload_file(e.local_path or "", e._digest or ""))
            e._blob, e._digest = resp.blob_key, resp.md5
            e.size = resp.size

        parallel(one, [(e,) for e in entries])

    def _on_progress(self, p: Any) -> None:
        pr = self.progress
        pr.files_done, pr.files_total = p.files_done, p.files_total
        pr.bytes_done, pr.bytes_total, pr.bytes_new = p.bytes_done, p.bytes_total, p.bytes_new

    def _watch_own_files(self, pending: Any) -> Any:
        """A distributed version not finished yet: wait until this writer's files are stored."""
        def follow() -> Any:
            for msg in client.stream("WatchArtifact", pb.WatchArtifactRequest(id=pending.id)):
                self._on_progress(msg.progress)
                if msg.done:
                    return msg.artifact
                if msg.progress.files_done >= msg.progress.files_total:
                    break
            return client.get(artifact_id=pending.id)

        return self._retry(follow)

    def _finish(self, final: Any, entries: list[ArtifactManifestEntry]) -> None:
        a = self.artifact
        committed = final.state == apb.ARTIFACT_STATE_COMMITTED
        if committed and any(e._digest is None for e in entries):
            # Learn the digests the daemon computed: the next log of these files is free.
            stored = self._retry(lambda: client.manifest(final.id))
            local_files.remember_stored(entries, {m.path: m.digest for m in stored})
        with a._lock:
            convert.apply(a, final)
            if committed:
                a._manifest = None  # read back from the daemon: the local paths are gone
        a._staging.release()


def _source_of(e: ArtifactManifestEntry, local: bool) -> str:
    if e.ref is not None:
        return "ref"
    if e._blob:
        return "blob"
    if e.local_path is None:
        return "digest"  # from another version (new_draft): the daemon holds the bytes
    if e._digest is not None and not e._staged and e._policy == "mutable":
        # Not copied when added (its digest was known): claim the stored bytes by digest, so
        # a later edit of the file cannot reach the version (see _restage).
        return "digest"
    # The daemon reads the file, unless it holds bytes with the digest given (if any).
    return "local"


def _restage(artifact: Artifact, e: ArtifactManifestEntry) -> None:
    """A file claimed by digest must be sent after all: for the mutable policy copy it now,
    checking that it still has the content it had when it was added.

    :raises UsageError: it changed since.
    """
    if e._policy != "mutable" or e._source is None:
        return
    try:
        unchanged = FileStat.of(os.stat(e._source)) == e._source_stat
    except OSError:
        unchanged = False
    path, digest, size = artifact._staging.stage(e._source)
    if not unchanged or digest != e._digest:
        raise UsageError(f"file {e._source!r} changed after it was added to artifact "
                         f"{artifact._source_name!r} as {e.path!r}; add it again")
    e.local_path, e._staged, e.size = path, True, size


class Uploader:
    """The process's upload thread and its bounded queue (see the module doc)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._queue: queue.Queue[UploadJob] = queue.Queue(maxsize=QUEUE_BOUND)
        self._thread = threading.Thread(target=self._main, name="trackd-artifacts", daemon=True)
        self._thread.start()

    def submit(self, job: UploadJob) -> None:
        self._queue.put(job)

    def _main(self) -> None:
        while True:
            job = self._queue.get()
            job.run()
            if job.error is not None and not isinstance(job.error, Error):
                messages.error(current_settings(), visible(
                    f"storing artifact {job.artifact._source_name!r} failed: {job.error!r}"))


_uploader: Uploader | None = None
_lock = threading.Lock()


def uploader() -> Uploader:
    """This process's uploader (a new one after fork)."""
    global _uploader
    with _lock:
        if _uploader is None or _uploader.pid != os.getpid():
            _uploader = Uploader()
        return _uploader
