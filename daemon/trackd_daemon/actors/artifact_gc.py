"""ArtifactCollector: deletes artifact versions whose TTL passed, drops pending versions whose
storing failed long ago, and frees blobs that no manifest holds (mark and sweep).

A round, every ``interval`` seconds or on request (CollectGarbage):

1. expired versions are deleted (aliases and links with them);
2. pending versions that failed more than ``FAILED_KEEP_SECONDS`` ago are deleted;
3. blob records no manifest holds, older than ``grace``, are forgotten (the store re-checks in
   the same transaction, so a manifest written meanwhile keeps its blob), then their files
   deleted unless written again since ``start - grace`` (a writer that found the bytes stored
   refreshes them; see ``LocalBlobStore.delete``);
4. blob files without a record (a daemon killed between writing and recording them), older than
   ``grace``, are deleted the same way, and leftovers of interrupted writes are removed;
5. file stamps (the daemon's checksum cache) of files that are gone or changed are forgotten,
   ``STAMPS_PER_ROUND`` of them per round from where the last round stopped: the SDK deletes
   its staging copies once stored, and their stamps would otherwise pile up.

Uploads (UploadFile) not yet named by a manifest are kept for ``grace`` (one hour).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import anyio
import anyio.to_thread

from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.artifacts.storing import current_stamp
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import ArtifactNotFoundError
from trackd_daemon.store.artifact_models import FileStamp
from trackd_daemon.store.base import MetadataStore

log = logging.getLogger("trackd.daemon.gc")

#: How long unreferenced bytes are kept: an upload waiting for its LogArtifact, a file stored
#: by a job that has not recorded it yet.
GRACE_SECONDS = 3600.0
#: How long a pending version whose storing failed is kept (a retry with its request id clears
#: the error).
FAILED_KEEP_SECONDS = 24 * 3600.0
#: Rounds run this often.
INTERVAL_SECONDS = 3600.0
#: Blob keys checked against the store per query while sweeping files.
SWEEP_BATCH = 500
#: File stamps checked per round (a stat each, in a worker thread), a page at a time.
STAMPS_PER_ROUND = 50_000
STAMP_PAGE = 1000


@dataclass(frozen=True)
class Freed:
    """What a round deleted (or, dry, would delete)."""

    versions_expired: int = 0
    blobs_freed: int = 0
    bytes_freed: int = 0


@dataclass(frozen=True)
class Collect:
    """Run a round now."""

    reply: Reply[Freed]
    dry_run: bool = False


class ArtifactCollector(Actor[Collect]):
    #: CollectGarbage calls wait here while a round runs; rounds are minutes apart, so a few
    #: queued requests are plenty, and more callers simply wait (each gets its own round).
    mailbox_size = 8
    name = "artifact-gc"

    def __init__(self, store: MetadataStore, blobs: BlobStore,
                 interval: float = INTERVAL_SECONDS, grace: float = GRACE_SECONDS) -> None:
        super().__init__()
        self._store = store
        self._blobs = blobs
        self._interval = interval
        self._grace = grace
        self._stamps_after = ""  # where the next round goes on checking file stamps

    async def loop(self) -> None:
        while True:
            try:
                msg = await self.receive_until(anyio.current_time() + self._interval)
            except anyio.EndOfStream:
                return
            try:
                freed = await self.collect(dry_run=msg.dry_run if msg else False)
            except Exception as exc:
                if msg is None:
                    log.exception("garbage collection failed; retrying next round")
                    continue
                msg.reply.fail(exc)
                continue
            if msg is not None:
                msg.reply.set(freed)

    async def collect(self, dry_run: bool = False, now: float | None = None) -> Freed:
        start = time.time() if now is None else now
        cutoff = start - self._grace
        expired = await self._store.expired_versions(start)
        failed = await self._store.stale_pending_versions(start - FAILED_KEEP_SECONDS)
        if not dry_run:
            for vid in [*expired, *failed]:
                try:
                    await self._store.delete_version(vid, delete_aliases=True, now=start)
                except ArtifactNotFoundError:
                    pass  # deleted meanwhile
        loose = await self._store.unreferenced_blobs(created_before=cutoff)
        blobs = bytes_ = 0
        keys = [b.key for b in loose]
        if dry_run:
            blobs, bytes_ = len(loose), sum(b.size for b in loose)
        else:
            for key in await self._store.forget_blobs(keys):
                freed = await anyio.to_thread.run_sync(self._blobs.delete, key, cutoff)
                blobs += freed > 0
                bytes_ += freed
        n, size = await self._sweep_files(cutoff, dry_run)
        if not dry_run:
            await anyio.to_thread.run_sync(self._blobs.clean_temp, self._grace)
            stale = await self._prune_stamps()
            if stale:
                log.debug("forgot %d file stamp(s) of files gone or changed", stale)
        result = Freed(len(expired), blobs + n, bytes_ + size)
        if result != Freed():
            log.info("garbage collection%s: %d expired version(s), %d blob(s), %d bytes",
                     " (dry run)" if dry_run else "", *result.__dict__.values())
        return result

    async def _prune_stamps(self) -> int:
        """Forget the stamps of files gone or changed, up to STAMPS_PER_ROUND of them checked
        from where the last round stopped; returns how many were forgotten."""
        checked = forgotten = 0
        while checked < STAMPS_PER_ROUND:
            page = await self._store.file_stamps(self._stamps_after, STAMP_PAGE)
            if not page:
                self._stamps_after = ""  # the end: the next round starts again
                break
            self._stamps_after = page[-1].path
            checked += len(page)
            stale = await anyio.to_thread.run_sync(_stale, page)
            if stale:
                forgotten += await self._store.forget_file_stamps(stale)
        return forgotten

    async def _sweep_files(self, cutoff: float, dry_run: bool) -> tuple[int, int]:
        """Blob files older than ``cutoff`` that no record names."""
        old = await anyio.to_thread.run_sync(
            lambda: [(k, size) for k, size, mtime in self._blobs.scan() if mtime < cutoff])
        count = freed = 0
        for i in range(0, len(old), SWEEP_BATCH):
            chunk = dict(old[i:i + SWEEP_BATCH])
            recorded = await self._store.get_blobs(list(chunk))
            held = await self._store.referenced_blobs(list(chunk))
            for key, size in chunk.items():
                if key in recorded or key in held:
                    continue
                if dry_run:
                    count, freed = count + 1, freed + size
                    continue
                n = await anyio.to_thread.run_sync(self._blobs.delete, key, cutoff)
                count, freed = count + (n > 0), freed + n
        return count, freed


def _stale(stamps: list[FileStamp]) -> list[FileStamp]:
    """The stamps whose file is gone, or is not the file stamped any more. Blocking."""
    return [s for s in stamps if current_stamp(s.path) != s]
