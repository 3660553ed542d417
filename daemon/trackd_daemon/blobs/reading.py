"""Sending a blob's bytes: read chunk by chunk in worker threads, for streaming RPCs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio.to_thread

from trackd_daemon.blobs.base import BlobStore


async def chunks(blobs: BlobStore, key: str, size: int,
                 offset: int = 0, length: int = 0) -> AsyncIterator[bytes]:
    """The bytes of blob ``key`` from ``offset`` on (``length`` of them at most, 0: through
    the end), ``size`` at most per chunk, each read in a worker thread. At least one chunk
    comes, empty for an empty blob (or an offset at its end), so that a reply always has a
    first message. Use it under ``aclosing`` so the file is closed when the reader stops
    early.
    """
    f = await anyio.to_thread.run_sync(blobs.open, key)
    try:
        if offset:
            await anyio.to_thread.run_sync(f.seek, offset)
        left = length if length > 0 else -1  # -1: no bound

        def want() -> int:
            return size if left < 0 else min(size, left)

        chunk = await anyio.to_thread.run_sync(f.read, want())
        yield chunk  # the first, even when empty
        while chunk:
            if left > 0:
                left -= len(chunk)
                if left == 0:
                    return
            chunk = await anyio.to_thread.run_sync(f.read, want())
            if chunk:
                yield chunk
    finally:
        await anyio.to_thread.run_sync(f.close)
