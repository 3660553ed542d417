"""ArtifactUploader: stores the files of pending artifact versions and commits them.

A version is PENDING in the store with entries naming local paths still to be stored. For each
such version the actor runs a job: a feeder hands the entries (read from the store in pages) to
``workers`` tasks, each of which copies files into the blob store in a worker thread (a few
small ones per trip), hashing each (key and MD5) as it goes (a staged file, the SDK's
private copy, is taken over instead of copied where the blob store can: read once, never
written again); a collector
publishes the prepared blobs a batch at a time (made durable together: a flush of the file
system per batch rather than an fsync per file), then records them in the store. A blob is
recorded only once it is durable, so a committed version's bytes are all on the disk. Once
nothing is left to store and a commit was requested, the version is committed in one store
transaction. A daemon killed at any point leaves the version PENDING (never half-committed):
the next daemon resumes every pending version when the actor starts, storing only what was not
recorded yet.

Staging copies announced before their version (``Prestage``, from PrepareStagedFiles) are
taken into the blob store, hashed, made durable and recorded by their file stamps at once, a
batch per message, while the client is still copying the rest; LogArtifact waits for those in
hand (:meth:`ArtifactUploader.prestaged`) and then finds them stored. Only files the blob store
can take over are handled so; the rest are left to the version's job.

Progress (files and bytes stored) is kept per version for ``WatchArtifact``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from trackd_daemon.actors.base import Actor
from trackd_daemon.artifacts.storing import (
    GROUP_FILES,
    Prepared,
    ignore_bytes,
    next_group,
    prepare_files,
    publish,
    restamp,
    takeable,
)
from trackd_daemon.blobs import BlobStore, PendingBlob
from trackd_daemon.errors import FailedPreconditionError, TrackdError
from trackd_daemon.local_paths import trusted_uid
from trackd_daemon.store.artifact_models import BlobRecord, Entry, VersionInfo
from trackd_daemon.store.base import MetadataStore

log = logging.getLogger("trackd.daemon.artifacts")

#: Files copied and hashed at once: two per core (hashlib releases the GIL, so threads use
#: every core, and while one waits on the disk another hashes), plus two.
WORKERS = 2 * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2) + 2
#: Entries read from the store per page (the next page is read while the last is stored).
PAGE = 512
#: A batch of files is published (made durable together: flushes of the file system) and
#: recorded once it holds this many files or bytes, or is this old (seconds). Each flush
#: stalls the file system's other writers a moment (a journal commit), so batches are not
#: small; progress and resumption move in these steps.
RECORD_BATCH = 64
RECORD_BYTES = 64 << 20
RECORD_EVERY = 0.2
#: Finished versions whose final progress is kept for late watchers (a few hundred bytes each).
RECENT = 1024
#: Paths per Prestage message (PrepareStagedFiles refuses more): with the mailbox bound, at
#: most 1,024 x 1,024 paths are in hand, each an event and a path string.
PRESTAGE_PATHS = 1024
#: Staging copies taken in early whose sizes are kept until their LogArtifact claims them (for
#: its progress); the oldest are forgotten first (a few dozen bytes each).
PRESTAGED_KEPT = 16 * PRESTAGE_PATHS


@dataclass
class Progress:
    """A version's storing, as WatchArtifact reports it."""

    version_id: str
    #: The version's owner: recorded as the writer of the blobs stored for it.
    owner_uid: int | None = None
    files_total: int = 0
    bytes_total: int = 0
    files_done: int = 0
    bytes_done: int = 0
    bytes_new: int = 0
    done: anyio.Event = field(default_factory=anyio.Event)
    result: VersionInfo | None = None
    error: TrackdError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, n: int) -> None:
        """Called from worker threads for each chunk copied."""
        with self._lock:
            self.bytes_done += n

    def finish(self, result: VersionInfo | None, error: TrackdError | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


@dataclass(frozen=True)
class Store:
    """Store (and, when requested, commit) a pending version; ``files``/``bytes`` are what the
    caller found to store (for progress)."""

    version_id: str
    files: int = 0
    bytes: int = 0
    #: Of those, taken in before LogArtifact (Prestage): already stored, ``new`` bytes of them
    #: new to the blob store.
    early: HeadStart | None = None


@dataclass(frozen=True)
class HeadStart:
    """Files of a version stored before it was logged (Prestage), for its progress."""

    files: int = 0
    bytes: int = 0
    new: int = 0


@dataclass(frozen=True)
class Prestage:
    """Staging copies a trusted caller (``uid``) has just made, to take in before the
    LogArtifact that names them."""

    paths: tuple[str, ...]
    uid: int


def _domain_error(exc: BaseException) -> TrackdError | None:
    """The first domain error in ``exc`` (task groups wrap their children's errors)."""
    if isinstance(exc, TrackdError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _domain_error(inner)
            if found is not None:
                return found
    return None


class ArtifactUploader(Actor[Store | Prestage]):
    #: One message per LogArtifact call (or resumed version): only a version id and two counts;
    #: or per PrepareStagedFiles call (a list of paths). Jobs run beside the loop, so the
    #: mailbox drains as fast as messages come; 1,024 absorbs a burst of distributed writers
    #: while a full mailbox still pushes back on LogArtifact (and drops hints).
    mailbox_size = 1024
    name = "artifact-uploader"

    def __init__(self, store: MetadataStore, blobs: BlobStore, workers: int = WORKERS) -> None:
        super().__init__()
        self._store = store
        self._blobs = blobs
        self._workers = workers
        #: Threads doing copies, shared by every job: at most ``workers`` files at once.
        self._limiter = anyio.CapacityLimiter(workers)
        self._progress: dict[str, Progress] = {}
        #: Progress of versions whose job ended, for watchers that come late (the SDK's
        #: ``wait()`` after a short job): the last RECENT of them, oldest dropped first.
        self._recent: OrderedDict[str, Progress] = OrderedDict()
        self._again: dict[str, bool] = {}  # running jobs: whether to look again when done
        #: Staging copies in hand (Prestage): set once each is stored, or left alone.
        self._prestaging: dict[str, anyio.Event] = {}
        #: Staging copies taken in early, not claimed yet: path -> (bytes, new bytes).
        self._prestaged: OrderedDict[str, tuple[int, int]] = OrderedDict()

    # -- for the servicer ----------------------------------------------------------------------

    def progress(self, version_id: str) -> Progress | None:
        """The progress of a version being stored now, or whose job ended recently."""
        return self._progress.get(version_id) or self._recent.get(version_id)

    def busy(self) -> bool:
        return bool(self._again or self._prestaging)

    def prestage(self, paths: list[str], uid: int) -> bool:
        """Take staging copies in hand (see the module doc); ``False``, nothing done, when the
        mailbox is full. Their paths are in hand from now on: a LogArtifact that comes next
        waits for them even before the message is read."""
        msg = Prestage(tuple(p for p in dict.fromkeys(paths) if p not in self._prestaging), uid)
        try:
            self.tell_nowait(msg)
        except anyio.WouldBlock:
            return False
        for path in msg.paths:
            self._prestaging[path] = anyio.Event()
        return True

    def claim_prestaged(self, paths: list[str]) -> HeadStart:
        """What of ``paths`` was taken in early (and is not counted again)."""
        files = size = new = 0
        for path in paths:
            got = self._prestaged.pop(path, None)
            if got is not None:
                files, size, new = files + 1, size + got[0], new + got[1]
        return HeadStart(files, size, new)

    def stored_early(self, version_id: str, early: HeadStart) -> None:
        """The progress of a version committed at once because all of its files were stored
        before it was logged (no job runs for it), for its watchers."""
        p = Progress(version_id, files_total=early.files, bytes_total=early.bytes)
        p.files_done, p.bytes_done, p.bytes_new = early.files, early.bytes, early.new
        p.done.set()
        self._recent[version_id] = p
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    async def prestaged(self, paths: list[str]) -> None:
        """Wait until none of ``paths`` is still in hand."""
        for path in paths:
            event = self._prestaging.get(path)
            if event is not None:
                await event.wait()

    # -- the loop ------------------------------------------------------------------------------

    async def loop(self) -> None:
        removed = await anyio.to_thread.run_sync(self._blobs.clean_temp)
        if removed:
            log.info("removed %d partial blob write(s) left by an earlier daemon", removed)
        async with anyio.create_task_group() as tg:
            for v in await self._store.pending_versions():
                log.info("resuming artifact version %s (%s)", v.id, v.key)
                self._start(tg, Store(v.id))
            async for msg in self._recv:
                if isinstance(msg, Prestage):
                    tg.start_soon(self._prestage, msg)
                else:
                    self._start(tg, msg)

    def _start(self, tg: TaskGroup, msg: Store) -> None:
        p = self._progress.get(msg.version_id)
        if p is None or p.done.is_set():
            p = self._progress[msg.version_id] = Progress(msg.version_id)
            self._recent.pop(msg.version_id, None)
        p.files_total += msg.files
        p.bytes_total += msg.bytes
        if msg.early is not None:
            p.files_total += msg.early.files
            p.bytes_total += msg.early.bytes
            p.files_done += msg.early.files
            p.add_bytes(msg.early.bytes)
            p.bytes_new += msg.early.new
        if msg.version_id in self._again:
            self._again[msg.version_id] = True
            return
        self._again[msg.version_id] = False
        tg.start_soon(self._job, p)

    async def _job(self, p: Progress) -> None:
        vid = p.version_id
        try:
            p.owner_uid = (await self._store.get_version(vid)).owner_uid
            if not trusted_uid(p.owner_uid) and await self._store.unstored_entries(vid, 1):
                # Files named by path for another user: only a daemon from before paths were
                # opened for the daemon's user and root alone could have accepted them.
                raise FailedPreconditionError(
                    f"artifact version {vid} names local files of uid {p.owner_uid}, whose paths "
                    "this daemon does not open; log the artifact again (its bytes are uploaded)",
                    id=vid)
            while True:
                self._again[vid] = False
                await self._store_all(p)
                done = await self._store.try_commit(vid)
                if done is not None:
                    log.info("committed artifact %s:%s (%s)", done.key, done.version, done.id)
                    p.finish(done)
                    return
                if not self._again[vid]:
                    return  # waits for more files or a commit request (distributed versions)
        except Exception as exc:  # every failure fails the version (kept PENDING)
            err = _domain_error(exc)
            if err is None:
                log.exception("artifact version %s failed", vid)
                err = FailedPreconditionError(f"storing artifact version {vid} failed: {exc!r}")
            else:
                log.warning("artifact version %s failed: %s", vid, err.message)
            with anyio.CancelScope(shield=True):
                await self._store.fail_version(vid, err.message)
            p.finish(None, err)
        finally:
            self._again.pop(vid, None)
            if p.done.is_set() and self._progress.get(vid) is p:
                del self._progress[vid]
                self._recent[vid] = p
                while len(self._recent) > RECENT:
                    self._recent.popitem(last=False)

    async def _prestage(self, msg: Prestage) -> None:
        """Take in, hash, publish and record a batch of staging copies, on the job threads;
        whatever fails is left to the version's job (this is a head start, never a source of
        errors)."""
        entries = [Entry(path=p, local_path=p, staged=True) for p in msg.paths]
        prepared: list[Prepared] = []
        try:
            todo = iter(await anyio.to_thread.run_sync(takeable, self._blobs, entries))

            async def worker() -> None:
                while group := next_group(todo):
                    try:
                        prepared.extend(await anyio.to_thread.run_sync(
                            prepare_files, self._blobs, group, ignore_bytes, limiter=self._limiter))
                    except TrackdError:
                        pass  # gone, changed, unreadable: the version's job will say

            async with anyio.create_task_group() as tg:
                for _ in range(self._workers):
                    tg.start_soon(worker)
            if prepared:
                infos = await anyio.to_thread.run_sync(publish, self._blobs,
                                                       [b for _, b, _ in prepared])
                stamps = await anyio.to_thread.run_sync(restamp, [s for _, _, s in prepared])
                await self._store.record_files(
                    [(s, BlobRecord(i.key, i.md5, i.size))
                     for s, i in zip(stamps, infos, strict=True) if s is not None], msg.uid)
                prepared = []
                for s, i in zip(stamps, infos, strict=True):
                    if s is not None:
                        self._prestaged[s.path] = (i.size, i.size if i.new else 0)
                while len(self._prestaged) > PRESTAGED_KEPT:
                    self._prestaged.popitem(last=False)
        except Exception as exc:  # noqa: BLE001 - a head start only: the version job stores them
            log.debug("taking %d staging copies in early failed: %r", len(msg.paths), exc)
        finally:
            if prepared:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._blobs.discard,
                                                   [b for _, b, _ in prepared])
            for path in msg.paths:
                event = self._prestaging.pop(path, None)
                if event is not None:
                    event.set()

    async def _store_all(self, p: Progress) -> None:
        """Store every unstored entry of the version: passes over its pages until a pass
        finds none left (entries added meanwhile by another writer are found by the next)."""
        while await self._store.unstored_entries(p.version_id, 1):
            await self._store_pass(p)

    async def _store_pass(self, p: Progress) -> None:
        """One pass over the unstored entries, page after page: the next page is read while
        the files of the last are still copied, so the workers never wait for a batch to be
        made durable at the end of a page."""
        # Groups read ahead of the workers: one each, so none waits for the next page; each
        # holds a few entries of a few hundred bytes.
        groups_send, groups = anyio.create_memory_object_stream[list[Entry]](self._workers)
        # Prepared files wait here while a batch is published (flushes: tens of milliseconds):
        # a batch's worth, plus a group per worker, keeps the workers copying meanwhile; each
        # is a few hundred bytes.
        send, recv = anyio.create_memory_object_stream[Prepared](
            RECORD_BATCH + GROUP_FILES * self._workers)
        #: Prepared, not published yet: dropped if the pass fails.
        unpublished: dict[str, PendingBlob] = {}

        async def feed() -> None:
            async with groups_send:
                after = 0
                while page := await self._store.unstored_entries(p.version_id, PAGE, after):
                    after = page[-1].id
                    todo = iter(page)
                    while group := next_group(todo):
                        await groups_send.send(group)

        async def worker() -> None:
            async for group in groups:  # each group goes to exactly one worker
                done = await anyio.to_thread.run_sync(
                    prepare_files, self._blobs, group, p.add_bytes, limiter=self._limiter)
                for item in done:
                    unpublished[item[1].token] = item[1]
                for item in done:
                    await send.send(item)

        async def workers() -> None:
            async with send, groups, anyio.create_task_group() as tg:
                for _ in range(self._workers):
                    tg.start_soon(worker)

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(feed)
                tg.start_soon(workers)
                await self._collect(p, recv, unpublished)
        except BaseException:
            with anyio.CancelScope(shield=True):
                left = list(unpublished.values())
                await anyio.to_thread.run_sync(self._blobs.discard, left)
            raise

    async def _collect(self, p: Progress, recv: anyio.abc.ObjectReceiveStream[Prepared],
                       unpublished: dict[str, PendingBlob]) -> None:
        batch: list[Prepared] = []
        size = 0
        last = time.monotonic()
        async with recv:
            async for item in recv:
                batch.append(item)
                size += item[1].size
                p.files_done += 1  # hashed and copied; durable with its batch
                if (len(batch) >= RECORD_BATCH or size >= RECORD_BYTES
                        or time.monotonic() - last >= RECORD_EVERY):
                    await self._publish(p, batch, unpublished)
                    batch, size, last = [], 0, time.monotonic()
        if batch:
            await self._publish(p, batch, unpublished)

    async def _publish(self, p: Progress, batch: list[Prepared],
                       unpublished: dict[str, PendingBlob]) -> None:
        """Make a batch durable, then record it: the store never names bytes that a power
        loss could take away."""
        pending = [b for _, b, _ in batch]
        started = time.monotonic()
        infos = await anyio.to_thread.run_sync(publish, self._blobs, pending)
        log.debug("version %s: %d files (%d bytes) made durable in %.3f s", p.version_id,
                  len(pending), sum(b.size for b in pending), time.monotonic() - started)
        for b in pending:
            unpublished.pop(b.token, None)
        records = [(e.id, BlobRecord(i.key, i.md5, i.size))
                   for (e, _, _), i in zip(batch, infos, strict=True)]
        await self._store.record_stored(p.version_id, records,
                                        [(s, r) for (_, _, s), (_, r) in zip(batch, records,
                                                                             strict=True)],
                                        p.owner_uid)
        p.bytes_new += sum(i.size for i in infos if i.new)


async def wait_done(p: Progress, on_tick: Callable[[Progress], Awaitable[None]],
                    interval: float = 0.1) -> None:
    """Call ``on_tick`` every ``interval`` seconds until ``p`` is done."""
    while not p.done.is_set():
        with anyio.move_on_after(interval):
            await p.done.wait()
        if not p.done.is_set():
            await on_tick(p)
