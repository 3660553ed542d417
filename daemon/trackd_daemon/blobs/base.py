"""The blob store interface: immutable byte strings keyed by a hash of their content (their
key: see ``keys.py``).

Artifacts (and run files) name their bytes by key; the same bytes are stored once however
many manifests hold them. Each blob's MD5 is computed in the same pass (W&B's file digest is
its base64 form) and returned with the key, so callers never hash twice.

A blob is durable when the call that stored it returns: :meth:`BlobStore.ingest` and a writer's
``commit`` make each blob durable alone; :meth:`BlobStore.prepare` + :meth:`BlobStore.publish`
store many files and make them durable together (one flush of the file system instead of one
per file), which is how artifact versions are stored.

The methods are synchronous and may block (disk, network): callers run them in worker
threads. Backends (chosen by URL in ``open_blobs``):
:class:`trackd_daemon.blobs.local.LocalBlobStore` on a local disk or a shared file system,
and :class:`trackd_daemon.blobs.s3.S3BlobStore` in an S3-compatible bucket, whose
``local_path`` is ``None`` (readers then stream with ``open``). No backend ever shows part of
a blob under its key. A remote backend may upload a prepared blob before ``publish`` (whole,
under its key); ``publish`` is when it is known durable, and a blob prepared but never
recorded is left to the collector.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

#: Read/write unit of copies and hashes: large enough that hashlib releases the GIL and the
#: per-call overhead vanishes, small enough that many files in flight stay cheap.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob."""

    key: str  # 64 hex digits: the content hash (keys.py)
    md5: str  # base64 of the raw 16-byte MD5 (W&B's file digest)
    size: int
    new: bool = False  # False when the store already held these bytes


@dataclass(frozen=True)
class PendingBlob:
    """Bytes hashed and written into the store (or a file taken over), neither durable nor
    under their key yet: :meth:`BlobStore.publish` does both."""

    key: str  # the key it will have
    md5: str  # base64 of the raw MD5
    size: int
    token: str  # the backend's handle (the local store: the name of its temporary file)
    taken: bool = False  # the source file itself became the blob (no copy was written)


def md5_b64(raw: bytes) -> str:
    """Base64 of a raw MD5 digest, as W&B writes file digests."""
    return base64.b64encode(raw).decode("ascii")


def md5_hex(b64: str) -> str:
    """The hex form of a base64 MD5 digest (W&B's cache layout uses it)."""
    return base64.b64decode(b64).hex()


class BlobWriter(Protocol):
    """An upload in progress: bytes are hashed as they are written."""

    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> BlobInfo:
        """Make the bytes durable under their key (deduplicated) and return it; durable when
        it returns."""
        ...

    def abort(self) -> None:
        """Drop what was written (idempotent; a no-op after commit)."""
        ...


class BlobStore(Protocol):
    """Content-addressed, deduplicated, durable bytes."""

    #: The hash the store keys blobs by (a name in ``keys.KEY_HASHES``).
    key_hash: str

    def ingest(self, src: Path | int, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        """Copy the file at ``src`` (a path, or a descriptor open for reading: read from its
        start, left open) in, hashing (key and MD5) while copying, one pass, streaming;
        ``on_bytes`` is told each chunk's length. Durable when it returns.

        :raises OSError: ``src`` cannot be read, or the store cannot be written.
        """
        ...

    def prepare(self, src: Path | int, on_bytes: Callable[[int], None] | None = None,
                take: bool = False, md5: str = "") -> PendingBlob:
        """Copy the file at ``src`` (a path, or a descriptor open for reading: read from its
        start, left open) in, hashing it (key and MD5) on the way, without
        making it durable or visible under its key: :meth:`publish` does, for many at once.
        With ``take``, ``src`` is a private copy that nobody changes any more (the SDK's
        staging copy): where the store can, it takes the file itself over instead of copying
        it (the local store: a hard link, when ``src`` is a path on its file system, belongs to the
        daemon's user and has no other name), reading it once to hash it; ``md5`` (base64), when
        given, is the MD5 the trusted caller computed while writing that copy, and a file
        taken over is then hashed for its key only. ``on_bytes`` is told each chunk's length.

        :raises OSError: ``src`` cannot be read, or the store cannot be written.
        """
        ...

    def can_take(self, src: Path) -> bool:
        """Whether :meth:`prepare` with ``take`` would take ``src`` over rather than copy it
        (``False`` for a store that never takes files over)."""
        ...

    def publish(self, pending: Sequence[PendingBlob]) -> list[BlobInfo]:
        """Make prepared blobs durable together, then put each under its key (durably);
        their infos, in order (``new`` False for bytes the store held already). Durable when
        it returns.

        :raises OSError: the bytes could not be made durable (a write-back error).
        """
        ...

    def discard(self, pending: Sequence[PendingBlob]) -> None:
        """Drop prepared blobs that will not be published (idempotent; a taken file's
        source is left where it was)."""
        ...

    def writer(self) -> BlobWriter:
        """Start a streamed upload."""
        ...

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO:
        """The bytes of a blob, for reading: streamed, and seekable (ranged reads seek).

        :raises FileNotFoundError: no such blob.
        """
        ...

    def local_path(self, key: str) -> Path | None:
        """Where a blob lies on this machine (read-only), or ``None`` for a remote backend."""
        ...

    def delete(self, key: str, untouched_since: float | None = None) -> int:
        """Delete a blob; returns the bytes freed (0 when it was not there). With
        ``untouched_since``, a blob written (or written again) at or after that time is kept:
        the collector passes the time it began, so bytes a writer found already stored while
        it ran survive."""
        ...

    def scan(self) -> Iterator[tuple[str, int, float]]:
        """Every blob: (key, size, mtime)."""
        ...

    def clean_temp(self, older_than_seconds: float = 0.0) -> int:
        """Remove leftovers of interrupted writes; returns how many."""
        ...

    def close(self) -> None:
        """End the store's own work (uploads in flight) at the daemon's stop; idempotent."""
        ...
