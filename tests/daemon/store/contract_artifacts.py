"""The contract's artifact part (``store/artifact_base.py``): versions, dedup, distributed
versions, aliases, links, deletion, lineage, blob records and what the collector asks.

Part of :class:`tests.daemon.store.contract.MetadataStoreContract`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from blake3 import blake3

from trackd._shared.artifact_rules import manifest_digest
from trackd_daemon.errors import (
    ArtifactHasAliasesError,
    ArtifactNotFoundError,
    FailedPreconditionError,
    RunNotFoundError,
)
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    DELETED,
    LOGGED,
    PENDING,
    USED,
    BlobRecord,
    CollectionKey,
    Entry,
    FileStamp,
    NewVersion,
    VersionChanges,
)
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunKey

KEY = CollectionKey("ent", "proj", "data")
REGISTRY = CollectionKey("ent", "model-registry", "best")


def blob(content: bytes) -> BlobRecord:
    return BlobRecord(blake3(content).hexdigest(),
                      base64.b64encode(hashlib.md5(content).digest()).decode(), len(content))


def stored(path: str, content: bytes) -> Entry:
    b = blob(content)
    return Entry(path=path, digest=b.md5, size=b.size, blob_key=b.key)


async def put(store: MetadataStore, *contents: bytes) -> None:
    for c in contents:
        await store.put_blob(blob(c))


def new(key: CollectionKey = KEY, **kw: Any) -> NewVersion:
    return NewVersion(key=key, type=kw.pop("type", "dataset"), owner_uid=kw.pop("owner_uid", 1000),
                      **kw)


@pytest.mark.anyio
class ArtifactContract:
    """Artifacts in the store."""

    async def test_a_stored_manifest_commits_at_once_as_v0_with_latest(
            self, store: MetadataStore) -> None:
        await put(store, b"a", b"bb")
        entries = [stored("b.txt", b"bb"), stored("a.txt", b"a"),
                   Entry(path="ref", digest="etag1", size=-1, ref="s3://b/k", extra='{"etag":"x"}')]
        res = await store.log_version(new(aliases=["best"], tags=["t1"], description="d",
                                          metadata={"k": [1, 2]}), entries)
        v = res.version
        assert (v.state, v.version_index, v.version, res.deduplicated, res.to_store) == (
            COMMITTED, 0, "v0", False, 0)
        assert v.digest == manifest_digest((e.path, e.digest) for e in entries)
        assert (v.size, v.file_count) == (3, 3)
        assert v.aliases == ["best", "latest"]
        assert (v.tags, v.description, v.metadata, v.type) == (["t1"], "d", {"k": [1, 2]},
                                                               "dataset")
        assert v.commit_hash and v.owner_uid == 1000 and v.key == KEY
        for selector in ("latest", "best", "v0", v.digest):
            assert (await store.resolve_version(KEY, selector)).id == v.id
        page = await store.manifest(v.id)
        assert [e.path for e in page] == ["a.txt", "b.txt", "ref"]
        assert page[2].ref == "s3://b/k" and page[2].extra == '{"etag":"x"}'
        assert [e.path for e in await store.manifest(v.id, after="a.txt", limit=1)] == ["b.txt"]
        assert [e.path for e in await store.manifest(v.id, path_prefix="b")] == ["b.txt"]
        assert [e.path for e in await store.manifest(v.id, paths=["ref", "zz"])] == ["ref"]

    async def test_the_same_digest_is_the_same_version_and_takes_the_aliases(
            self, store: MetadataStore) -> None:
        await put(store, b"1", b"2")
        v0 = (await store.log_version(new(), [stored("f", b"1")])).version
        v1 = (await store.log_version(new(), [stored("f", b"2")])).version
        assert (v1.version_index, v1.aliases, (await store.get_version(v0.id)).aliases) == (
            1, ["latest"], [])
        again = await store.log_version(new(aliases=["prod"], tags=["x"]), [stored("f", b"1")])
        assert again.deduplicated and again.version.id == v0.id
        assert again.version.aliases == ["latest", "prod"] and again.version.tags == ["x"]
        assert [v.version for v in await store.list_versions("ent", "proj", "data")] == ["v1", "v0"]

    async def test_files_to_store_leave_the_version_pending_until_recorded(
            self, store: MetadataStore) -> None:
        res = await store.log_version(new(), [Entry(path="x", local_path="/tmp/x", staged=True),
                                              Entry(path="y", local_path="/tmp/y")])
        v = res.version
        assert (v.state, v.version_index, res.to_store) == (PENDING, -1, 2)
        assert v.aliases == ["latest"]
        with pytest.raises(ArtifactNotFoundError):
            await store.resolve_version(KEY, "latest")
        assert await store.try_commit(v.id) is None
        todo = await store.unstored_entries(v.id, 10)
        assert [(e.path, e.local_path, e.staged) for e in todo] == [("x", "/tmp/x", True),
                                                                     ("y", "/tmp/y", False)]
        assert await store.unstored_entries(v.id, 1, after_id=todo[0].id) == todo[1:]
        assert await store.unstored_entries(v.id, 10, after_id=todo[1].id) == []
        stamp = FileStamp("/tmp/x", 1, 2, 1, 3)
        await store.record_stored(v.id, [(todo[0].id, blob(b"x"))], [(stamp, blob(b"x"))])
        assert await store.try_commit(v.id) is None
        assert [e.path for e in await store.unstored_entries(v.id, 10)] == ["y"]
        await store.record_stored(v.id, [(todo[1].id, blob(b"y"))], uploader_uid=1000)
        assert await store.blob_uploaded_by(blob(b"y").key, 1000)
        assert not await store.blob_uploaded_by(blob(b"x").key, 1000)
        done = await store.try_commit(v.id)
        assert done is not None and (done.id, done.state, done.version) == (v.id, COMMITTED, "v0")
        assert done.digest == manifest_digest([("x", blob(b"x").md5), ("y", blob(b"y").md5)])
        assert all(not e.local_path for e in await store.manifest(v.id))
        assert await store.file_digests([stamp]) == {"/tmp/x": blob(b"x")}
        assert await store.file_digests([FileStamp("/tmp/x", 1, 2, 1, 4)]) == {}

    async def test_files_recorded_before_any_version_are_found_by_their_stamps(
            self, store: MetadataStore) -> None:
        stamp = FileStamp("/tmp/staged/1", 1, 7, 1, 9)
        await store.record_files([(stamp, blob(b"s"))], uploader_uid=1000)
        assert await store.get_blob(blob(b"s").key) == blob(b"s")
        assert await store.blob_uploaded_by(blob(b"s").key, 1000)
        assert await store.file_digests([stamp]) == {"/tmp/staged/1": blob(b"s")}
        # No manifest holds it: loose, for the collector once its grace is over.
        assert [b.key for b in await store.unreferenced_blobs(created_before=2e9)] == [
            blob(b"s").key]
        assert await store.forget_blobs([blob(b"s").key]) == [blob(b"s").key]
        assert await store.file_digests([stamp]) == {}

    async def test_file_stamps_are_listed_by_path_and_forgotten_only_as_recorded(
            self, store: MetadataStore) -> None:
        stamps = [FileStamp(f"/s/{c}", 1, i, 1, 9) for i, c in enumerate("abc")]
        await store.record_files([(s, blob(b"s")) for s in stamps])
        assert await store.file_stamps("", 2) == stamps[:2]
        assert await store.file_stamps("/s/b", 2) == stamps[2:]
        newer = FileStamp("/s/a", 1, 7, 1, 10)  # recorded again since: another file there
        await store.record_files([(newer, blob(b"s"))])
        assert await store.forget_file_stamps(stamps) == 2
        assert await store.file_stamps("", 10) == [newer]

    async def test_a_pending_version_equal_to_a_committed_one_is_dropped_at_commit(
            self, store: MetadataStore) -> None:
        await put(store, b"x")
        v0 = (await store.log_version(new(), [stored("x", b"x")])).version
        pending = (await store.log_version(new(aliases=["again"]),
                                           [Entry(path="x", local_path="/x")])).version
        (e,) = await store.unstored_entries(pending.id, 10)
        await store.record_stored(pending.id, [(e.id, blob(b"x"))])
        done = await store.try_commit(pending.id)
        assert done is not None and done.id == v0.id and "again" in done.aliases
        dropped = await store.get_version(pending.id)
        assert (dropped.state, dropped.replaced_by) == (DELETED, v0.id)
        assert len(await store.list_versions("ent", "proj", "data")) == 1

    async def test_distributed_writers_share_one_pending_version(self, store: MetadataStore) -> None:
        await put(store, b"1", b"2", b"3")
        a = await store.log_version(new(distributed_id="d", finalize=False), [stored("a", b"1")])
        b = await store.log_version(new(distributed_id="d", finalize=False, aliases=["x"]),
                                    [stored("b", b"2"), stored("a", b"3")])
        assert a.version.id == b.version.id and b.version.state == PENDING
        done = await store.log_version(new(distributed_id="d", finalize=True), [])
        assert done.version.id == a.version.id and done.version.state == COMMITTED
        assert done.version.aliases == ["latest", "x"]
        assert {(e.path, e.digest) for e in await store.manifest(a.version.id)} == {
            ("a", blob(b"3").md5), ("b", blob(b"2").md5)}
        nxt = await store.log_version(new(distributed_id="d", finalize=False), [stored("c", b"1")])
        assert nxt.version.id != a.version.id and nxt.version.state == PENDING

    async def test_a_retried_request_returns_the_same_version(self, store: MetadataStore) -> None:
        one = await store.log_version(new(request_id="r1"), [Entry(path="x", local_path="/x")])
        await store.fail_version(one.version.id, "boom")
        assert (await store.get_version(one.version.id)).error == "boom"
        two = await store.log_version(new(request_id="r1"), [Entry(path="x", local_path="/x")])
        assert two.version.id == one.version.id and two.version.error == ""
        assert [v.id for v in await store.pending_versions()] == [one.version.id]

    async def test_type_mismatch_and_unknown_run_are_refused(self, store: MetadataStore) -> None:
        await put(store, b"1")
        await store.log_version(new(), [stored("a", b"1")])
        with pytest.raises(FailedPreconditionError, match="type 'dataset'"):
            await store.log_version(new(type="model"), [stored("a", b"1")])
        with pytest.raises(RunNotFoundError):
            await store.log_version(new(run=RunKey("ent", "proj", "nope")), [stored("a", b"1")])

    async def test_update_replaces_aliases_and_changes_fields(self, store: MetadataStore) -> None:
        await put(store, b"1", b"2")
        v0 = (await store.log_version(new(aliases=["a"]), [stored("f", b"1")])).version
        v1 = (await store.log_version(new(), [stored("f", b"2")])).version
        got = await store.update_version(v0.id, VersionChanges(
            description="new", metadata={"m": 1}, aliases=["b", "c"], tags=["t"],
            ttl_seconds=60))
        assert (got.aliases, got.description, got.metadata, got.tags) == (
            ["b", "c"], "new", {"m": 1}, ["t"])
        assert got.expires_at == pytest.approx(got.created_at + 60)
        moved = await store.update_version(v1.id, VersionChanges(aliases=["c"]))
        assert moved.aliases == ["c", "latest"]
        assert (await store.get_version(v0.id)).aliases == ["b"]
        kept = await store.update_version(v1.id, VersionChanges(aliases=[]))
        assert kept.aliases == ["latest"]
        off = await store.update_version(v0.id, VersionChanges(ttl_seconds=-2))
        assert (off.ttl_seconds, off.expires_at) == (-2, 0)

    async def test_delete_needs_delete_aliases_and_moves_latest(self, store: MetadataStore) -> None:
        await put(store, b"1", b"2", b"3")
        v0 = (await store.log_version(new(), [stored("f", b"1")])).version
        v1 = (await store.log_version(new(), [stored("f", b"2")])).version
        with pytest.raises(ArtifactHasAliasesError, match="latest"):
            await store.delete_version(v1.id)
        await store.delete_version(v1.id, delete_aliases=True)
        gone = await store.get_version(v1.id)
        assert gone.state == DELETED and await store.manifest(v1.id) == []
        assert (await store.resolve_version(KEY, "latest")).id == v0.id
        with pytest.raises(ArtifactNotFoundError):
            await store.resolve_version(KEY, "v1")
        with pytest.raises(ArtifactNotFoundError):
            await store.delete_version(v1.id, delete_aliases=True)
        v2 = (await store.log_version(new(), [stored("f", b"3")])).version
        assert v2.version == "v2"

    async def test_links_into_a_portfolio(self, store: MetadataStore) -> None:
        await put(store, b"1", b"2")
        v0 = (await store.log_version(new(type="model"), [stored("f", b"1")])).version
        v1 = (await store.log_version(new(type="model"), [stored("f", b"2")])).version
        l0 = await store.link_version(v0.id, REGISTRY, ["prod"], 1000)
        assert l0.link is not None and l0.link.portfolio == REGISTRY
        assert (l0.id, l0.link.version_index, l0.aliases) == (v0.id, 0, ["latest", "prod"])
        again = await store.link_version(v0.id, REGISTRY, ["x"], 1000)
        assert again.link is not None and again.link.version_index == 0
        l1 = await store.link_version(v1.id, REGISTRY, [], 1000)
        assert l1.link is not None and l1.link.version_index == 1 and l1.aliases == ["latest"]
        assert (await store.resolve_version(REGISTRY, "latest")).id == v1.id
        assert (await store.resolve_version(REGISTRY, "prod")).id == v0.id
        by_index = await store.resolve_version(REGISTRY, "v0")
        assert by_index.id == v0.id and by_index.link is not None
        src = await store.get_version(v0.id)
        assert [lk.portfolio for lk in src.links] == [REGISTRY]
        assert [v.id for v in await store.list_versions("ent", "model-registry", "best")] == [
            v1.id, v0.id]
        coll = await store.get_collection(REGISTRY)
        assert coll is not None and coll.is_portfolio and coll.version_count == 2
        linked = await store.update_version(v0.id, VersionChanges(aliases=["staging"]), REGISTRY)
        assert linked.aliases == ["staging"]
        await store.unlink_version(v1.id, REGISTRY)
        assert (await store.resolve_version(REGISTRY, "latest")).id == v0.id
        with pytest.raises(ArtifactNotFoundError):
            await store.unlink_version(v1.id, REGISTRY)
        with pytest.raises(FailedPreconditionError, match="portfolio"):
            await store.log_version(new(REGISTRY, type="model"), [stored("f", b"1")])
        with pytest.raises(FailedPreconditionError, match="holds logged versions"):
            await store.link_version(v0.id, KEY, [], 1000)
        await store.delete_version(v0.id, delete_aliases=True)
        with pytest.raises(ArtifactNotFoundError):
            await store.resolve_version(REGISTRY, "latest")

    async def test_versions_collections_and_links_keep_their_owners_names(
            self, store: MetadataStore) -> None:
        await put(store, b"1")
        v = (await store.log_version(new(owner_uid=1001, owner_name="ann"),
                                     [stored("f", b"1")])).version
        assert (v.owner_uid, v.owner_name, v.collection_owner_name) == (1001, "ann", "ann")
        linked = await store.link_version(v.id, REGISTRY, [], 2002, owner_name="bob")
        assert linked.link is not None and linked.link.owner_name == "bob"
        assert [lk.owner_name for lk in (await store.get_version(v.id)).links] == ["bob"]
        via = await store.get_link(v.id, REGISTRY)
        assert via.link is not None and via.link.owner_name == "bob"
        coll, portfolio = await store.get_collection(KEY), await store.get_collection(REGISTRY)
        assert coll is not None and (coll.owner_uid, coll.owner_name) == (1001, "ann")
        assert portfolio is not None
        assert (portfolio.owner_uid, portfolio.owner_name) == (2002, "bob")
        assert [c.owner_name for c in await store.list_collections("ent", "proj")] == ["ann"]
        # Without a name (a version logged before they were recorded): "", decided by uid.
        other = CollectionKey("ent", "proj", "old")
        old = (await store.log_version(new(other), [stored("f", b"1")])).version
        assert (old.owner_name, old.collection_owner_name) == ("", "")

    async def test_collections_are_listed_by_type(self, store: MetadataStore) -> None:
        await put(store, b"1")
        await store.log_version(new(), [stored("f", b"1")])
        await store.log_version(new(CollectionKey("ent", "proj", "m"), type="model"),
                                [stored("f", b"1")])
        assert [c.key.name for c in await store.list_collections("ent", "proj")] == ["data", "m"]
        (m,) = await store.list_collections("ent", "proj", "model")
        assert (m.type, m.version_count, m.aliases, m.owner_uid) == ("model", 1, ["latest"], 1000)
        assert [v.key.name for v in await store.list_versions("ent", "proj", type_="model")] == ["m"]

    async def test_lineage(self, store: MetadataStore) -> None:
        for rid in ("w", "r1", "r2"):
            await store.create_run(NewRun(key=RunKey("ent", "proj", rid)))
        writer = RunKey("ent", "proj", "w")
        await put(store, b"1")
        v = (await store.log_version(new(run=writer, history_step=7), [stored("f", b"1")])).version
        assert v.logged_by == writer and v.history_step == 7
        for rid in ("r2", "r1", "r2"):
            await store.record_use(v.id, RunKey("ent", "proj", rid), USED)
        assert await store.lineage(v.id) == (writer, [RunKey("ent", "proj", "r2"),
                                                       RunKey("ent", "proj", "r1")])
        assert [x.id for x in await store.run_versions(writer, LOGGED)] == [v.id]
        assert [x.id for x in await store.run_versions(RunKey("ent", "proj", "r1"), USED)] == [v.id]

    async def test_blob_records_and_collection(self, store: MetadataStore) -> None:
        held, loose = blob(b"held"), blob(b"loose")
        await store.put_blob(held)
        await store.put_blob(loose, uploader_uid=1001)
        assert await store.get_blob(held.key) == held
        assert await store.get_blobs([held.key, "0" * 64]) == {held.key: held}
        assert await store.find_blobs([(loose.md5, loose.size), (held.md5, held.size + 1)]) == {
            (loose.md5, loose.size): loose}
        wanted = [(loose.md5, loose.size)]
        assert await store.find_blobs(wanted, uploaders=[1001]) == {wanted[0]: loose}
        assert await store.find_blobs(wanted, uploaders=[0, 1002]) == {}
        assert await store.blob_uploaded_by(loose.key, 1001)
        assert not await store.blob_uploaded_by(loose.key, 1002)
        v = (await store.log_version(new(), [stored("f", b"held")])).version
        assert [x.id for x in await store.versions_holding(held.key)] == [v.id]
        assert await store.referenced_blobs([held.key, loose.key]) == {held.key}
        assert await store.unreferenced_blobs(created_before=0) == []
        assert [b.key for b in await store.unreferenced_blobs(created_before=2e9)] == [
            loose.key]
        assert await store.forget_blobs([held.key, loose.key]) == [loose.key]
        assert await store.get_blob(loose.key) is None
        await store.delete_version(v.id, delete_aliases=True)
        assert await store.forget_blobs([held.key]) == [held.key]

    async def test_expired_and_stale_versions(self, store: MetadataStore) -> None:
        await put(store, b"1", b"2")
        v = (await store.log_version(new(ttl_seconds=10, created_at=1000.0),
                                     [stored("f", b"1")])).version
        await store.log_version(new(ttl_seconds=-2, created_at=1000.0), [stored("f", b"2")])
        assert v.expires_at == 1010.0
        assert await store.expired_versions(1009.0) == []
        assert await store.expired_versions(1010.0) == [v.id]
        p = (await store.log_version(new(), [Entry(path="x", local_path="/x")])).version
        assert await store.stale_pending_versions(before=2e9) == []
        await store.fail_version(p.id, "gone")
        assert await store.stale_pending_versions(before=2e9) == [p.id]

    async def test_artifacts_survive_reopening(
            self, store: MetadataStore, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        await put(store, b"1")
        v = (await store.log_version(new(aliases=["a"]), [stored("f", b"1")])).version
        other = await open_store()
        try:
            got = await other.resolve_version(KEY, "a")
            assert (got.id, got.digest, got.aliases) == (v.id, v.digest, ["a", "latest"])
        finally:
            await other.aclose()
