"""Storing files into the blob store for the artifact-upload actor: the blocking steps, run in
its worker threads (see ``trackd_daemon.actors.artifacts``).

A file is copied (or, a private staging copy, taken over) and hashed by ``prepare_file``; a
file that changes meanwhile is copied again (twice at most). ``publish`` makes a batch
durable. Failures are domain errors naming the entry.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from trackd_daemon.blobs import BlobInfo, BlobStore, PendingBlob
from trackd_daemon.errors import FailedPreconditionError, ResourceExhaustedError, TrackdError
from trackd_daemon.store.artifact_models import Entry, FileStamp

#: Small files are handed to a worker thread a few at a time (a trip to a thread costs about
#: as much CPU as hashing 50 KiB); a group ends at this many files or bytes, so that large
#: files still spread over every thread.
GROUP_FILES = 4
GROUP_BYTES = 4 << 20

#: A file copied (or taken over) into the blob store, not published yet.
Prepared = tuple[Entry, PendingBlob, FileStamp]


def _stamp(path: str, st: os.stat_result) -> FileStamp:
    return FileStamp(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _unchanged(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_dev, b.st_size,
                                                            b.st_mtime_ns)


def prepare_file(blobs: BlobStore, entry: Entry,
                 on_bytes: Callable[[int], None]) -> tuple[PendingBlob, FileStamp]:
    """Copy one entry's file into the blob store, not durable yet (blocking; run in a worker
    thread); a staged entry's file is taken over where the store can. A file that changes
    while it is copied is copied again (twice at most).

    :raises FailedPreconditionError: the file is missing, unreadable or keeps changing.
    :raises ResourceExhaustedError: the blob store's disk is full.
    """
    path = entry.local_path
    for _ in range(3):
        pending: PendingBlob | None = None
        try:
            before = os.stat(path)
            if not stat.S_ISREG(before.st_mode):
                raise FailedPreconditionError(f"entry {entry.path!r}: {path} is not a regular file",
                                              path=entry.path)
            pending = blobs.prepare(Path(path), on_bytes, take=entry.staged,
                                    md5=entry.digest if entry.staged else "")
            after = os.stat(path)
        except FileNotFoundError:
            _discard(blobs, pending)
            raise FailedPreconditionError(f"entry {entry.path!r}: {path} no longer exists",
                                          path=entry.path) from None
        except PermissionError as exc:
            _discard(blobs, pending)
            raise FailedPreconditionError(f"entry {entry.path!r}: cannot read {path}: {exc}",
                                          path=entry.path) from None
        except OSError as exc:
            _discard(blobs, pending)
            raise _os_error(exc, f"entry {entry.path!r}: cannot store {path}", entry.path) from None
        if _unchanged(before, after):
            return pending, _stamp(path, after)
        _discard(blobs, pending)
    raise FailedPreconditionError(f"entry {entry.path!r}: {path} kept changing while it was "
                                  "being stored", path=entry.path)


def prepare_files(blobs: BlobStore, entries: list[Entry],
                  on_bytes: Callable[[int], None]) -> list[Prepared]:
    """:func:`prepare_file` for a few entries in one trip to a worker thread; when one fails,
    those prepared before it are dropped."""
    done: list[Prepared] = []
    try:
        for entry in entries:
            pending, stamp = prepare_file(blobs, entry, on_bytes)
            done.append((entry, pending, stamp))
    except BaseException:
        blobs.discard([b for _, b, _ in done])
        raise
    return done


def next_group(todo: Iterator[Entry]) -> list[Entry]:
    """The next entries for one worker thread: up to GROUP_FILES small files, or one large."""
    group: list[Entry] = []
    size = 0
    for entry in todo:
        group.append(entry)
        size += max(entry.size, 0)
        if len(group) >= GROUP_FILES or size >= GROUP_BYTES:
            break
    return group


def _discard(blobs: BlobStore, pending: PendingBlob | None) -> None:
    if pending is not None:
        blobs.discard([pending])


def _os_error(exc: OSError, what: str, path: str) -> TrackdError:
    if exc.errno in (28, 122):  # ENOSPC, EDQUOT
        return ResourceExhaustedError(f"the blob store's disk is full ({what})", path=path)
    return FailedPreconditionError(f"{what}: {exc}", path=path)


def takeable(blobs: BlobStore, entries: list[Entry]) -> list[Entry]:
    """The entries whose file the blob store would take over as it is (a private staging
    copy). Blocking."""
    return [e for e in entries if blobs.can_take(Path(e.local_path))]


def current_stamp(path: str) -> FileStamp | None:
    """The stamp of the file at ``path`` now; ``None`` when there is none. Blocking."""
    try:
        return _stamp(path, os.stat(path))
    except OSError:
        return None


def restamp(stamps: list[FileStamp]) -> list[FileStamp | None]:
    """The stamps of files taken into the blob store, as they are now: publishing a taken file
    sets its time (the blob's age for the collector), and the staging copy is the same inode.
    ``None`` for a file that is not the same any more. Blocking."""
    out: list[FileStamp | None] = []
    for old in stamps:
        now = current_stamp(old.path)
        same = now is not None and (now.dev, now.inode, now.size) == (old.dev, old.inode,
                                                                      old.size)
        out.append(now if same else None)
    return out


def ignore_bytes(n: int) -> None:
    """Progress of a head start: not reported (no version yet)."""


def publish(blobs: BlobStore, pending: list[PendingBlob]) -> list[BlobInfo]:
    """Make a batch of prepared blobs durable and put them under their keys (blocking).

    :raises ResourceExhaustedError: the blob store's disk is full.
    :raises FailedPreconditionError: the bytes could not be made durable.
    """
    try:
        return blobs.publish(pending)
    except OSError as exc:
        raise _os_error(exc, "making stored files durable", str(exc.filename or "")) from None
