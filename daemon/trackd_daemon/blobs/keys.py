"""Blob keys: the content hash a blob store names its blobs by.

A key is 64 lowercase hex digits: the 256-bit hash of the blob's bytes. A store made now
hashes with BLAKE3 (several times faster than SHA-256 on one core, and as collision-resistant:
the store is shared by every user of the daemon, so a key must not be forgeable, which rules
out keying by the MD5 that W&B's digests use). A store made before BLAKE3 keys keeps SHA-256
for good, so that the keys its metadata holds stay right; the store's layout says which
(``blake3/`` or ``sha256/`` under its root).

The MD5 of every blob is computed beside its key in the same pass: it is W&B's file digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

import blake3


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


#: Key hashes by name (the name is the layout's directory). Both release the GIL while they
#: hash a large chunk, so worker threads hash on every core.
KEY_HASHES: dict[str, Callable[[], Hasher]] = {
    "blake3": blake3.blake3,
    "sha256": hashlib.sha256,
}
#: The key hash of a new store.
DEFAULT_KEY_HASH = "blake3"

_HEX = frozenset("0123456789abcdef")


def is_key(text: str) -> bool:
    """Whether ``text`` has the form of a blob key (64 lowercase hex digits)."""
    return len(text) == 64 and _HEX.issuperset(text)
