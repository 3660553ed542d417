"""What only the bucket store does (``blobs/s3.py``), against moto's S3 server on loopback:
multipart uploads, retries while the bucket is away, the typed error after them, a store made
with SHA-256 keys, and the URL settings. The rest is the contract (``test_blob_contract.py``)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from blake3 import blake3

from tests.s3_server import CREDENTIALS, S3Server
from trackd_daemon.blobs import check_blob_url, open_blobs
from trackd_daemon.blobs.s3 import S3BlobStore, parse_s3_url
from trackd_daemon.config import DaemonConfig
from trackd_daemon.errors import BlobStoreUnavailableError


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield server
    server.stop()


def _store(s3: S3Server, tmp_path: Path, bucket: str | None = None,
           **kwargs: object) -> S3BlobStore:
    return S3BlobStore(f"s3://{bucket or s3.new_bucket()}/p", tmp_path / "spool",
                       endpoint=s3.endpoint, **kwargs)  # type: ignore[arg-type]


def test_large_files_go_up_in_parts(s3: S3Server, tmp_path: Path) -> None:
    store = _store(s3, tmp_path, part_bytes=5 << 20)
    data = os.urandom((12 << 20) + 1)
    (tmp_path / "big").write_bytes(data)
    (info,) = store.publish([store.prepare(tmp_path / "big")])
    head = s3.client().head_object(Bucket=store.bucket,
                                   Key=f"p/blake3/{info.key[:2]}/{info.key[2:]}")
    assert head["ETag"].strip('"').endswith("-3")  # three parts, completed as one object
    assert head["ContentLength"] == len(data)
    with store.open(info.key) as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    store.close()


def test_requests_are_retried_until_the_bucket_is_back(
        s3: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = _store(s3, tmp_path, retry_seconds=60)
    (tmp_path / "f").write_bytes(b"waits for the bucket")
    s3.stop()
    back = threading.Timer(2.0, s3.start)
    back.start()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="trackd.daemon.blobs"):
        info = store.ingest(tmp_path / "f")
    back.join()
    assert time.monotonic() - started >= 2.0 and info.new
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    with store.open(info.key) as f:
        assert f.read() == b"waits for the bucket"
    store.close()


def test_a_bucket_away_too_long_is_a_typed_error_and_leaves_nothing(
        s3: S3Server, tmp_path: Path) -> None:
    store = _store(s3, tmp_path, retry_seconds=1.5)
    data = os.urandom(9 << 20)
    (tmp_path / "f").write_bytes(data)
    s3.stop()
    pending = store.prepare(tmp_path / "f")
    with pytest.raises(BlobStoreUnavailableError, match="did not answer") as err:
        store.publish([pending])
    assert err.value.code.name == "UNAVAILABLE"
    with pytest.raises(BlobStoreUnavailableError):
        store.ingest(tmp_path / "f")
    s3.start()
    assert not store.exists(pending.key) and list(store.scan()) == []
    assert os.listdir(tmp_path / "spool") == []  # no spooled copy is left either
    store.close()


def test_a_missing_bucket_is_said_at_once(s3: S3Server, tmp_path: Path) -> None:
    store = _store(s3, tmp_path, bucket="no-such-bucket", retry_seconds=60)
    (tmp_path / "f").write_bytes(b"x")
    started = time.monotonic()
    with pytest.raises(BlobStoreUnavailableError, match="no bucket 'no-such-bucket'"):
        store.ingest(tmp_path / "f")
    assert time.monotonic() - started < 10  # a refusal is not retried


def test_a_closed_store_stops_retrying(s3: S3Server, tmp_path: Path) -> None:
    store = _store(s3, tmp_path, retry_seconds=120)
    s3.stop()
    store.close()
    started = time.monotonic()
    with pytest.raises(BlobStoreUnavailableError):
        store.exists(blake3(b"x").hexdigest())
    assert time.monotonic() - started < 10
    s3.start()


def test_a_bucket_store_made_with_sha256_keys_keeps_them(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.new_bucket()
    data = b"an old blob"
    old = hashlib.sha256(data).hexdigest()
    s3.client().put_object(Bucket=bucket, Key=f"p/sha256/{old[:2]}/{old[2:]}", Body=data)
    store = _store(s3, tmp_path, bucket)
    assert store.key_hash == "sha256"
    (tmp_path / "f").write_bytes(data)
    assert store.ingest(tmp_path / "f") == store.ingest(tmp_path / "f")
    assert not store.ingest(tmp_path / "f").new and [k for k, _, _ in store.scan()] == [old]
    assert _store(s3, tmp_path).key_hash == "blake3"  # a new bucket


def test_the_environment_names_the_endpoint(s3: S3Server, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3.new_bucket()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    store = open_blobs(f"s3://{bucket}/team/blobs/", tmp_path / "spool")
    (tmp_path / "f").write_bytes(b"via the environment")
    key = store.ingest(tmp_path / "f").key
    listed = s3.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"team/blobs/blake3/{key[:2]}/{key[2:]}"]
    assert store.local_path(key) is None
    store.close()


def test_blob_urls() -> None:
    assert parse_s3_url("s3://bkt") == ("bkt", "")
    assert parse_s3_url("s3://bkt/a/b/") == ("bkt", "a/b")
    for bad in ("s3:///nobucket", "s3://bkt/p?x=1", "http://bkt/p", "file://host/p",
                "file:relative", "blobs"):
        with pytest.raises(ValueError):
            check_blob_url(bad)
    assert check_blob_url("file:///srv/nfs/blobs") == "file:///srv/nfs/blobs"


def test_the_daemon_setting(tmp_path: Path) -> None:
    env = {"TRACKD_ROOT": str(tmp_path / "root"), "TRACKD_STATE_DIR": str(tmp_path / "state"),
           "TRACKD_RUNTIME_DIR": str(tmp_path / "run")}
    default = DaemonConfig.from_env(env)
    assert default.blob_url == "" and default.blob_store_url == f"file://{tmp_path}/root/blobs"
    cfg = DaemonConfig.from_env({**env, "TRACKD_BLOB_URL": "s3://bkt/team",
                                 "TRACKD_S3_ENDPOINT": "http://minio:9000",
                                 "TRACKD_BLOB_RETRY": "30"})
    assert (cfg.blob_store_url, cfg.s3_endpoint, cfg.blob_retry_seconds) == (
        "s3://bkt/team", "http://minio:9000", 30.0)
    with pytest.raises(SystemExit, match="TRACKD_BLOB_URL"):
        DaemonConfig.from_env({**env, "TRACKD_BLOB_URL": "ftp://x/y"})


@pytest.mark.parametrize(("answer", "retried"), [
    ("HTTP error: error sending request", True), ("status code: 503 Slow Down", True),
    ("status code: 500", True), ("status code: 429 Too Many Requests", True),
    ("status code: 408", True), ("status code: 400 Bad Request", False),
    ("status code: 404 Not Found", False), ("status code: 501 Not Implemented", False)])
def test_what_is_retried(answer: str, retried: bool) -> None:
    from obstore.exceptions import GenericError

    from trackd_daemon.blobs.s3 import _transient

    assert _transient(GenericError(f"Server returned non-2xx {answer}")) is retried


def test_without_conditional_writes_each_upload_asks_first(s3: S3Server, tmp_path: Path) -> None:
    store = _store(s3, tmp_path)
    store._conditional = False  # as found on a bucket that ignores If-None-Match
    (tmp_path / "f").write_bytes(b"asked first")
    first, again = store.ingest(tmp_path / "f"), store.ingest(tmp_path / "f")
    assert first.new and not again.new and first.key == again.key
    touched = s3.client().head_object(Bucket=store.bucket, Key=f"p/touched/{first.key}")
    assert touched["ContentLength"] == 0  # found stored: held again, for the collector
    store.close()
