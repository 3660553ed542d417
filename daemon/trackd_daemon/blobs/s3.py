"""Blobs in an S3-compatible bucket (``TRACKD_BLOB_URL=s3://bucket/prefix``).

Layout under the prefix, as in the local store (``local.py``)::

    blake3/ab/cdef...   a blob, named by its key (``keys.py``)
    touched/<key>       an empty object written when a writer finds a blob stored already: its
                        time is the blob's "written again" time for the collector (an object's
                        time cannot be changed in place)

Nothing half-written is ever under a key: a file is copied into a local spool directory
(``local.copy_in``: a hard link for a staged file taken over, a kernel copy otherwise) and
hashed there first, so its key is known before a byte leaves the machine and what is uploaded is
exactly what was hashed; it is then uploaded to its key, a large file as a multipart upload
(the object appears whole at CompleteMultipartUpload, or not at all). A key the bucket holds
already is not uploaded again: a large file is looked up first (HEAD); a file of one part goes
up as a conditional PUT (``If-None-Match: *``) that the bucket refuses when it holds the key,
one request instead of two (where a bucket has no conditional writes, it is looked up first
too).

``prepare`` hands the upload to the store's pool of upload threads and returns (many uploads
in flight: the per-request latency of an object store, not its bandwidth, bounds a directory of
small files); ``publish`` waits for them. A prepared blob may therefore be in the bucket before
``publish`` returns; it is whole, and one never recorded is removed by the collector after its
grace. ``discard`` drops the spooled copy and leaves the object, which may also be another
writer's.

Every request is retried with exponential backoff and jitter while the bucket is unreachable
(connection refused, timeouts, 5xx), for ``retry_seconds`` in all; then
:class:`~trackd_daemon.errors.BlobStoreUnavailableError` is raised. A missing blob is
``FileNotFoundError``, as from the local store.

Client: **obstore** (Python bindings of the Rust ``object_store`` crate). The store's methods
are synchronous and run in worker threads; obstore's synchronous calls release the GIL while
they wait on the network and sign requests in Rust, so threads upload in parallel with no
event loop of their own (aiobotocore would need one per thread, or a bridge to the daemon's).
Its per-request overhead is far below boto3's (whose request building, signing and parsing
run in Python under the GIL: the cost that dominates a thousand small files), it runs a
file's multipart parts concurrently itself, and it reads the standard AWS variables.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    GenericError,
    NotSupportedError,
    PreconditionError,
)
from obstore.store import S3Store

from trackd_daemon.blobs.base import BlobInfo, PendingBlob, md5_b64
from trackd_daemon.blobs.keys import DEFAULT_KEY_HASH, KEY_HASHES, is_key
from trackd_daemon.blobs.local import _private, copy_in
from trackd_daemon.blobs.s3_reading import ObjectReader
from trackd_daemon.errors import BlobStoreUnavailableError

log = logging.getLogger("trackd.daemon.blobs")

#: Files above this size go up as multipart uploads, in parts of this size (S3's minimum part
#: is 5 MiB; 10,000 parts of 8 MiB hold 78 GiB).
PART_BYTES = 8 << 20
#: Parts of one file uploaded at once.
PART_CONCURRENCY = 8
#: Files uploaded at once (the pool's threads).
UPLOADS = 16
#: How long a request is retried while the bucket is unreachable, in all.
RETRY_SECONDS = 300.0
#: Backoff between retries: doubling from the first to the last, with full jitter.
BACKOFF_FIRST = 0.2
BACKOFF_MAX = 10.0
#: An object's time has a precision of a second (HTTP dates): a blob whose time is within a
#: second of the collector's start counts as written since.
_TIME_SLACK = 1.0

T = TypeVar("T")


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``; the prefix has no slash at either end.

    :raises ValueError: not such a URL, or one holding credentials (they come from the AWS
        variables: a URL is logged and shown; the message leaves them out).
    """
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError(
            f"an s3:// blob URL holds no credentials (s3://***@{parts.netloc.rsplit('@', 1)[1]}"
            f"{parts.path}): give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


#: How obstore words an answer of the server that refuses the request itself (4xx, and 501:
#: not implemented); 408 (timeout) and 429 (slow down) are worth retrying.
_REFUSED = re.compile(r"status code: (4(?!08|29)\d\d|501)")


def _transient(exc: BaseException) -> bool:
    """Whether a failed request is worth retrying: the network or the server, not the request
    (a missing object, a refused permission, a bad configuration)."""
    if isinstance(exc, GenericError):
        return not _REFUSED.search(str(exc))
    return isinstance(exc, (ConnectionError, TimeoutError))


class S3BlobStore:
    """:class:`~trackd_daemon.blobs.base.BlobStore` in an S3-compatible bucket; see the module
    doc. ``spool_dir`` is a local directory for copies being hashed and uploaded."""

    def __init__(self, url: str, spool_dir: Path, *, endpoint: str | None = None,
                 region: str | None = None, env: Mapping[str, str] | None = None,
                 retry_seconds: float = RETRY_SECONDS, part_bytes: int = PART_BYTES,
                 part_concurrency: int = PART_CONCURRENCY, uploads: int = UPLOADS) -> None:
        env = os.environ if env is None else env
        self.url = url
        self.bucket, self.prefix = parse_s3_url(url)
        self.retry_seconds = retry_seconds
        self.part_bytes = part_bytes
        self.part_concurrency = part_concurrency
        endpoint = (endpoint or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
                    or None)
        region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        config: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
        if region:
            config["region"] = region
        self._s3 = S3Store(
            self.bucket, prefix=self.prefix or None, config=config,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://")),
                            "connect_timeout": "5s", "timeout": "120s"},
            # A few quick retries per request inside obstore; the long wait is ours (_retry).
            retry_config={"max_retries": 2, "retry_timeout": timedelta(seconds=30),
                          "backoff": {"init_backoff": timedelta(milliseconds=50),
                                      "max_backoff": timedelta(seconds=1), "base": 2}})
        self._spool = spool_dir
        self._spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._prefix = secrets.token_hex(8)
        self._names = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=uploads, thread_name_prefix="blob-upload")
        self._inflight: dict[str, Future[bool]] = {}  # prepared, not published: by token
        #: Spooled files being uploaded (discarded ones too, until their upload ends).
        self._busy: set[str] = set()
        self._inflight_lock = threading.Lock()
        #: Order "found stored, touch it" against "delete it" in this process (by key stripe,
        #: so that uploads of different keys never wait for each other).
        self._locks = [threading.Lock() for _ in range(64)]
        self._closed = False
        #: Whether the bucket refuses a PUT onto an existing key when asked to (S3 since 2024,
        #: MinIO); found out on the first upload, and HEAD before each upload where not.
        self._conditional = True
        self.key_hash = self._find_key_hash()
        self.new_key_hash = KEY_HASHES[self.key_hash]

    # -- requests ------------------------------------------------------------------------------

    def _retry(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried with backoff while the failure is transient, for
        ``retry_seconds`` in all.

        :raises BlobStoreUnavailableError: still failing when the time is up (or the store
            was closed meanwhile).
        """
        deadline = time.monotonic() + self.retry_seconds
        delay = BACKOFF_FIRST
        warned = False
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not _transient(exc):
                    raise
                wait = random.uniform(delay / 2, delay)
                if self._closed or time.monotonic() + wait > deadline:
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise BlobStoreUnavailableError(
                        f"the blob store {self.url} did not answer ({what}) for "
                        f"{self.retry_seconds:.0f} s: {first}", url=self.url) from exc
                if not warned:
                    log.warning("blob store %s unreachable (%s); retrying for up to %.0f s: %s",
                                self.url, what, self.retry_seconds,
                                str(exc).splitlines()[0] if str(exc) else exc)
                    warned = True
                time.sleep(wait)
                delay = min(delay * 2, BACKOFF_MAX)

    def _path(self, key: str) -> str:
        if not is_key(key):
            raise ValueError(f"not a blob key (64 lowercase hex digits): {key!r}")
        return f"{self.key_hash}/{key[:2]}/{key[2:]}"

    def _head(self, path: str) -> dict[str, Any] | None:
        try:
            return dict(self._retry("head", obstore.head, self._s3, path))
        except FileNotFoundError:
            return None

    def _find_key_hash(self) -> str:
        """``sha256`` when the bucket holds a store made before BLAKE3 keys (as ``local.py``);
        the default when it does not or cannot be asked now."""
        try:
            found = obstore.list_with_delimiter(self._s3, None)
        except Exception as exc:  # noqa: BLE001 - unreachable at start: the daemon still starts
            log.warning("blob store %s: cannot list it now (%s); keying new blobs by %s",
                        self.url, str(exc).splitlines()[0] if str(exc) else exc, DEFAULT_KEY_HASH)
            return DEFAULT_KEY_HASH
        names = {p.rstrip("/").rsplit("/", 1)[-1] for p in found["common_prefixes"]}
        return "sha256" if "sha256" in names and DEFAULT_KEY_HASH not in names else DEFAULT_KEY_HASH

    def _lock(self, key: str) -> threading.Lock:
        return self._locks[int(key[:2], 16) % len(self._locks)]

    def _put(self, path: str, spooled: Path, **options: Any) -> None:
        try:
            self._retry("upload", obstore.put, self._s3, path, spooled, **options)
        except FileNotFoundError as exc:
            if not spooled.exists():
                raise  # the file to send, not the bucket
            # "Not found" on a write: the bucket is missing.
            raise BlobStoreUnavailableError(
                f"the blob store {self.url} cannot be written: no bucket {self.bucket!r} at "
                f"this endpoint ({str(exc).splitlines()[0]})", url=self.url) from None

    def _touch(self, key: str) -> None:
        self._retry("touch", obstore.put, self._s3, f"touched/{key}", b"")

    def _create(self, path: str, spooled: Path, key: str) -> bool | None:
        """Upload a file of one part in one request that fails when the key exists (a
        conditional PUT: ``If-None-Match: *``), so that a new blob costs no HEAD first;
        whether it was new, or ``None`` where the bucket does not do conditional writes (then
        asked no more)."""
        try:
            self._put(path, spooled, mode="create")
            return True
        except AlreadyExistsError:
            with self._lock(key):
                self._touch(key)
            return False
        except (NotSupportedError, PreconditionError, GenericError) as exc:
            if isinstance(exc, GenericError) and "status code: 501" not in str(exc):
                raise
            log.info("blob store %s: no conditional writes (%s); asking before each upload",
                     self.url, str(exc).splitlines()[0])
            self._conditional = False
            return None

    def _upload(self, spooled: Path, key: str, size: int) -> bool:
        """Put the spooled file under ``key`` unless the bucket holds it (then it is touched);
        whether it was uploaded. Removes the spooled file."""
        with self._inflight_lock:
            self._busy.add(spooled.name)
        try:
            path = self._path(key)
            if self._conditional and size <= self.part_bytes:
                new = self._create(path, spooled, key)
                if new is not None:
                    return new
            with self._lock(key):
                if self._head(path) is not None:
                    self._touch(key)
                    return False
            self._put(path, spooled, use_multipart=size > self.part_bytes,
                      chunk_size=self.part_bytes, max_concurrency=self.part_concurrency)
            return True
        finally:
            spooled.unlink(missing_ok=True)
            with self._inflight_lock:
                self._busy.discard(spooled.name)

    # -- the protocol --------------------------------------------------------------------------

    def _spool_path(self) -> Path:
        return self._spool / f"{self._prefix}-{next(self._names)}"

    def ingest(self, src: Path | int, on_bytes: Callable[[int], None] | None = None) -> BlobInfo:
        p = copy_in(src, self._spool_path(), self.new_key_hash(), on_bytes)
        new = self._upload(self._spool / p.token, p.key, p.size)
        return BlobInfo(p.key, p.md5, p.size, new)

    def prepare(self, src: Path | int, on_bytes: Callable[[int], None] | None = None,
                take: bool = False, md5: str = "") -> PendingBlob:
        p = copy_in(src, self._spool_path(), self.new_key_hash(), on_bytes, take, md5)
        with self._inflight_lock:
            self._inflight[p.token] = self._pool.submit(self._upload, self._spool / p.token,
                                                        p.key, p.size)
        return p

    def can_take(self, src: Path) -> bool:
        return _private(src)

    def publish(self, pending: Sequence[PendingBlob]) -> list[BlobInfo]:
        with self._inflight_lock:
            futures = [self._inflight.pop(p.token, None) for p in pending]
        infos: list[BlobInfo] = []
        failed: BaseException | None = None
        for p, fut in zip(pending, futures, strict=True):
            try:
                if fut is None:  # published already, or discarded: stored or not
                    if self._head(self._path(p.key)) is None:
                        raise FileNotFoundError(f"blob {p.key} was discarded, not stored")
                    infos.append(BlobInfo(p.key, p.md5, p.size, False))
                    continue
                infos.append(BlobInfo(p.key, p.md5, p.size, fut.result()))
            except BaseException as exc:  # wait for the others, then raise the first
                failed = failed or exc
        if failed is not None:
            raise failed
        return infos

    def discard(self, pending: Sequence[PendingBlob]) -> None:
        for p in pending:
            with self._inflight_lock:
                fut = self._inflight.pop(p.token, None)
            if fut is None or fut.cancel():  # never started: its file is still spooled
                (self._spool / p.token).unlink(missing_ok=True)
            # else it is uploading: it removes its file when done; the object is whole

    def writer(self) -> _Writer:
        return _Writer(self)

    def exists(self, key: str) -> bool:
        return self._head(self._path(key)) is not None

    def open(self, key: str) -> BinaryIO:
        raw = ObjectReader(self._s3, self._path(key), self._retry)
        return io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[return-value]

    def local_path(self, key: str) -> Path | None:
        self._path(key)  # checked as the local store checks it
        return None

    def delete(self, key: str, untouched_since: float | None = None) -> int:
        path = self._path(key)
        with self._lock(key):
            meta = self._head(path)
            if meta is None:
                return 0
            if untouched_since is not None:
                since = untouched_since - _TIME_SLACK
                if meta["last_modified"].timestamp() >= since:
                    return 0
                touched = self._head(f"touched/{key}")
                if touched is not None and touched["last_modified"].timestamp() >= since:
                    return 0
            self._retry("delete", obstore.delete, self._s3, path)
            self._retry("delete", obstore.delete, self._s3, f"touched/{key}")
        return int(meta["size"])

    def scan(self) -> Iterator[tuple[str, int, float]]:
        stream = self._retry("list", obstore.list, self._s3, f"{self.key_hash}/",
                             chunk_size=1000)
        for batch in stream:
            for meta in batch:
                parts = meta["path"].rsplit("/", 2)
                key = "".join(parts[-2:])
                if len(parts) >= 3 and is_key(key):
                    yield key, int(meta["size"]), meta["last_modified"].timestamp()

    def clean_temp(self, older_than_seconds: float = 0.0) -> int:
        """Remove spooled copies left by an interrupted daemon (not those of uploads in
        flight). Multipart uploads a crash left incomplete are invisible and hold no key; a
        bucket lifecycle rule (AbortIncompleteMultipartUpload) removes them."""
        cutoff = time.time() - older_than_seconds
        with self._inflight_lock:
            busy = set(self._inflight) | self._busy
        removed = 0
        for entry in os.scandir(self._spool):
            if entry.name in busy:
                continue
            try:
                st = entry.stat()
                if max(st.st_mtime, st.st_ctime) <= cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def close(self) -> None:
        """Stop retrying (requests still failing raise at once) and wait for the uploads in
        flight to end. Idempotent."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Writer:
    """A streamed upload: spooled and hashed, uploaded at ``commit``."""

    def __init__(self, store: S3BlobStore) -> None:
        self._store = store
        self._tmp = store._spool_path()
        self._file = open(self._tmp, "xb")  # noqa: SIM115 - closed by commit or abort
        self._key = store.new_key_hash()
        self._md5 = hashlib.md5()  # W&B's digest (a content id)
        self._size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        self._key.update(chunk)
        self._md5.update(chunk)
        self._file.write(chunk)
        self._size += len(chunk)

    def commit(self) -> BlobInfo:
        self._file.close()
        key = self._key.hexdigest()
        new = self._store._upload(self._tmp, key, self._size)
        return BlobInfo(key, md5_b64(self._md5.digest()), self._size, new)

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)
