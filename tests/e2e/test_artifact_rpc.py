"""ArtifactService against a real daemon, with raw gRPC stubs (no SDK)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from blake3 import blake3

from tests.helpers import DaemonProcess, wait_for
from trackd._shared.artifact_rules import manifest_digest
from trackd._transport.connection import make_stub
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb
from trackd.v1 import run_pb2, run_service_pb2

ENTITY = "ent"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def reason(err: grpc.RpcError) -> str:
    from google.rpc import error_details_pb2, status_pb2

    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            info = error_details_pb2.ErrorInfo()
            status.details[0].Unpack(info)
            return info.reason
    return ""


class Client:
    """The ArtifactService (and RunService) over the daemon's socket."""

    def __init__(self, daemon: DaemonProcess) -> None:
        self.channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
        self.art = make_stub(self.channel, pb, "ArtifactService")
        self.runs = make_stub(self.channel, run_service_pb2, "RunService")

    def log(self, project: str, name: str, entries: list[apb.ManifestEntry], **kw: Any) -> Any:
        kw.setdefault("type", "dataset")
        return self.art.LogArtifact(pb.LogArtifactRequest(
            entity=ENTITY, project=project, name=name, entries=entries, **kw))

    def wait(self, version_id: str) -> tuple[apb.Artifact, list[apb.ArtifactProgress]]:
        seen = []
        for msg in self.art.WatchArtifact(pb.WatchArtifactRequest(id=version_id), timeout=60):
            seen.append(msg.progress)
            if msg.done:
                return msg.artifact, seen
        raise AssertionError("WatchArtifact ended without done")

    def log_and_wait(self, project: str, name: str, entries: list[apb.ManifestEntry],
                     **kw: Any) -> apb.Artifact:
        resp = self.log(project, name, entries, **kw)
        if resp.artifact.state == apb.ARTIFACT_STATE_COMMITTED:
            return resp.artifact
        return self.wait(resp.artifact.id)[0]

    def manifest(self, version_id: str) -> list[apb.ManifestEntry]:
        return [e for page in self.art.GetManifest(pb.GetManifestRequest(id=version_id))
                for e in page.entries]

    def read(self, version_id: str, path: str, offset: int = 0) -> bytes:
        return b"".join(m.chunk for m in self.art.ReadArtifactFile(
            pb.ReadArtifactFileRequest(id=version_id, path=path, offset=offset)))

    def get(self, path: str, project: str = "", **kw: Any) -> apb.Artifact:
        return self.art.GetArtifact(pb.GetArtifactRequest(
            path=path, entity=ENTITY, project=project, **kw)).artifact

    def upload(self, data: bytes, chunk: int = 1 << 20, **header: Any) -> pb.UploadFileResponse:
        header.setdefault("size", len(data))

        def messages() -> Iterator[pb.UploadFileRequest]:
            yield pb.UploadFileRequest(header=pb.UploadFileHeader(**header))
            for i in range(0, len(data), chunk):
                yield pb.UploadFileRequest(chunk=data[i:i + chunk])

        return self.art.UploadFile(messages())

    def close(self) -> None:
        self.channel.close()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[Client]:
    c = Client(daemon)
    yield c
    c.close()


@pytest.fixture
def project() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def make_dir(root: Path, files: dict[str, bytes]) -> dict[str, Path]:
    out = {}
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        out[rel] = p
    return out


def local_entries(paths: dict[str, Path]) -> list[apb.ManifestEntry]:
    return [apb.ManifestEntry(path=rel, local_path=str(p)) for rel, p in sorted(paths.items())]


def blob_count(daemon: DaemonProcess) -> int:
    root = Path(daemon.dirs.env["TRACKD_ROOT"]) / "blobs" / "blake3"
    return sum(len(files) for _, _, files in os.walk(root))


# -- logging -------------------------------------------------------------------------------------


