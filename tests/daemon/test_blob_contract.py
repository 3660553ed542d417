"""The blob store contract, run against every backend: the local store, a shared directory
(``file://``) and an S3-compatible bucket (moto's server on loopback). What only one backend
does (hard links, fsyncs, multipart uploads, retries) is tested beside it (``test_blobs.py``,
``test_blobs_s3.py``)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from blake3 import blake3

from tests.s3_server import S3Server
from trackd_daemon.blobs import BlobStore, open_blobs
from trackd_daemon.blobs.base import md5_b64


@dataclass
class Backend:
    name: str
    store: BlobStore
    #: Whether young temporary files survive clean_temp() (a store other daemons share).
    keeps_young_temp: bool = False


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "file", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        b = Backend("local", open_blobs(f"file://{tmp_path / 'blobs'}", tmp_path / "spool",
                                        shared=False))
    elif request.param == "file":
        b = Backend("file", open_blobs(f"file://{tmp_path / 'nfs' / 'blobs'}",
                                       tmp_path / "spool"), keeps_young_temp=True)
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        os.environ.update(server.env)  # as a daemon reads them (restored below)
        bucket = server.new_bucket()
        b = Backend("s3", open_blobs(f"s3://{bucket}/team/blobs", tmp_path / "spool",
                                     s3_endpoint=server.endpoint, retry_seconds=5))
    yield b
    b.store.close()
    for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "AWS_DEFAULT_REGION"):
        os.environ.pop(k, None)


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ingest_keys_by_content_and_reports_md5(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    data = os.urandom((3 << 20) + 5)
    seen: list[int] = []
    info = store.ingest(_file(tmp_path, "src", data), seen.append)
    assert store.key_hash == "blake3"
    assert (info.key, info.md5, info.size, info.new) == (blake3(data).hexdigest(),
                                                         _b64md5(data), len(data), True)
    assert sum(seen) == len(data) and max(seen) <= 1 << 20
    with store.open(info.key) as f:
        assert f.read() == data
    assert store.exists(info.key) and not store.exists(blake3(b"other").hexdigest())
    ((key, size, mtime),) = list(store.scan())
    assert (key, size) == (info.key, len(data)) and abs(mtime - time.time()) < 60
    with open(tmp_path / "src", "rb") as f:  # from an open descriptor, read from its start
        f.read(10)
        assert store.ingest(f.fileno()) == info.__class__(info.key, info.md5, info.size, False)
    local = store.local_path(info.key)
    assert local is None if backend.name == "s3" else local.read_bytes() == data  # type: ignore[union-attr]


def test_the_same_bytes_are_stored_once(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    first = store.ingest(_file(tmp_path, "a", b"same"))
    second = store.ingest(_file(tmp_path, "b", b"same"))
    assert first.key == second.key and first.new and not second.new
    w = store.writer()
    w.write(b"sa")
    w.write(b"me")
    assert w.commit() == second
    w = store.writer()
    w.write(b"streamed")
    assert w.commit().new and len(list(store.scan())) == 2


def test_an_aborted_or_failed_write_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    w = store.writer()
    w.write(b"partial")
    w.abort()
    w.abort()
    with pytest.raises(FileNotFoundError):
        store.ingest(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        store.prepare(tmp_path / "missing")
    assert list(store.scan()) == []
    assert store.clean_temp() == 0  # nothing was left behind to clean


def test_clean_temp_removes_leftovers_of_interrupted_writes(backend: Backend) -> None:
    store = backend.store
    w = store.writer()
    w.write(b"in flight")  # never committed: as if the daemon died here
    assert store.clean_temp(older_than_seconds=3600) == 0
    assert store.clean_temp() == (0 if backend.keeps_young_temp else 1)
    w.abort()


def test_delete_keeps_blobs_written_again_since(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    kept = store.ingest(_file(tmp_path, "k", b"k" * 10)).key
    gone = store.ingest(_file(tmp_path, "g", b"g" * 20)).key
    time.sleep(2.2)  # object stores keep whole seconds
    began = time.time() - 0.5  # a collection begins (file times lag the clock a tick)
    store.ingest(tmp_path / "k")  # found stored: held again since the collection began
    assert store.delete(kept, untouched_since=began) == 0 and store.exists(kept)
    assert store.delete(gone, untouched_since=began) == 20 and not store.exists(gone)
    assert store.delete(gone) == 0
    assert store.delete(kept, untouched_since=time.time() + 5) == 10
    assert list(store.scan()) == []
    with pytest.raises(FileNotFoundError):
        store.open(kept)


def test_prepared_blobs_are_stored_when_published(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    datas = [os.urandom((1 << 20) + i) for i in range(3)] + [b"same", b"same", b""]
    seen: list[int] = []
    pending = [store.prepare(_file(tmp_path, f"s{i}", d), seen.append)
               for i, d in enumerate(datas)]
    assert sum(seen) == sum(map(len, datas))
    assert [(p.key, p.md5, p.size) for p in pending] == [
        (blake3(d).hexdigest(), _b64md5(d), len(d)) for d in datas]
    assert not any(p.taken for p in pending)  # not asked to: copied
    infos = store.publish(pending)
    assert [(i.key, i.size) for i in infos] == [(p.key, p.size) for p in pending]
    assert sum(i.new for i in infos[3:5]) == 1 and all(i.new for i in infos[:3])
    for info, data in zip(infos, datas, strict=True):
        with store.open(info.key) as f:
            assert f.read() == data
    assert store.publish([]) == []
    again = store.prepare(tmp_path / "s0")
    (info,) = store.publish([again])
    assert (info.key, info.new) == (infos[0].key, False)
    assert store.publish([again]) == [info]  # published again: found stored
    assert store.clean_temp() == 0


def test_a_staged_file_is_taken_with_its_writers_md5(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    staged = _file(tmp_path, "staged", b"private copy")
    staged.chmod(0o400)
    assert store.can_take(staged) and not store.can_take(tmp_path / "missing")
    given = md5_b64(hashlib.md5(b"private copy").digest())
    p = store.prepare(staged, take=True, md5=given)
    assert (p.key, p.md5) == (blake3(b"private copy").hexdigest(), given)
    (info,) = store.publish([p])
    staged.unlink()  # the SDK deletes its staging copy
    with store.open(info.key) as f:
        assert f.read() == b"private copy"
    shared = _file(tmp_path, "shared", b"two names")
    os.link(shared, tmp_path / "other-name")
    assert not store.can_take(shared)
    q = store.prepare(shared, take=True, md5="not its md5")  # copied, and its copy hashed
    assert not q.taken and q.md5 == _b64md5(b"two names")
    store.publish([q])
    shared.write_bytes(b"edited later")  # the blob keeps what was stored
    with store.open(q.key) as f:
        assert f.read() == b"two names"


def test_discarded_blobs_are_not_published(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    staged = _file(tmp_path, "staged", b"s")
    pending = [store.prepare(staged, take=True), store.prepare(_file(tmp_path, "p", b"p"))]
    store.discard(pending)
    store.discard(pending)
    assert staged.read_bytes() == b"s" and staged.stat().st_nlink == 1
    try:
        (info,) = store.publish(pending[:1])
    except FileNotFoundError:
        pass  # not stored
    else:  # a bucket store may have uploaded it before the discard (base.py): it is whole
        assert backend.name == "s3" and not info.new
        with store.open(info.key) as f:
            assert f.read() == b"s"
    assert store.clean_temp() == 0  # nothing is left (an upload in flight ends on its own)


def test_open_streams_and_seeks(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    data = os.urandom((5 << 20) + 123)
    key = store.ingest(_file(tmp_path, "d", data)).key
    with store.open(key) as f:
        assert f.seekable()
        assert f.read(1000) == data[:1000]
        f.seek(3 << 20)
        assert f.read(10) == data[3 << 20:(3 << 20) + 10] and f.tell() == (3 << 20) + 10
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:] and f.read(10) == b""
        f.seek(len(data))
        assert f.read(1) == b""
        f.seek(7)
        got = bytearray()
        while chunk := f.read(1 << 20):
            got += chunk
        assert bytes(got) == data[7:]
    empty = store.ingest(_file(tmp_path, "e", b"")).key
    with store.open(empty) as f:
        assert f.read() == b""


def test_keys_are_checked(backend: Backend) -> None:
    store = backend.store
    for bad in ("../../etc/passwd", "ab", "Z" * 64):
        for call in (store.local_path, store.open, store.exists, store.delete):
            with pytest.raises(ValueError, match="not a blob key"):
                call(bad)


def test_many_files_prepared_at_once(backend: Backend, tmp_path: Path) -> None:
    """Worker threads prepare files side by side (as the artifact uploader does)."""
    from concurrent.futures import ThreadPoolExecutor

    store = backend.store
    datas = [os.urandom(1000 + i) for i in range(64)]
    paths = [_file(tmp_path, f"m{i}", d) for i, d in enumerate(datas)]
    with ThreadPoolExecutor(8) as pool:
        pending = list(pool.map(store.prepare, paths))
    infos = store.publish(pending)
    assert all(i.new for i in infos)
    assert sorted(k for k, _, _ in store.scan()) == sorted(blake3(d).hexdigest() for d in datas)
