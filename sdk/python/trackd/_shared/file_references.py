"""``file://`` references: the manifest entries a local file or directory stands for, as W&B's
``add_reference`` makes them: with ``checksum``, one entry per file (a directory walked
recursively in name order) whose digest is the MD5 of the file's bytes; without it, one entry
for the URI whatever it names (a directory is not walked: its files are listed when the
artifact is downloaded), whose digest is the MD5 of the URI and whose size is unknown.

Both sides resolve them with this module: the daemon for its own user and root, whose paths
it opens; the SDK itself for everyone else (the daemon never opens another user's paths).
"""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

#: Read size while hashing a file: large enough that hashlib releases the GIL.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileReference:
    """One entry of a ``file://`` reference."""

    name: str  # the entry's path in the artifact
    ref: str  # file://<absolute path of the file>
    digest: str  # base64 MD5 (of the bytes, or of ``ref``)
    size: int


class TooManyObjects(ValueError):
    """The reference holds more files than ``max_objects``; the message says so."""


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # W&B's digest rule


def md5_file_b64(fd: int) -> str:
    """The base64 MD5 of what the open file ``fd`` holds (read from where it stands)."""
    h = hashlib.md5()  # a content id, not security
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    while n := os.readv(fd, [buf]):
        h.update(view[:n])
    return base64.b64encode(h.digest()).decode()


def _join(name: str, rel: str) -> str:
    return posixpath.join(name, rel) if name else rel


def _entry(ref: str, path: str, name: str, checksum: bool) -> FileReference:
    """The entry of one file: its size and digest from one open descriptor (a file replaced
    meanwhile gives the size and digest of one and the same file)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        size = os.fstat(fd).st_size
        digest = md5_file_b64(fd) if checksum else md5_b64(ref.encode())
    finally:
        os.close(fd)
    return FileReference(name, ref, digest, size)


def _unchecked(uri: str, local: str, name: str) -> FileReference:
    """The one entry of a reference recorded without checksum: nothing is read but whether
    the path exists (a file's size is known from that ``stat``; a directory's is not)."""
    st = os.stat(local)  # FileNotFoundError when nothing is there, as with checksum
    size = -1 if os.path.isdir(local) else st.st_size
    return FileReference(name or posixpath.basename(local.rstrip("/")) or "root", uri,
                         md5_b64(uri.encode()), size)


def resolve(uri: str, raw_path: str, name: str, checksum: bool,
            max_objects: int) -> list[FileReference]:
    """The entries of ``uri`` (``raw_path`` is its path part, still percent-encoded).

    :raises FileNotFoundError: nothing is at the path.
    :raises TooManyObjects: a directory with more than ``max_objects`` files.
    :raises OSError: a file cannot be read.
    """
    local = unquote(raw_path)
    if not checksum:
        return [_unchecked(uri, local, name)]
    if os.path.isdir(local):
        out: list[FileReference] = []
        for root, dirs, files in os.walk(local):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                rel = Path(full).relative_to(local).as_posix()
                if len(out) >= max_objects:
                    raise TooManyObjects(f"{uri} holds more than {max_objects} objects; pass a "
                                         "larger max_objects to track them all")
                out.append(_entry(f"file://{full}", full, _join(name, rel), checksum))
        return out
    return [_entry(uri, local, name or posixpath.basename(local), checksum)]