def test_a_directory_is_stored_committed_and_read_back(client: Client, project: str,
                                                       tmp_path: Path) -> None:
    files = {"a.txt": b"hello\n", "sub/b.bin": os.urandom(3 << 20), "sub/empty": b""}
    paths = make_dir(tmp_path, files)
    resp = client.log(project, "data", local_entries(paths), aliases=["best"],
                      metadata_json='{"rows": 3}', description="d")
    assert resp.artifact.state == apb.ARTIFACT_STATE_PENDING and not resp.deduplicated
    art, progress = client.wait(resp.artifact.id)
    assert (art.state, art.version, art.collection, art.type) == (
        apb.ARTIFACT_STATE_COMMITTED, "v0", "data", "dataset")
    assert list(art.aliases) == ["best", "latest"] and art.metadata_json == '{"rows": 3}'
    assert art.size == sum(len(d) for d in files.values()) and art.file_count == 3
    assert progress[-1].files_done == 3 or art.id == resp.artifact.id
    manifest = client.manifest(art.id)
    assert {e.path: e.digest for e in manifest} == {k: md5_b64(v) for k, v in files.items()}
    assert all(not e.local_path for e in manifest)
    assert art.digest == manifest_digest((k, md5_b64(v)) for k, v in files.items())
    for rel, data in files.items():
        assert client.read(art.id, rel) == data
    assert client.read(art.id, "sub/b.bin", offset=(3 << 20) - 5) == files["sub/b.bin"][-5:]
    located = client.art.LocateArtifactFiles(pb.LocateArtifactFilesRequest(
        id=art.id, paths=["sub/b.bin", "a.txt"])).files
    assert [f.path for f in located] == ["sub/b.bin", "a.txt"]
    assert Path(located[1].blob_path).read_bytes() == b"hello\n"
    assert Path(located[1].blob_path).stat().st_mode & 0o777 == 0o400


def test_relogging_unchanged_is_the_same_version_and_one_change_stores_one_file(
        own_daemon: DaemonProcess, project: str, tmp_path: Path) -> None:
    daemon, client = own_daemon, Client(own_daemon)  # a private blob store to count in
    files = {f"f{i:02d}": os.urandom(4096) + bytes([i]) for i in range(20)}
    paths = make_dir(tmp_path, files)
    v0 = client.log_and_wait(project, "ds", local_entries(paths))
    before = blob_count(daemon)
    again = client.log(project, "ds", local_entries(paths), aliases=["again"])
    assert again.deduplicated and again.artifact.id == v0.id
    assert "again" in again.artifact.aliases
    changed = b"changed " + os.urandom(16)
    paths["f03"].write_bytes(changed)
    resp = client.log(project, "ds", local_entries(paths))
    v1, progress = client.wait(resp.artifact.id)
    assert v1.version == "v1" and v1.id != v0.id
    assert progress[-1].files_total == 1 and progress[-1].bytes_new == len(changed)
    assert blob_count(daemon) == before + 1
    old = {e.path: e.blob_key for e in client.manifest(v0.id)}
    new = {e.path: e.blob_key for e in client.manifest(v1.id)}
    assert {p for p in old if old[p] != new[p]} == {"f03"}
    assert client.get("ds:latest", project).id == v1.id
    assert list(client.get("ds:v0", project).aliases) == ["again"]
    client.close()


def test_client_digests_make_dedup_immediate(client: Client, project: str,
                                             tmp_path: Path) -> None:
    files = {"x": b"xx", "y": b"yy"}
    paths = make_dir(tmp_path, files)
    v0 = client.log_and_wait(project, "c", local_entries(paths))
    entries = [apb.ManifestEntry(path=k, local_path=str(paths[k]), digest=md5_b64(v))
               for k, v in files.items()]
    resp = client.log(project, "c", entries, digest=v0.digest)
    assert resp.deduplicated and resp.artifact.id == v0.id
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, "c", entries, digest="0" * 32)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "digest" in err.value.details()


