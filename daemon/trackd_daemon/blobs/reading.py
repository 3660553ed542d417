"""Sending a blob's bytes: read chunk by chunk in worker threads, for streaming RPCs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio.to_thread

from trackd_daemon.blobs.base import BlobStore


async def chunks(blobs: BlobStore, key: str, size: int,
                 offset: int = 0) -> AsyncIterator[bytes]:
    """The bytes of blob ``key`` from ``offset`` on, ``size`` at most per chunk, each read in
    a worker thread. At least one chunk comes, empty for an empty blob (or an offset at its
    end), so that a reply always has a first message. Use it under ``aclosing`` so the file
    is closed when the reader stops early.
    """
    f = await anyio.to_thread.run_sync(blobs.open, key)
    try:
        if offset:
            await anyio.to_thread.run_sync(f.seek, offset)
        chunk = await anyio.to_thread.run_sync(f.read, size)
        yield chunk  # the first, even when empty
        while chunk:
            chunk = await anyio.to_thread.run_sync(f.read, size)
            if chunk:
                yield chunk
    finally:
        await anyio.to_thread.run_sync(f.close)
