"""The local blob store: content addressing, dedup, durability steps (one blob, or many
published together), taking staged files over, deletion rules."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

import pytest
from blake3 import blake3

from trackd_daemon.blobs import BlobInfo, LocalBlobStore, md5_hex
from trackd_daemon.blobs.base import md5_b64


def test_ingest_keys_by_blake3_and_reports_md5(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = os.urandom((3 << 20) + 5)
    src = tmp_path / "src"
    src.write_bytes(data)
    seen: list[int] = []
    info = store.ingest(src, seen.append)
    assert info.key == blake3(data).hexdigest() and info.new
    assert info.md5 == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert md5_hex(info.md5) == hashlib.md5(data).hexdigest()
    assert sum(seen) == len(data) and max(seen) <= 1 << 20
    path = store.local_path(info.key)
    assert path == tmp_path / "blobs" / "blake3" / info.key[:2] / info.key[2:]
    assert path.read_bytes() == data and path.stat().st_mode & 0o777 == 0o400
    with store.open(info.key) as f:
        assert f.read() == data
    assert list(store.scan()) == [(info.key, len(data), pytest.approx(path.stat().st_mtime))]
    assert not list((tmp_path / "blobs" / "tmp").iterdir())


def test_a_store_made_with_sha256_keys_keeps_them(tmp_path: Path) -> None:
    """A store made before BLAKE3 keys (a sha256/ directory) goes on keying by SHA-256, so the
    keys its metadata names still find their blobs; the same bytes are not stored twice."""
    old = LocalBlobStore(tmp_path / "blobs")
    assert old.key_hash == "blake3"
    (tmp_path / "blobs" / "blake3").rename(tmp_path / "blobs" / "sha256")  # as it was made
    data = os.urandom(5000)
    blob = tmp_path / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()[:2]
    (blob / hashlib.sha256(data).hexdigest()[2:]).write_bytes(data)
    store = LocalBlobStore(tmp_path / "blobs")
    assert store.key_hash == "sha256" and not (tmp_path / "blobs" / "blake3").exists()
    src = tmp_path / "src"
    src.write_bytes(data)
    for info in (store.ingest(src), store.publish([store.prepare(src)])[0]):
        assert info.key == hashlib.sha256(data).hexdigest() and not info.new
    src.write_bytes(b"new bytes")
    info = store.ingest(src)
    assert info.new and info.key == hashlib.sha256(b"new bytes").hexdigest()
    assert store.path_of(info.key).read_bytes() == b"new bytes"
    assert len(list(store.scan())) == 2


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    first, second = store.ingest(a), store.ingest(b)
    assert first.key == second.key and first.new and not second.new
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
    key = store.ingest(src).key
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



def test_prepared_blobs_are_under_their_keys_only_once_published(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    datas = [os.urandom((1 << 20) + i) for i in range(3)] + [b"same", b"same"]
    srcs = []
    for i, data in enumerate(datas):
        srcs.append(tmp_path / f"s{i}")
        srcs[-1].write_bytes(data)
    seen: list[int] = []
    pending = [store.prepare(src, seen.append) for src in srcs]
    assert sum(seen) == sum(map(len, datas)) and max(seen) <= 1 << 20
    assert [p.key for p in pending] == [blake3(d).hexdigest() for d in datas]
    assert [p.md5 for p in pending] == [base64.b64encode(hashlib.md5(d).digest()).decode()
                                        for d in datas]
    assert not any(p.taken for p in pending)  # not asked to: copied
    assert list(store.scan()) == [] and len(list(store.tmp_dir.iterdir())) == 5
    infos = store.publish(pending)
    assert [(i.key, i.size, i.new) for i in infos] == [
        (p.key, len(d), n) for p, d, n in zip(pending, datas, [1, 1, 1, 1, 0], strict=True)]
    for info, data in zip(infos, datas, strict=True):
        path = store.path_of(info.key)
        assert path.read_bytes() == data and path.stat().st_mode & 0o777 == 0o400
    assert not list(store.tmp_dir.iterdir()) and store.publish([]) == []
    again = store.prepare(srcs[0])
    assert store.publish([again]) == [BlobInfo(infos[0].key, infos[0].md5, infos[0].size)]
    assert not list(store.tmp_dir.iterdir())  # held already: the copy is dropped


def test_a_staged_file_is_taken_over_not_copied(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    staged = tmp_path / "staged"
    staged.write_bytes(b"private copy")
    staged.chmod(0o400)
    old = time.time() - 7200
    os.utime(staged, (old, old))  # staged two hours ago
    assert store.can_take(staged) and not store.can_take(tmp_path / "missing")
    p = store.prepare(staged, take=True)
    assert p.taken and p.key == blake3(b"private copy").hexdigest()
    assert store.clean_temp(older_than_seconds=3600) == 0  # just linked in: not a leftover
    (info,) = store.publish([p])
    blob = store.path_of(info.key)
    assert info.new and blob.stat().st_ino == staged.stat().st_ino  # the same file
    assert blob.stat().st_mtime > old + 3600  # the collector's grace counts from now
    staged.unlink()  # the SDK deletes its staging copy
    assert blob.read_bytes() == b"private copy"
    assert not list(store.tmp_dir.iterdir())


def test_files_with_other_names_are_copied_even_when_staged(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    original = tmp_path / "original"
    original.write_bytes(b"a user's file")
    os.link(original, tmp_path / "another-name")
    assert not store.can_take(original) and not store.can_take(tmp_path)
    p = store.prepare(original, take=True)
    assert not p.taken
    (info,) = store.publish([p])
    assert store.path_of(info.key).stat().st_ino != original.stat().st_ino
    original.write_bytes(b"edited later")  # the blob keeps what was logged
    assert store.path_of(info.key).read_bytes() == b"a user's file"


def test_a_taken_over_file_keeps_its_writers_md5_and_gets_its_key_from_its_bytes(
        tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    staged = tmp_path / "staged"
    staged.write_bytes(b"private copy")
    given = md5_b64(hashlib.md5(b"private copy").digest())
    p = store.prepare(staged, take=True, md5=given)
    assert p.taken and (p.md5, p.key) == (given, blake3(b"private copy").hexdigest())
    # A file that cannot be taken over is copied, and the copy is hashed: nothing is taken
    # on trust for bytes the store reads itself.
    shared = tmp_path / "shared"
    shared.write_bytes(b"two names")
    os.link(shared, tmp_path / "other-name")
    q = store.prepare(shared, take=True, md5="not its md5")
    assert not q.taken and q.md5 == md5_b64(hashlib.md5(b"two names").digest())
    store.discard([p, q])


def test_discarded_blobs_leave_nothing_and_a_taken_source_stays(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    staged, plain = tmp_path / "staged", tmp_path / "plain"
    staged.write_bytes(b"s")
    plain.write_bytes(b"p")
    pending = [store.prepare(staged, take=True), store.prepare(plain)]
    store.discard(pending)
    store.discard(pending)
    assert not list(store.tmp_dir.iterdir()) and list(store.scan()) == []
    assert staged.read_bytes() == b"s" and staged.stat().st_nlink == 1


def test_without_a_kernel_copy_files_are_copied_and_hashed_in_one_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackd_daemon.blobs import local

    monkeypatch.delattr(local.os, "copy_file_range", raising=False)  # as where it is missing
    store = LocalBlobStore(tmp_path / "blobs")
    data = os.urandom((2 << 20) + 3)
    (tmp_path / "src").write_bytes(data)
    seen: list[int] = []
    (info,) = store.publish([store.prepare(tmp_path / "src", seen.append)])
    assert info.key == blake3(data).hexdigest() and sum(seen) == len(data)
    assert store.path_of(info.key).read_bytes() == data


def test_a_source_the_kernel_cannot_copy_from_is_copied_in_user_space(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from trackd_daemon.blobs import local

    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(local.os, "copy_file_range", refuse)
    monkeypatch.setattr(local, "_no_kernel_copy", set())
    store = LocalBlobStore(tmp_path / "blobs")
    (tmp_path / "src").write_bytes(b"elsewhere")
    (info,) = store.publish([store.prepare(tmp_path / "src")])
    assert store.path_of(info.key).read_bytes() == b"elsewhere"
    assert local._no_kernel_copy == {(tmp_path / "src").stat().st_dev}  # not tried again
    assert not list(store.tmp_dir.iterdir())


def test_without_syncfs_each_file_and_directory_is_fsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackd_daemon.blobs import local

    synced: list[str] = []
    monkeypatch.setattr(local, "sync_filesystem", lambda path: False)  # as where it is missing
    monkeypatch.setattr(local, "_fsync_file", lambda path: synced.append(f"file {path.name}"))
    monkeypatch.setattr(local, "fsync_dir", lambda path: synced.append(f"dir {path.name}"))
    store = LocalBlobStore(tmp_path / "blobs")
    synced.clear()  # making the store fsynced its fan-out directories
    (tmp_path / "a").write_bytes(b"a")
    pending = store.prepare(tmp_path / "a")
    (info,) = store.publish([pending])
    # Its bytes before its name, and its name before publish returns.
    assert synced == [f"file {pending.token}", f"dir {info.key[:2]}"]