def test_uploaded_bytes_make_a_version_at_once(client: Client, project: str) -> None:
    data = os.urandom((2 << 20) + 17)
    up = client.upload(data, md5=md5_b64(data), name="big.bin")
    assert (up.md5, up.size, up.blob_key) == (md5_b64(data), len(data), blake3(data).hexdigest())
    assert not client.upload(data).new
    resp = client.log(project, "up", [apb.ManifestEntry(path="big.bin", blob_key=up.blob_key)])
    assert resp.artifact.state == apb.ARTIFACT_STATE_COMMITTED
    assert client.read(resp.artifact.id, "big.bin") == data
    by_digest = client.log(project, "up2", [apb.ManifestEntry(path="copy", digest=up.md5,
                                                              size=up.size)])
    assert by_digest.artifact.state == apb.ARTIFACT_STATE_COMMITTED
    with pytest.raises(grpc.RpcError) as err:
        client.upload(b"abc", size=4)
    assert reason(err.value) == "UPLOAD_MISMATCH"
    with pytest.raises(grpc.RpcError) as err:
        client.upload(b"abc", md5=md5_b64(b"abd"))
    assert reason(err.value) == "UPLOAD_MISMATCH"
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, "up3", [apb.ManifestEntry(path="x", digest=md5_b64(b"never"),
                                                      size=5)])
    assert reason(err.value) == "BLOB_NOT_FOUND"


def test_a_staging_copy_of_the_daemons_user_is_taken_into_the_store(
        client: Client, project: str, tmp_path: Path) -> None:
    files = {"staged.bin": os.urandom(300_000), "user.bin": os.urandom(300_000)}
    paths = make_dir(tmp_path, files)
    entries = [apb.ManifestEntry(path="staged.bin", local_path=str(paths["staged.bin"]),
                                 staged=True),
               apb.ManifestEntry(path="user.bin", local_path=str(paths["user.bin"]))]
    art = client.log_and_wait(project, "staged", entries)
    located = {f.path: Path(f.blob_path) for f in client.art.LocateArtifactFiles(
        pb.LocateArtifactFilesRequest(id=art.id, paths=list(files))).files}
    # This test runs as the daemon's user: the staged file became the blob (one read, no
    # copy written); the user's own file was copied (a later edit must not reach the blob).
    assert located["staged.bin"].stat().st_ino == paths["staged.bin"].stat().st_ino
    assert located["user.bin"].stat().st_ino != paths["user.bin"].stat().st_ino
    paths["staged.bin"].unlink()  # the client deletes its staging copy once committed
    for rel, data in files.items():
        assert client.read(art.id, rel) == data
    assert {e.path: e.digest for e in client.manifest(art.id)} == {
        k: md5_b64(v) for k, v in files.items()}


def test_distributed_writers_make_one_version(client: Client, project: str,
                                              tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {f"w{i}/part": f"part {i}".encode() for i in range(4)})
    ids = set()
    for rel, p in paths.items():
        r = client.log(project, "dist", [apb.ManifestEntry(path=rel, local_path=str(p))],
                       distributed_id="job-1", aliases=[rel.split("/")[0]])
        ids.add(r.artifact.id)
    assert len(ids) == 1
    with pytest.raises(grpc.RpcError) as err:
        client.get("dist:latest", project)
    assert reason(err.value) == "ARTIFACT_NOT_FOUND"
    done = client.log(project, "dist", [], distributed_id="job-1", finalize=True)
    art = client.wait(done.artifact.id)[0]
    assert art.id in ids and art.file_count == 4 and art.distributed_id == "job-1"
    assert set(art.aliases) == {"w0", "w1", "w2", "w3", "latest"}
    nxt = client.log(project, "dist", [apb.ManifestEntry(path="n", local_path=str(paths["w0/part"]))],
                     distributed_id="job-1")
    assert nxt.artifact.id != art.id


def test_a_vanished_file_fails_the_version_with_its_path(client: Client, project: str,
                                                         tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, "gone", [apb.ManifestEntry(path="x", local_path=str(tmp_path / "no"))])
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert str(tmp_path / "no") in err.value.details()


# -- resolving and listing -------------------------------------------------------------------------


