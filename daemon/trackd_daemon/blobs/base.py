"""The blob store interface: immutable byte strings keyed by the hex SHA-256 of their content.

Artifacts (and run files) name their bytes by key; the same bytes are stored once however
many manifests hold them. Each blob's MD5 is computed in the same pass (W&B's file digest is
its base64 form) and returned with the key, so callers never hash twice.

The methods are synchronous and may block (disk, network): callers run them in worker
threads. The local-disk backend is :class:`trackd_daemon.blobs.local.LocalBlobStore`; an
S3-compatible backend would implement the same protocol with ``local_path`` returning ``None``
(readers then stream with ``open``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

#: Read/write unit of copies and hashes: large enough that hashlib releases the GIL and the
#: per-call overhead vanishes, small enough that many files in flight stay cheap.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob."""

    sha256: str  # hex: the key
    md5: str  # base64 of the raw 16-byte MD5 (W&B's file digest)
    size: int
    new: bool = False  # False when the store already held these bytes


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

    def ingest(self, src: Path, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        """Copy the file at ``src`` in, hashing (SHA-256 and MD5) while copying, one pass,
        streaming; ``on_bytes`` is told each chunk's length. Durable when it returns.

        :raises OSError: ``src`` cannot be read, or the store cannot be written.
        """
        ...

    def writer(self) -> BlobWriter:
        """Start a streamed upload."""
        ...

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO:
        """The bytes of a blob, for reading.

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
