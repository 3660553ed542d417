"""Turning a requested manifest into entries the store can hold: which bytes are already
stored, which files the upload actor must still read, and whether the caller may use them.

- A local path marked ``staged`` (a private copy the client made for this upload) stays
  marked only for a trusted caller: the blob store may then take the file over instead of
  copying it (see ``LocalBlobStore.prepare``), and the MD5 the client computed while making
  the copy is kept, so the daemon computes only the blob key (its content hash, from the
  bytes it holds: deduplication never rests on a client's word); anyone else's files are always
  copied and hashed by the daemon.
- A local path is stat'ed (only for the daemon's user and root: anyone else's paths are
  refused untouched and the client uploads the bytes, see ``local_paths.py``); when
  its (path, device, inode, size, mtime) equals a stamp recorded when it was last stored, its
  blob is reused without reading the file (W&B's checksum cache, on the daemon's side).
- A local path whose digest the client computed is matched to a stored blob of the same MD5
  and size when the caller is trusted (the daemon's user or root, who may read every blob
  anyway) and the blob was written by the caller or a trusted user (an MD5 match alone proves
  nothing: another user could have stored colliding bytes); otherwise the daemon reads the file.
- A blob named by its key may be used by a caller that is trusted, uploaded those bytes, or can
  read a committed version holding them. Bytes named by digest and size only are looked up
  among blobs the caller or a trusted user wrote, then among blobs a committed version the
  caller may read holds (clients that know the blob key, from GetManifest, should send it).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio.to_thread

from trackd_daemon.errors import BlobNotFoundError, FailedPreconditionError, InvalidArgumentError
from trackd_daemon.local_paths import LocalPaths
from trackd_daemon.store.artifact_models import BlobRecord, Entry, FileStamp, VersionInfo
from trackd_daemon.store.base import MetadataStore


@dataclass(frozen=True)
class Intake:
    """Entries ready for the store, and what the upload actor has left to read."""

    entries: list[Entry]
    files_to_store: int
    bytes_to_store: int


def _stat_all(check: LocalPaths, entries: list[Entry]) -> dict[str, FileStamp]:
    stamps: dict[str, FileStamp] = {}
    for i, e in enumerate(entries):
        if not e.local_path or e.local_path in stamps:
            continue
        what = f"entries[{i}] ({e.path!r})"
        try:
            st = check.stat(e.local_path, what)
        except FileNotFoundError:
            raise FailedPreconditionError(f"{what}: {e.local_path} does not exist",
                                          path=e.local_path) from None
        except NotADirectoryError:
            raise FailedPreconditionError(f"{what}: {e.local_path} does not exist",
                                          path=e.local_path) from None
        if not stat.S_ISREG(st.st_mode):
            raise InvalidArgumentError(f"{what}: {e.local_path} is not a regular file",
                                       field=f"entries[{i}].local_path")
        stamps[e.local_path] = FileStamp(e.local_path, st.st_dev, st.st_ino, st.st_size,
                                         st.st_mtime_ns)
    return stamps


async def prepare(store: MetadataStore, entries: list[Entry], check: LocalPaths, trusted: bool,
                  may_read: Callable[[VersionInfo], bool], uid: int,
                  writers: Sequence[int]) -> Intake:
    """Fill in stored bytes where they are known; see the module doc. A few store queries
    whatever the number of entries.

    :raises PathUnreadableError: a local path the caller may not read.
    :raises BlobNotFoundError: bytes named by digest or key that the daemon does not hold or
        the caller may not use.
    """
    stamps = await anyio.to_thread.run_sync(_stat_all, check, entries)
    known = await store.file_digests(list(stamps.values()))
    by_key = await store.get_blobs([e.blob_key for e in entries if e.blob_key])
    wanted = [(e.digest, stamps[e.local_path].size if e.local_path else e.size)
              for e in entries if e.digest and not e.ref and not e.blob_key
              and (trusted or not e.local_path)]
    by_digest = await store.find_blobs(wanted, writers) if wanted else {}
    files = size = 0
    for e in entries:
        e.staged = e.staged and trusted
        if e.ref:
            continue
        if e.local_path:
            st = stamps[e.local_path]
            hit = known.get(e.local_path) or by_digest.get((e.digest, st.size))
            if hit is not None:
                _use(e, hit)
            else:
                files += 1
                size += st.size
                e.digest, e.size = (e.digest if e.staged else ""), st.size
            continue
        record = by_key.get(e.blob_key) if e.blob_key else by_digest.get((e.digest, e.size))
        if record is not None and e.blob_key and e.digest and e.digest != record.md5:
            raise InvalidArgumentError(f"entry {e.path!r}: digest {e.digest} is not the MD5 of "
                                       f"blob {e.blob_key} ({record.md5})", field="digest")
        own = record is not None and not e.blob_key
        if record is None and not e.blob_key:
            record = (await store.find_blobs([(e.digest, e.size)])).get((e.digest, e.size))
        if record is None or not (own or await _may_use(store, record, trusted and bool(
                e.blob_key), may_read, uid)):
            named = e.blob_key or f"digest {e.digest} size {e.size}"
            raise BlobNotFoundError(
                f"entry {e.path!r}: no bytes stored for {named} that uid {uid} may use; give "
                "local_path or upload them (UploadFile)", path=e.path)
        _use(e, record)
    return Intake(entries, files, size)


def _use(e: Entry, blob: BlobRecord) -> None:
    e.blob_key, e.digest, e.size = blob.key, blob.md5, blob.size


async def _may_use(store: MetadataStore, blob: BlobRecord, trusted: bool,
                   may_read: Callable[[VersionInfo], bool], uid: int) -> bool:
    if trusted or await store.blob_uploaded_by(blob.key, uid):
        return True
    return any(may_read(v) for v in await store.versions_holding(blob.key))