def test_names_resolve_with_prefixes_aliases_versions_and_digests(client: Client, project: str,
                                                                  tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {"a": b"1"})
    v0 = client.log_and_wait(project, "res", local_entries(paths), aliases=["prod"])
    for path, proj in (("res", project), ("res:prod", project), ("res:v0", project),
                       (f"res:{v0.digest}", project), (f"{project}/res:latest", ""),
                       (f"{ENTITY}/{project}/res:v0", "other")):
        assert client.get(path, proj).id == v0.id, path
    assert client.art.GetArtifact(pb.GetArtifactRequest(id=v0.id)).artifact.digest == v0.digest
    for path in ("res:v9", "res:nope", "nothing:latest"):
        with pytest.raises(grpc.RpcError) as err:
            client.get(path, project)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert reason(err.value) == "ARTIFACT_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as err:
        client.get("res", project, type="model")
    assert reason(err.value) == "ARTIFACT_NOT_FOUND"
    with pytest.raises(grpc.RpcError) as err:
        client.get("a/b/c/d", project)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_collections_and_versions_are_listed(client: Client, project: str, tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {"a": b"1", "b": b"2"})
    client.log_and_wait(project, "d1", local_entries({"a": paths["a"]}))
    client.log_and_wait(project, "d1", local_entries({"b": paths["b"]}))
    client.log_and_wait(project, "m1", local_entries({"a": paths["a"]}), type="model")
    cols = client.art.ListArtifactCollections(pb.ListArtifactCollectionsRequest(
        entity=ENTITY, project=project)).collections
    assert [(c.name, c.type, c.version_count) for c in cols] == [("d1", "dataset", 2),
                                                                ("m1", "model", 1)]
    models = client.art.ListArtifactCollections(pb.ListArtifactCollectionsRequest(
        entity=ENTITY, project=project, type="model")).collections
    assert [c.name for c in models] == ["m1"]
    versions = client.art.ListArtifacts(pb.ListArtifactsRequest(
        entity=ENTITY, project=project, collection="d1")).artifacts
    assert [v.version for v in versions] == ["v1", "v0"]


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "change"), [
    ("name", {"name": "bad/name"}),
    ("name", {"name": "x" * 129}),
    ("type", {"type": "wandb-history"}),
    ("aliases", {"aliases": ["a/b"]}),
    ("aliases", {"aliases": ["v3"]}),
    ("tags", {"tags": ["bad!tag"]}),
    ("metadata_json", {"metadata_json": '{"x": NaN}'}),
    ("metadata_json", {"metadata_json": "[1]"}),
    ("ttl_seconds", {"ttl_seconds": -7}),
    ("entries[0].path", {"path": "../escape"}),
    ("entries[0].path", {"path": "/abs"}),
    ("entries[0].path", {"path": "a\0b"}),
    ("entries[0].path", {"path": "a/./b"}),
    ("entries[0].local_path", {"local_path": "relative"}),
    ("entries[0].digest", {"digest": "nope", "local_path": ""}),
])
def test_bad_input_is_refused_naming_the_field(client: Client, project: str, field: str,
                                               change: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    entry = {"path": "f", "local_path": str(f)}
    req: dict[str, Any] = {"name": "ok"}
    for k, v in change.items():
        (entry if k in ("path", "local_path", "digest") else req)[k] = v
    name = req.pop("name")
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, name, [apb.ManifestEntry(**entry, size=1)], **req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field), err.value.details()


def test_more_than_100_metadata_keys_are_refused(client: Client, project: str) -> None:
    meta = "{" + ",".join(f'"k{i}": {i}' for i in range(101)) + "}"
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, "m", [], metadata_json=meta)
    assert "100 metadata keys" in err.value.details()


def test_a_collection_keeps_its_type(client: Client, project: str, tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {"a": b"1"})
    client.log_and_wait(project, "typed", local_entries(paths))
    with pytest.raises(grpc.RpcError) as err:
        client.log(project, "typed", local_entries(paths), type="model")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


# -- changes ---------------------------------------------------------------------------------------


def test_update_and_delete(client: Client, project: str, tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {"a": b"1", "b": b"2"})
    v0 = client.log_and_wait(project, "u", local_entries({"a": paths["a"]}))
    v1 = client.log_and_wait(project, "u", local_entries({"b": paths["b"]}))
    got = client.art.UpdateArtifact(pb.UpdateArtifactRequest(
        id=v0.id, description="new", metadata_json='{"m": 1}',
        aliases=pb.StringList(values=["gold"]), tags=pb.StringList(values=["t 1"]),
        ttl_seconds=3600)).artifact
    assert (got.description, got.metadata_json, list(got.aliases), list(got.tags)) == (
        "new", '{"m": 1}', ["gold"], ["t 1"])
    assert got.ttl_seconds == 3600 and got.expires_at == pytest.approx(got.created_at + 3600)
    with pytest.raises(grpc.RpcError) as err:
        client.art.DeleteArtifact(pb.DeleteArtifactRequest(id=v1.id))
    assert reason(err.value) == "ARTIFACT_HAS_ALIASES" and "latest" in err.value.details()
    client.art.DeleteArtifact(pb.DeleteArtifactRequest(id=v1.id, delete_aliases=True))
    assert client.get("u:latest", project).id == v0.id
    with pytest.raises(grpc.RpcError) as err:
        client.art.GetArtifact(pb.GetArtifactRequest(id=v1.id))
    assert reason(err.value) == "ARTIFACT_NOT_FOUND"


