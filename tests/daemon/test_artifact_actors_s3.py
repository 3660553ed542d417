"""The artifact upload actor and the garbage collector over a bucket store (moto's S3 server
on loopback), as ``test_artifact_actors.py`` runs them over the local one: a version's files
uploaded by several workers and committed, a failed upload failing the version, and the
collector freeing blobs nothing holds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from blake3 import blake3

from tests.daemon.test_artifact_actors import KEY, files, run_until
from tests.s3_server import CREDENTIALS, S3Server
from trackd_daemon.actors.artifact_gc import ArtifactCollector
from trackd_daemon.actors.artifacts import ArtifactUploader, Store
from trackd_daemon.blobs.s3 import S3BlobStore
from trackd_daemon.store.artifact_models import COMMITTED, BlobRecord, Entry, NewVersion
from trackd_daemon.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    yield server
    server.stop()


@pytest.fixture
def blobs(s3: S3Server, tmp_path: Path) -> Iterator[S3BlobStore]:
    store = S3BlobStore(f"s3://{s3.new_bucket()}/t", tmp_path / "spool", endpoint=s3.endpoint,
                        retry_seconds=2, part_bytes=5 << 20)
    yield store
    store.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")
    yield s
    await s.aclose()


async def test_files_are_uploaded_by_several_workers_and_committed(
        store: SqliteStore, blobs: S3BlobStore, tmp_path: Path) -> None:
    (big,) = files(tmp_path / "big", 1, size=11 << 20)  # above the part size: multipart
    entries = [*files(tmp_path / "src", 30), Entry(path="big", local_path=big.local_path)]
    res = await store.log_version(NewVersion(KEY, "dataset", 0), entries)
    uploader = ArtifactUploader(store, blobs, workers=4)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await uploader.tell(Store(res.version.id, len(entries), 30 * 200_000 + (11 << 20)))
        await run_until(uploader, res.version.id)
        uploader.close()
    v = await store.get_version(res.version.id)
    assert v.state == COMMITTED and v.file_count == 31
    stored = {k for k, _, _ in blobs.scan()}
    assert stored == {blake3(Path(e.local_path).read_bytes()).hexdigest() for e in entries}
    assert list((tmp_path / "spool").iterdir()) == []


async def test_a_bucket_that_stays_away_fails_the_version_pending(
        store: SqliteStore, blobs: S3BlobStore, s3: S3Server, tmp_path: Path) -> None:
    res = await store.log_version(NewVersion(KEY, "dataset", 0), files(tmp_path / "src", 3))
    s3.stop()
    uploader = ArtifactUploader(store, blobs, workers=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uploader.run)
        await uploader.tell(Store(res.version.id, 3, 3 * 200_000))
        await run_until(uploader, res.version.id)
        uploader.close()
    v = await store.get_version(res.version.id)
    assert v.state == "PENDING" and "did not answer" in (v.error or "")
    s3.start()


async def test_the_collector_frees_unheld_blobs_in_the_bucket(
        store: SqliteStore, blobs: S3BlobStore, tmp_path: Path) -> None:
    (tmp_path / "keep").write_bytes(b"kept bytes")
    (tmp_path / "orphan").write_bytes(b"no record")
    kept = blobs.ingest(tmp_path / "keep")
    orphan = blobs.ingest(tmp_path / "orphan")
    await store.put_blob(BlobRecord(kept.key, kept.md5, kept.size))
    await store.log_version(NewVersion(KEY, "dataset", 0), [
        Entry(path="k", digest=kept.md5, size=kept.size, blob_key=kept.key)])
    gc = ArtifactCollector(store, blobs, grace=3600.0)
    assert (await gc.collect()).blobs_freed == 0  # young: an upload may be on its way
    freed = await gc.collect(now=time.time() + 7200)
    assert (freed.blobs_freed, freed.bytes_freed) == (1, orphan.size)
    assert blobs.exists(kept.key) and not blobs.exists(orphan.key)
