"""The content-addressed blob store shared by artifacts and run files (see ``base.py``), and
:func:`open_blobs`, which picks its backend by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from trackd_daemon.blobs.base import (
    BlobInfo,
    BlobStore,
    BlobWriter,
    PendingBlob,
    md5_b64,
    md5_hex,
)
from trackd_daemon.blobs.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "BlobWriter", "LocalBlobStore", "PendingBlob",
           "check_blob_url", "md5_b64", "md5_hex", "open_blobs"]


def check_blob_url(url: str) -> str:
    """``url`` if it names a blob store: ``file:///absolute/path`` (a directory, on a shared
    file system or not) or ``s3://bucket/prefix``.

    :raises ValueError: it does not.
    """
    parts = urlsplit(url)
    if "@" in parts.netloc:  # credentials never go in a URL, which is logged: never echo them
        raise ValueError(f"a blob URL holds no user or password (got {parts.scheme}://***@"
                         f"{parts.netloc.rsplit('@', 1)[1]}{parts.path})")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"a file blob URL is file:///absolute/path, got {url!r}")
    elif parts.scheme == "s3":
        from trackd_daemon.blobs.s3 import parse_s3_url

        parse_s3_url(url)
    else:
        raise ValueError(f"a blob URL is file:///path or s3://bucket/prefix, got {url!r}")
    return url


def open_blobs(url: str, spool_dir: Path, *, shared: bool = True, s3_endpoint: str | None = None,
               s3_region: str | None = None, retry_seconds: float | None = None) -> BlobStore:
    """The blob store ``url`` names (:func:`check_blob_url`). Blocking (it makes directories
    and may ask the bucket about its layout): call it in a worker thread.

    ``file://``: the local store in that directory; ``shared`` when other daemons write there
    too (it then leaves young temporary files alone). ``s3://``: the bucket store
    (``s3.py``), its endpoint, region and credentials from the standard AWS variables unless
    ``s3_endpoint``/``s3_region`` are given; it spools copies in ``spool_dir``. The S3 client
    is imported only for an ``s3://`` URL.
    """
    check_blob_url(url)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(unquote(parts.path)), shared=shared)
    from trackd_daemon.blobs.s3 import RETRY_SECONDS, S3BlobStore

    return S3BlobStore(url, spool_dir, endpoint=s3_endpoint, region=s3_region,
                       retry_seconds=RETRY_SECONDS if retry_seconds is None else retry_seconds)