def test_links_into_the_model_registry(client: Client, project: str, tmp_path: Path) -> None:
    paths = make_dir(tmp_path, {"w.pt": b"weights"})
    v0 = client.log_and_wait(project, "net", local_entries(paths), type="model")
    link = client.art.LinkArtifact(pb.LinkArtifactRequest(
        id=v0.id, project="model-registry", portfolio="best-net", aliases=["prod"])).artifact
    assert link.is_link and (link.project, link.collection, link.version) == (
        "model-registry", "best-net", "v0")
    assert set(link.aliases) == {"latest", "prod"} and link.id == v0.id
    assert (link.source.project, link.source.collection, link.source.version) == (
        project, "net", "v0")
    src = client.art.GetArtifact(pb.GetArtifactRequest(id=v0.id)).artifact
    assert [la.collection for la in src.linked_artifacts] == ["best-net"]
    assert client.get("model-registry/best-net:prod").id == v0.id
    assert client.read(v0.id, "w.pt") == b"weights"
    portfolio = apb.ArtifactSource(entity=ENTITY, project="model-registry", collection="best-net")
    client.art.UnlinkArtifact(pb.UnlinkArtifactRequest(id=v0.id, link=portfolio))
    with pytest.raises(grpc.RpcError) as err:
        client.get("model-registry/best-net:prod")
    assert reason(err.value) == "ARTIFACT_NOT_FOUND"


def test_lineage_of_logging_and_using_runs(client: Client, project: str, tmp_path: Path) -> None:
    refs = [run_pb2.RunRef(entity=ENTITY, project=project, run_id=r) for r in ("w", "u")]
    for ref in refs:
        client.runs.CreateRun(run_service_pb2.CreateRunRequest(ref=ref, start_time=1.0))
    paths = make_dir(tmp_path, {"a": b"1"})
    art = client.log_and_wait(project, "lin", local_entries(paths), run=refs[0], history_step=4)
    assert art.logged_by.run_id == "w" and art.history_step == 4
    client.art.UseArtifact(pb.UseArtifactRequest(id=art.id, run=refs[1]))
    lin = client.art.GetArtifactLineage(pb.GetArtifactLineageRequest(id=art.id))
    assert lin.logged_by.run_id == "w" and [r.run_id for r in lin.used_by] == ["u"]
    used = client.art.ListRunArtifacts(pb.ListRunArtifactsRequest(
        run=refs[1], kind=pb.RUN_ARTIFACTS_KIND_USED)).artifacts
    logged = client.art.ListRunArtifacts(pb.ListRunArtifactsRequest(run=refs[0])).artifacts
    assert [a.id for a in used] == [a.id for a in logged] == [art.id]


def test_collect_garbage_is_for_the_daemon_user(client: Client) -> None:
    resp = client.art.CollectGarbage(pb.CollectGarbageRequest(dry_run=True))
    assert resp.versions_expired >= 0


