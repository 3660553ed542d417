"""The artifact upload actor and the garbage collector, against a real SQLite store and blob
store (no daemon): storing, progress, failure, resuming, and what the collector frees."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from blake3 import blake3

from trackd_daemon.actors.artifact_gc import ArtifactCollector
from trackd_daemon.actors.artifacts import ArtifactUploader, Store
from trackd_daemon.blobs import LocalBlobStore
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    CollectionKey,
    Entry,
    NewVersion,
    VersionInfo,
)
from trackd_daemon.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio
KEY = CollectionKey("e", "p", "data")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")
    yield s
    await s.aclose()


def files(root: Path, n: int, size: int = 200_000) -> list[Entry]:
    root.mkdir(exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"f{i}"
        p.write_bytes(os.urandom(size))
        out.append(Entry(path=f"f{i}", local_path=str(p)))
    return out


async def run_until(uploader: ArtifactUploader, version_id: str, timeout: float = 30) -> None:
    """Wait until the job for the version has ended (committed, or failed)."""
    store = uploader._store
    with anyio.fail_after(timeout):
        while True:
            v = await store.get_version(version_id)
            if (v.state != "PENDING" or v.error) and not uploader.busy():
                return
            await anyio.sleep(0.01)


async def store_with_uploader(store: SqliteStore, blobs: LocalBlobStore, version_id: str,
                              files: int, size: int) -> VersionInfo:
    """Run an upload actor (two workers) until the version's job ended; the version then."""
    uploader = ArtifactUploader(store, blobs, workers=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await uploader.tell(Store(version_id, files, size))
        await run_until(uploader, version_id)
        uploader.close()
    return await store.get_version(version_id)


async def test_files_are_stored_in_parallel_and_committed(store: SqliteStore,
                                                          tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    uploader = ArtifactUploader(store, blobs, workers=3)
    res = await store.log_version(NewVersion(KEY, "dataset", 0), files(tmp_path / "src", 12))
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await uploader.tell(Store(res.version.id, 12, 12 * 200_000))
        await run_until(uploader, res.version.id)
        uploader.close()
    v = await store.get_version(res.version.id)
    assert (v.state, v.version, v.file_count, v.size) == (COMMITTED, "v0", 12, 12 * 200_000)
    assert len(list(blobs.scan())) == 12
    assert not uploader.busy()
    final = uploader.progress(v.id)  # kept for watchers that come after the job ended
    assert final is not None and (final.files_done, final.bytes_new) == (12, 12 * 200_000)


async def test_a_missing_file_fails_the_version_naming_it(store: SqliteStore,
                                                          tmp_path: Path) -> None:
    entries = files(tmp_path / "src", 3)
    os.unlink(entries[1].local_path)
    uploader = ArtifactUploader(store, LocalBlobStore(tmp_path / "blobs"), workers=2)
    res = await store.log_version(NewVersion(KEY, "dataset", 0), entries)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await uploader.tell(Store(res.version.id))
        await run_until(uploader, res.version.id)
        p = uploader.progress(res.version.id)
        uploader.close()
    v = await store.get_version(res.version.id)
    assert v.state == "PENDING" and entries[1].local_path in v.error and "f1" in v.error
    assert p is not None and p.error is not None and "f1" in p.error.message
    assert not list((tmp_path / "blobs" / "tmp").iterdir())  # copies not published: dropped


async def test_staged_files_are_taken_over_and_the_others_copied(store: SqliteStore,
                                                                 tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    entries = files(tmp_path / "src", 6, size=10_000)
    for e in entries[:4]:
        e.staged = True
    res = await store.log_version(NewVersion(KEY, "dataset", 0), entries)
    assert [e.staged for e in await store.unstored_entries(res.version.id, 10)] == [
        True] * 4 + [False] * 2
    v = await store_with_uploader(store, blobs, res.version.id, 6, 60_000)
    assert (v.state, v.file_count) == (COMMITTED, 6)
    by_path = {e.path: e for e in await store.manifest(v.id)}
    for e in entries:
        blob = blobs.path_of(by_path[e.path].blob_key)
        assert blob.read_bytes() == Path(e.local_path).read_bytes()
        same_file = blob.stat().st_ino == os.stat(e.local_path).st_ino
        assert same_file == e.staged
    assert not list(blobs.tmp_dir.iterdir())


async def test_pending_versions_are_resumed_when_the_actor_starts(store: SqliteStore,
                                                                  tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    entries = files(tmp_path / "src", 6)
    res = await store.log_version(NewVersion(KEY, "dataset", 0), entries)
    first = await store.unstored_entries(res.version.id, 2)
    # A previous daemon stored two files and died; it also left a partial write behind.
    stored = [(e.id, blobs.ingest(Path(e.local_path))) for e in first]
    from trackd_daemon.store.artifact_models import BlobRecord

    await store.record_stored(res.version.id, [(i, BlobRecord(b.key, b.md5, b.size))
                                               for i, b in stored])
    (blobs.tmp_dir / "partial").write_bytes(b"half")
    uploader = ArtifactUploader(store, blobs, workers=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await run_until(uploader, res.version.id)
        uploader.close()
    v = await store.get_version(res.version.id)
    assert v.state == COMMITTED and v.file_count == 6
    assert not (blobs.tmp_dir / "partial").exists()


async def test_the_collector_expires_versions_and_frees_unheld_blobs(store: SqliteStore,
                                                                     tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep").write_bytes(b"kept bytes")
    (src / "drop").write_bytes(b"dropped bytes")
    kept = blobs.ingest(src / "keep")
    dropped = blobs.ingest(src / "drop")
    orphan_src = src / "orphan"
    orphan_src.write_bytes(b"no record")
    orphan = blobs.ingest(orphan_src)
    from trackd_daemon.store.artifact_models import BlobRecord

    for b in (kept, dropped):
        await store.put_blob(BlobRecord(b.key, b.md5, b.size))
    keep = await store.log_version(NewVersion(KEY, "dataset", 0, ttl_seconds=-2), [
        Entry(path="k", digest=kept.md5, size=kept.size, blob_key=kept.key)])
    short = await store.log_version(NewVersion(KEY, "dataset", 0, ttl_seconds=5), [
        Entry(path="d", digest=dropped.md5, size=dropped.size, blob_key=dropped.key)])
    gc = ArtifactCollector(store, blobs, grace=0.0)
    later = time.time() + 10
    dry = await gc.collect(dry_run=True, now=later)
    assert dry.versions_expired == 1 and dry.blobs_freed == 1  # the orphan: dropped is held
    assert blobs.exists(dropped.key) and blobs.exists(orphan.key)
    freed = await gc.collect(now=later)
    assert freed.versions_expired == 1 and freed.blobs_freed == 2
    assert freed.bytes_freed == dropped.size + orphan.size
    assert blobs.exists(kept.key) and not blobs.exists(dropped.key)
    assert not blobs.exists(orphan.key)
    assert (await store.get_version(short.version.id)).state == "DELETED"
    assert (await store.get_version(keep.version.id)).state == COMMITTED
    assert await gc.collect(now=later) == type(freed)()


async def test_the_collector_keeps_young_uploads(store: SqliteStore, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    w = blobs.writer()
    w.write(b"uploaded, not yet in a manifest")
    b = w.commit()
    from trackd_daemon.store.artifact_models import BlobRecord

    await store.put_blob(BlobRecord(b.key, b.md5, b.size), uploader_uid=1)
    gc = ArtifactCollector(store, blobs, grace=3600.0)
    assert (await gc.collect()).blobs_freed == 0 and blobs.exists(b.key)
    assert (await gc.collect(now=time.time() + 7200)).blobs_freed == 1


async def test_the_collector_forgets_stamps_of_files_gone_or_changed(
        store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trackd_daemon.actors import artifact_gc
    from trackd_daemon.store.artifact_models import BlobRecord, FileStamp

    monkeypatch.setattr(artifact_gc, "STAMP_PAGE", 2)
    monkeypatch.setattr(artifact_gc, "STAMPS_PER_ROUND", 4)  # two pages per round
    blobs = LocalBlobStore(tmp_path / "blobs")
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"f{i}")
        paths[-1].write_bytes(b"x" * i)
    b = blobs.ingest(paths[0])
    record = BlobRecord(b.key, b.md5, b.size)

    def stamp(p: Path) -> FileStamp:
        st = p.stat()
        return FileStamp(str(p), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    await store.record_files([(stamp(p), record) for p in paths])
    paths[1].unlink()  # a staging copy deleted once stored
    paths[4].write_bytes(b"changed")
    gc = ArtifactCollector(store, blobs, grace=3600.0)
    await gc.collect()  # f0..f3 checked: f1 forgotten
    assert [s.path for s in await store.file_stamps("", 10)] == [
        str(paths[i]) for i in (0, 2, 3, 4, 5)]
    await gc.collect()  # f4, f5 checked: f4 forgotten; then it starts again
    await gc.collect()
    left = await store.file_stamps("", 10)
    assert [s.path for s in left] == [str(paths[i]) for i in (0, 2, 3, 5)]
    assert await store.file_digests([stamp(paths[2])]) == {str(paths[2]): record}


async def test_pages_are_read_ahead_and_a_staged_files_md5_is_taken_from_its_entry(
        store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from trackd_daemon.actors import artifacts
    from trackd_daemon.blobs.base import md5_b64

    monkeypatch.setattr(artifacts, "PAGE", 3)  # 10 files: four pages, read while storing
    blobs = LocalBlobStore(tmp_path / "blobs")
    entries = files(tmp_path / "src", 10, size=5_000)
    for e in entries[:2]:  # staging copies whose writer (a trusted caller) gave their MD5
        e.staged = True
        e.digest = md5_b64(hashlib.md5(Path(e.local_path).read_bytes()).digest())
    # The MD5 given is not computed again (that is the point): shown with one that differs.
    entries[1].digest = md5_b64(hashlib.md5(b"what the writer said").digest())
    res = await store.log_version(NewVersion(KEY, "dataset", 0), entries)
    v = await store_with_uploader(store, blobs, res.version.id, 10, 50_000)
    assert (v.state, v.file_count) == (COMMITTED, 10)
    for e in await store.manifest(v.id):
        data = (tmp_path / "src" / e.path).read_bytes()
        assert e.blob_key == blake3(data).hexdigest()  # the key: always computed
        said = b"what the writer said" if e.path == entries[1].path else data
        assert e.digest == md5_b64(hashlib.md5(said).digest())
