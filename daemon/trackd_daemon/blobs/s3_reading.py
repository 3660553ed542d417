"""Reading an object as a file: streamed, seekable, resumed after a dropped connection.

One GET streams the object from the position on; a seek (to anywhere else) ends it and the next
read starts a ranged GET there. A stream that breaks is started again where it broke, through
the store's retries, so a reader sees the bytes or an error, never a short file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import obstore

#: The least a stream hands over at a time (obstore gathers network reads up to this).
STREAM_CHUNK = 1 << 20

#: Streams that may break in a row, with no byte read between, before a read fails.
BROKEN_STREAMS = 5

Retry = Callable[..., Any]


class ObjectReader(io.RawIOBase):
    """The bytes of one object (``path`` in ``store``), read-only. Opening it asks for the
    object (its size, and the first bytes on their way).

    :raises FileNotFoundError: no such object.
    """

    def __init__(self, store: Any, path: str, retry: Retry) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._retry = retry
        self._pos = 0
        self._chunks: Iterator[bytes] | None = None
        self._left = memoryview(b"")
        result = retry("read", obstore.get, store, path)
        self._size = int(result.meta["size"])
        self._chunks = iter(result.stream(min_chunk_size=STREAM_CHUNK))

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"whence must be 0, 1 or 2, got {whence}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        if pos != self._pos:
            self._chunks, self._left, self._pos = None, memoryview(b""), pos
        return pos

    def _start(self) -> Iterator[bytes]:
        result = self._retry("read", obstore.get, self._store, self._path,
                             options={"range": {"offset": self._pos}})
        return iter(result.stream(min_chunk_size=STREAM_CHUNK))

    def _next_chunk(self) -> bool:
        """Fill ``_left`` with the next bytes; ``False`` at the end of the object."""
        broken = 0
        while self._pos < self._size:
            if self._chunks is None:
                self._chunks = self._start()
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._chunks = None
                raise OSError(f"{self._path}: the object ended at {self._pos} of "
                              f"{self._size} bytes (replaced while read?)") from None
            except Exception:
                # A broken stream: start again from here (the request is retried).
                self._chunks = None
                broken += 1
                if broken > BROKEN_STREAMS:
                    raise
                continue
            if chunk:
                self._left = memoryview(chunk)
                return True
        return False

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("read of a closed blob")
        if not len(b) or (not self._left and not self._next_chunk()):
            return 0
        n = min(len(b), len(self._left))
        memoryview(b).cast("B")[:n] = self._left[:n]
        self._left = self._left[n:]
        self._pos += n
        return n

    def close(self) -> None:
        self._chunks, self._left = None, memoryview(b"")
        super().close()