def test_expired_versions_and_their_bytes_are_collected(
        own_daemon: DaemonProcess, tmp_path: Path) -> None:
    own_daemon.stop()
    own_daemon.dirs.env["TRACKD_BLOB_GRACE"] = "0"
    own_daemon.start()
    client = Client(own_daemon)
    try:
        data = os.urandom(5000)
        paths = make_dir(tmp_path, {"short": data, "kept": b"kept"})
        short = client.log_and_wait("gc", "short", local_entries({"short": paths["short"]}),
                                    ttl_seconds=1)
        client.log_and_wait("gc", "kept", local_entries({"kept": paths["kept"]}))
        assert short.expires_at == pytest.approx(short.created_at + 1)
        (blob,) = client.art.LocateArtifactFiles(pb.LocateArtifactFilesRequest(
            id=short.id)).files
        time.sleep(1.2)
        freed = client.art.CollectGarbage(pb.CollectGarbageRequest())
        assert (freed.versions_expired, freed.blobs_freed, freed.bytes_freed) == (1, 1, 5000)
        assert not Path(blob.blob_path).exists()
        with pytest.raises(grpc.RpcError) as err:
            client.get("short:latest", "gc")
        assert reason(err.value) == "ARTIFACT_NOT_FOUND"
        assert client.read(client.get("kept", "gc").id, "kept") == b"kept"
    finally:
        client.close()


# -- staging copies announced early (PrepareStagedFiles) ------------------------------------------


def private_copies(root: Path, count: int, size: int = 40_000) -> dict[Path, bytes]:
    """Files as the SDK's staging copies are: ours, read-only, one name each."""
    root.mkdir(parents=True)
    out = {}
    for i in range(count):
        p = root / str(i)
        out[p] = os.urandom(size + i)
        p.write_bytes(out[p])
        p.chmod(0o400)
    return out


def test_copies_announced_early_are_stored_before_the_log_that_finds_them(
        client: Client, daemon: DaemonProcess, project: str, tmp_path: Path) -> None:
    copies = private_copies(tmp_path / "staging", 8)
    before = blob_count(daemon)
    resp = client.art.PrepareStagedFiles(pb.PrepareStagedFilesRequest(
        local_paths=[str(p) for p in copies]))
    assert resp.accepted == 8
    # Taken into the blob store as they are (a second name), durable, before any LogArtifact.
    wait_for(lambda: all(p.stat().st_nlink == 2 for p in copies))
    wait_for(lambda: blob_count(daemon) == before + 8)
    entries = [apb.ManifestEntry(path=p.name, local_path=str(p), staged=True) for p in copies]
    logged = client.log(project, "early", entries)
    assert logged.artifact.state == apb.ARTIFACT_STATE_COMMITTED  # nothing left to read
    art, seen = client.wait(logged.artifact.id)
    total = sum(map(len, copies.values()))
    assert (seen[-1].files_done, seen[-1].bytes_done, seen[-1].bytes_new) == (8, total, total)
    assert art.digest == manifest_digest((p.name, md5_b64(d)) for p, d in copies.items())
    assert {e.path: e.digest for e in client.manifest(art.id)} == {
        p.name: md5_b64(d) for p, d in copies.items()}
    assert blob_count(daemon) == before + 8  # stored once
    assert client.read(art.id, "3") == copies[tmp_path / "staging" / "3"]


def test_only_private_copies_are_taken_early_and_paths_are_checked(
        client: Client, daemon: DaemonProcess, project: str, tmp_path: Path) -> None:
    copies = private_copies(tmp_path / "staging", 2)
    shared, private = list(copies)
    os.link(shared, tmp_path / "another-name")  # not a private copy: never taken over
    resp = client.art.PrepareStagedFiles(pb.PrepareStagedFilesRequest(
        local_paths=[str(shared), str(tmp_path / "missing")]))
    assert resp.accepted == 2
    # LogArtifact waits for the paths in hand, then stores the shared file by copying it.
    entries = [apb.ManifestEntry(path="shared", local_path=str(shared), staged=True),
               apb.ManifestEntry(path="private", local_path=str(private), staged=True)]
    art = client.log_and_wait(project, "partly", entries)
    assert art.state == apb.ARTIFACT_STATE_COMMITTED
    assert shared.stat().st_nlink == 2 and private.stat().st_nlink == 2  # only private taken
    assert client.read(art.id, "shared") == copies[shared]
    for paths, field in (([f"rel/{i}" for i in range(1)], "local_paths[0]"),
                         ([f"/tmp/{i}" for i in range(1025)], "local_paths")):
        with pytest.raises(grpc.RpcError) as err:
            client.art.PrepareStagedFiles(pb.PrepareStagedFilesRequest(local_paths=paths))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.details()
    assert client.art.PrepareStagedFiles(pb.PrepareStagedFilesRequest()).accepted == 0
