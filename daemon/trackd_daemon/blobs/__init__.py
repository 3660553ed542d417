"""The content-addressed blob store shared by artifacts and run files (see ``base.py``)."""

from trackd_daemon.blobs.base import (
    BlobInfo,
    BlobStore,
    BlobWriter,
    PendingBlob,
    md5_b64,
    md5_hex,
)
from trackd_daemon.blobs.local import LocalBlobStore

__all__ = ["BlobInfo", "BlobStore", "BlobWriter", "LocalBlobStore", "PendingBlob", "md5_b64",
           "md5_hex"]
