"""FileSyncActor: stores a run's saved files (``run.save``) in the blob store, as versions of
the run's files.

- ``Save`` registers files with their policies (remembered in the store, so ``end`` files
  survive a daemon restart) and stores ``now`` and ``live`` files at once.
- ``live`` files are watched (watchfiles: inotify on Linux; one watcher per run over the
  files' directories, debounced) and stored again after each change whose bytes differ from
  the last version's.
- ``FinishFiles`` (FinishRun, or the run crashing) stops the run's watcher and stores its
  ``end`` files and, once more, its ``live`` files.
- ``WatchAgain`` (a run recovered by a restarted daemon) watches its ``live`` files again.

The daemon opens a path only for its own user and root (``local_paths.py``): anyone else's
paths are answered ``unreadable`` without being touched, and the client sends their bytes (and
keeps their policy itself). So a registered file, read again later on its owner's behalf,
always belongs to one of those two users. Copies and hashes run in worker threads
(``IO_THREADS`` at a time); the work of one run is serialised by the run's lock, so a finish
never overtakes a save.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from trackd_daemon.access import Caller
from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import FailedPreconditionError, PathUnreadableError
from trackd_daemon.local_paths import LocalPaths, trusted_uid
from trackd_daemon.session import RunSession
from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.run_data_models import END, LIVE, NOW, FileSpec, RunFileVersion

log = logging.getLogger("trackd.daemon.file_sync")

#: Files copied and hashed at once (each a worker thread reading and fsyncing).
IO_THREADS = 4
#: watchfiles: changes are grouped until the file has been quiet this long (ms), at most
#: DEBOUNCE_MS after the first; a checkpoint written in several bursts is stored once.
QUIET_MS = 300
DEBOUNCE_MS = 1000
#: Messages being served at once; past this the mailbox (and then the callers) wait.
MAX_IN_FLIGHT = 64


@dataclass(frozen=True)
class SaveItem:
    """One file of a Save: a local ``path``, or bytes uploaded before (``blob``)."""

    name: str
    policy: str
    path: str = ""
    blob: BlobRecord | None = None


@dataclass(frozen=True)
class Saved:
    """What became of a SaveItem: the version stored now (0: none), or unreadable."""

    name: str
    version: int = 0
    unreadable: bool = False


@dataclass(frozen=True)
class Save:
    session: RunSession
    items: list[SaveItem]
    caller: Caller
    trusted: bool
    reply: Reply[list[Saved]]


@dataclass(frozen=True)
class FinishFiles:
    """The run ends: store its end and live files; replies when they are stored."""

    session: RunSession
    reply: Reply[None]


@dataclass(frozen=True)
class WatchAgain:
    """A recovered run: watch its live files again (their registrations are in the store)."""

    session: RunSession


FileSyncMsg = Save | FinishFiles | WatchAgain


@dataclass(eq=False)
class _Run:
    pk: int
    key: str
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    #: Live files by absolute path.
    live: dict[str, FileSpec] = field(default_factory=dict)
    stop: anyio.Event | None = None  # the running watcher's
    dirs: frozenset[str] = frozenset()
    finished: bool = False


class FileSyncActor(Actor[FileSyncMsg]):
    #: One message per SaveFiles call or finish; each waits for its reply, so the mailbox only
    #: holds what concurrent clients sent at once. 256 absorbs many runs finishing together.
    mailbox_size = 256
    name = "file-sync"

    def __init__(self, store: MetadataStore, blobs: BlobStore) -> None:
        super().__init__()
        self._store = store
        self._blobs = blobs
        self._runs: dict[int, _Run] = {}
        self._io = anyio.CapacityLimiter(IO_THREADS)
        self._tg: TaskGroup | None = None
        self._slots = anyio.Semaphore(MAX_IN_FLIGHT)
        #: Versions stored, by reason (statistics and tests).
        self.stored: dict[str, int] = {}

    async def loop(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            async for msg in self._recv:
                await self._slots.acquire()
                tg.start_soon(self._serve, msg)
            for r in self._runs.values():  # stop the watchers; the task group then ends
                if r.stop is not None:
                    r.stop.set()

    async def _serve(self, msg: FileSyncMsg) -> None:
        try:
            if isinstance(msg, Save):
                msg.reply.set(await self._save(msg))
            elif isinstance(msg, FinishFiles):
                await self._finish(msg.session)
                msg.reply.set(None)
            else:
                await self._watch_again(msg.session)
        except Exception as exc:  # the caller gets it
            if isinstance(msg, WatchAgain):
                log.exception("run %s: its live files are not watched again", msg.session.key)
            else:
                msg.reply.fail(exc)
        finally:
            self._slots.release()

    def _run(self, session: RunSession) -> _Run:
        r = self._runs.get(session.pk)
        if r is None:
            r = self._runs[session.pk] = _Run(session.pk, str(session.key))
        return r

    # -- saving --------------------------------------------------------------------------------

    async def _save(self, msg: Save) -> list[Saved]:
        r = self._run(msg.session)
        out: list[Saved] = []
        async with r.lock:
            if r.finished:
                raise FailedPreconditionError(f"run {r.key} has finished; files cannot be saved")
            # Paths of anyone but the daemon's user and root are never opened, nor registered
            # to be read later: they come back unreadable and the client sends the bytes.
            specs = [FileSpec(i.name, i.path, i.policy, msg.caller.uid, msg.caller.gid)
                     for i in msg.items if i.blob is None] if msg.trusted else []
            if specs:
                await self._store.put_file_specs(r.pk, specs)
            for item in msg.items:
                if item.blob is not None:
                    v = await self._store.add_run_file(r.pk, item.name, item.blob, "upload",
                                                       time.time())
                    self._count("upload")
                    out.append(Saved(item.name, v.version if v else 0))
                    continue
                if not msg.trusted:
                    out.append(Saved(item.name, unreadable=True))
                    continue
                spec = FileSpec(item.name, item.path, item.policy, msg.caller.uid,
                                msg.caller.gid)
                if item.policy == END:
                    try:  # refused now rather than at finish, when nobody can act on it
                        await anyio.to_thread.run_sync(self._check, spec, msg.trusted)
                    except (PathUnreadableError, FileNotFoundError):
                        out.append(Saved(item.name, unreadable=True))
                        continue
                    out.append(Saved(item.name))
                    continue
                try:
                    v = await self._ingest(r, spec, msg.trusted, item.policy)
                except (PathUnreadableError, FileNotFoundError):
                    # Not readable here, or not here at all (a client on another machine):
                    # the client sends the bytes.
                    out.append(Saved(item.name, unreadable=True))
                    continue
                out.append(Saved(item.name, v.version if v else 0))
                if item.policy == LIVE:
                    r.live[os.path.abspath(item.path)] = spec
            self._rewatch(r)
        return out

    async def _watch_again(self, session: RunSession) -> None:
        r = self._run(session)
        async with r.lock:
            for spec in await self._store.file_specs(r.pk):
                if spec.policy == LIVE and self._trusted(spec):
                    r.live[os.path.abspath(spec.path)] = spec
            self._rewatch(r)

    @staticmethod
    def _trusted(spec: FileSpec) -> bool:
        """Whether the spec's user is the daemon's own or root (a spec of anyone else can only
        come from a store written before the daemon stopped opening their paths)."""
        return trusted_uid(spec.uid)

    def _check(self, spec: FileSpec, trusted: bool) -> os.stat_result:
        """:raises PathUnreadableError: the daemon does not open the spec's user's paths."""
        return LocalPaths(Caller(spec.uid, spec.gid), trusted).stat(spec.path,
                                                                     f"run file {spec.name!r}")

    async def _ingest(self, r: _Run, spec: FileSpec, trusted: bool, reason: str,
                      skip_same: bool = False) -> RunFileVersion | None:
        """Copy a file into the blob store and record it as the file's next version.

        :raises PathUnreadableError: the caller may not read it.
        :raises FileNotFoundError: it is gone.
        """
        def copy() -> BlobRecord:
            self._check(spec, trusted)
            info = self._blobs.ingest(Path(spec.path))
            return BlobRecord(info.key, info.md5, info.size)

        blob = await anyio.to_thread.run_sync(copy, limiter=self._io)
        v = await self._store.add_run_file(r.pk, spec.name, blob, reason, time.time(), skip_same)
        if v is not None:
            self._count(reason)
        return v

    def _count(self, reason: str) -> None:
        self.stored[reason] = self.stored.get(reason, 0) + 1

    # -- watching live files -------------------------------------------------------------------

    def _rewatch(self, r: _Run) -> None:
        """(Re)start the run's watcher when its live files' directories changed."""
        dirs = frozenset(os.path.dirname(p) for p in r.live)
        if dirs == r.dirs or self._tg is None:
            return
        if r.stop is not None:
            r.stop.set()
        r.dirs, r.stop = dirs, anyio.Event()
        if dirs:
            self._tg.start_soon(self._watch, r, r.stop, sorted(dirs))

    async def _watch(self, r: _Run, stop: anyio.Event, dirs: Sequence[str]) -> None:
        import watchfiles

        try:
            async for changes in watchfiles.awatch(
                    *dirs, watch_filter=lambda _change, path: path in r.live, recursive=False,
                    debounce=DEBOUNCE_MS, step=QUIET_MS, stop_event=stop):
                paths = sorted({path for change, path in changes
                                if change != watchfiles.Change.deleted})
                async with r.lock:
                    if stop.is_set() or r.finished:
                        return
                    for path in paths:
                        spec = r.live.get(path)
                        if spec is None:
                            continue
                        try:
                            await self._ingest(r, spec, self._trusted(spec), "change",
                                               skip_same=True)
                        except (OSError, PathUnreadableError) as exc:
                            log.info("run %s: live file %r not stored: %s", r.key, spec.name, exc)
        except Exception:
            log.exception("run %s: watching live files failed; they are stored at finish",
                          r.key)

    # -- finishing -----------------------------------------------------------------------------

    async def _finish(self, session: RunSession) -> None:
        r = self._run(session)
        async with r.lock:
            if r.stop is not None:
                r.stop.set()
            r.finished = True
            for spec in await self._store.file_specs(r.pk):
                if spec.policy not in (LIVE, END):
                    continue
                try:
                    await self._ingest(r, spec, self._trusted(spec),
                                       "end" if spec.policy == END else "finish")
                except (OSError, PathUnreadableError) as exc:
                    log.warning("run %s: %s file %r not stored at finish: %s", r.key, spec.policy,
                                spec.name, exc)
        self._runs.pop(r.pk, None)


__all__ = ["END", "LIVE", "NOW", "FileSyncActor", "FinishFiles", "Save", "SaveItem", "Saved",
           "WatchAgain"]
