"""The local blob store: content addressing, dedup, durability steps, deletion rules."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

import pytest

from trackd_daemon.blobs import LocalBlobStore, md5_hex


def test_ingest_keys_by_sha256_and_reports_md5(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = os.urandom((3 << 20) + 5)
    src = tmp_path / "src"
    src.write_bytes(data)
    seen: list[int] = []
    info = store.ingest(src, seen.append)
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.new
    assert info.md5 == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert md5_hex(info.md5) == hashlib.md5(data).hexdigest()
    assert sum(seen) == len(data) and max(seen) <= 1 << 20
    path = store.local_path(info.sha256)
    assert path == tmp_path / "blobs" / "sha256" / info.sha256[:2] / info.sha256[2:]
    assert path.read_bytes() == data and path.stat().st_mode & 0o777 == 0o400
    with store.open(info.sha256) as f:
        assert f.read() == data
    assert list(store.scan()) == [(info.sha256, len(data), pytest.approx(path.stat().st_mtime))]
    assert not list((tmp_path / "blobs" / "tmp").iterdir())


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    first, second = store.ingest(a), store.ingest(b)
    assert first.sha256 == second.sha256 and first.new and not second.new
    w = store.writer()
    w.write(b"sa")
    w.write(b"me")
    assert not w.commit().new
    assert len(list(store.scan())) == 1
    assert not list((tmp_path / "blobs" / "tmp").iterdir())


def test_an_aborted_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    w = store.writer()
    w.write(b"partial")
    w.abort()
    w.abort()
    assert list(store.scan()) == [] and not list(store.tmp_dir.iterdir())
    with pytest.raises(FileNotFoundError):
        store.ingest(tmp_path / "missing")
    assert not list(store.tmp_dir.iterdir())


def test_delete_keeps_blobs_written_again_since(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "s"
    src.write_bytes(b"x" * 10)
    key = store.ingest(src).sha256
    old = time.time() - 100
    os.utime(store.local_path(key), (old, old))  # type: ignore[arg-type]
    began = time.time() - 50
    store.ingest(src)  # found stored: touched, so a collection that began earlier keeps it
    assert store.delete(key, untouched_since=began) == 0 and store.exists(key)
    assert store.delete(key, untouched_since=time.time() + 1) == 10 and not store.exists(key)
    assert store.delete(key) == 0


def test_clean_temp_removes_leftovers_of_interrupted_writes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    (store.tmp_dir / "left").write_bytes(b"half")
    store.writer().write(b"in flight")  # not committed: as if the process died here
    assert store.clean_temp(older_than_seconds=3600) == 0
    assert store.clean_temp() == 2


def test_keys_are_checked(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    for bad in ("../../etc/passwd", "ab", "Z" * 64):
        with pytest.raises(ValueError, match="not a blob key"):
            store.local_path(bad)

