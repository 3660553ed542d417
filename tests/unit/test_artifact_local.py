"""Artifacts without a daemon: rules, digests, the manifest format, the checksum cache, staging,
the download cache's bound and LRU eviction, and a draft Artifact's API and errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackd
from trackd._shared import artifact_rules as rules
from trackd.artifacts import Artifact, ArtifactManifest, ArtifactManifestEntry, ArtifactTTL
from trackd.artifacts.cache import ArtifactFileCache, parse_size
from trackd.artifacts.digests import ChecksumCache, FileStat, copy_and_hash, md5_file_b64
from trackd.errors import ArtifactFinalizedError, ArtifactNotLoggedError


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Cache, staging and download dirs under tmp_path; no run."""
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKD_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    trackd.teardown()
    yield tmp_path
    trackd.teardown()


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def wandb_manifest_digest(files: dict[str, bytes]) -> str:
    """W&B's rule, written out independently of the code under test."""
    h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for path in sorted(files):
        h.update(f"{path}:{b64md5(files[path])}\n".encode())
    return h.hexdigest()


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


# -- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "my-data_set.v2", "x" * 128])
def test_valid_names(name: str) -> None:
    assert rules.name_problem(name) is None


@pytest.mark.parametrize("name,text", [
    ("", "non-empty"), ("a/b", "alphanumeric"), ("a:b", "alphanumeric"), ("x" * 129, "longer than 128"),
    ("sp ace", "alphanumeric")])
def test_invalid_names(name: str, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        Artifact(name, "dataset")


@pytest.mark.parametrize("type_,name", [("wandb-history", "x"), ("job", "anything"),
                                        ("run_table", "run-x"), ("code", "source-x")])
def test_reserved_types(type_: str, name: str) -> None:
    with pytest.raises(ValueError, match="reserved for internal use"):
        Artifact(name, type_)
    Artifact("plain", "code")  # only names with the reserved prefix are refused


def test_type_aliases_tags_metadata_rules() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        Artifact("a", "data/set")
    with pytest.raises(ValueError, match="must not contain"):
        rules.validate_aliases(["a:b"])
    with pytest.raises(ValueError, match="version index"):
        rules.validate_aliases(["v3"])
    assert rules.validate_aliases(["best", "best", "prod"]) == ["best", "prod"]
    assert rules.validate_tags(["a b", "x-y", "a b"]) == ["a b", "x-y"]
    with pytest.raises(ValueError, match="Invalid tag"):
        rules.validate_tags(["bad!"])
    with pytest.raises(ValueError, match="more than 100 metadata keys"):
        Artifact("a", "t", metadata={f"k{i}": i for i in range(101)})
    with pytest.raises(ValueError, match="NaN"):
        Artifact("a", "t", metadata={"x": float("nan")})
    a = Artifact("a", "t", metadata={"t": (1, 2), "p": Path("/x")})
    assert a.metadata == {"t": [1, 2], "p": "/x"}
    with pytest.raises(TypeError):
        Artifact("a", "t", metadata=[1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/abs", "../up", "a/../../b", "", ".", "a\0b", "..\\up",
                                  "C:\\x"])
def test_bad_artifact_paths(path: str) -> None:
    with pytest.raises(ValueError, match="Invalid artifact path"):
        rules.validate_path(path)
    assert rules.validate_path("a//b/./c.txt") == "a/b/c.txt"


# -- digests and the manifest --------------------------------------------------------------------


def test_file_digest_is_base64_md5(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"hello\n")
    assert md5_file_b64(p) == "sZRqySSS0jR8YjW00mERhA==" == b64md5(b"hello\n")
    digest, size = copy_and_hash(p, tmp_path / "g")
    assert (digest, size) == ("sZRqySSS0jR8YjW00mERhA==", 6)
    assert (tmp_path / "g").read_bytes() == b"hello\n"


def test_manifest_json_format_and_round_trip() -> None:
    m = ArtifactManifest()
    m.add_entry(ArtifactManifestEntry("b.txt", "sZRqySSS0jR8YjW00mERhA==", size=6))
    m.add_entry(ArtifactManifestEntry("r", "etag1", ref="s3://b/k", size=3,
                                      extra={"etag": "etag1"}))
    j = m.to_manifest_json()
    assert j == {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
                 "storagePolicyConfig": {"storageLayout": "V2"},
                 "contents": {"b.txt": {"digest": "sZRqySSS0jR8YjW00mERhA==", "size": 6},
                              "r": {"digest": "etag1", "ref": "s3://b/k", "size": 3,
                                    "extra": {"etag": "etag1"}}}}
    back = ArtifactManifest.from_manifest_json(json.loads(json.dumps(j)))
    assert back.to_manifest_json() == j
    assert back.digest() == m.digest()
    with pytest.raises(ValueError, match="version"):
        ArtifactManifest.from_manifest_json({"contents": {}})


def test_artifact_digest_follows_wandbs_rule(tmp_path: Path) -> None:
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(3000), "sub/deeper/c": b""}
    make_tree(tmp_path / "d", files)
    art = Artifact("ds", "dataset")
    art.add_dir(str(tmp_path / "d"))
    assert art.digest == wandb_manifest_digest(files)
    assert art.size == sum(len(v) for v in files.values())
    assert {p: e.digest for p, e in art.manifest.entries.items()} == {
        p: b64md5(v) for p, v in files.items()}


def test_checksum_cache_is_keyed_by_stat(tmp_path: Path) -> None:
    cache = ChecksumCache(tmp_path / "sums.db")
    f = tmp_path / "f"
    f.write_bytes(b"one")
    st = FileStat.of(os.stat(f))
    cache.store([(str(f), st, "D1")])
    assert cache.lookup([(str(f), st)]) == {str(f): "D1"}
    time.sleep(0.01)
    f.write_bytes(b"two")  # new mtime and ctime
    assert cache.lookup([(str(f), FileStat.of(os.stat(f)))]) == {}
    many = [(f"/nope/{i}", st) for i in range(1200)]  # more than one SQL chunk
    cache.store([(p, s, "X") for p, s in many])
    assert len(cache.lookup(many)) == 1200
    cache.store([(str(f), FileStat.of(os.stat(f)), "D2")])
    assert cache.prune() == 1200  # the files that are gone
    assert cache.lookup([(str(f), FileStat.of(os.stat(f)))]) == {str(f): "D2"}


def test_relogging_unchanged_files_reuses_their_digests(tmp_path: Path) -> None:
    files = {f"f{i}": os.urandom(100) for i in range(20)}
    make_tree(tmp_path / "d", files)
    first = Artifact("ds", "dataset")
    first.add_dir(str(tmp_path / "d"), policy="immutable")
    digest = first.digest  # hashes once, and remembers
    second = Artifact("ds", "dataset")
    second.add_dir(str(tmp_path / "d"), policy="immutable")
    assert all(e._digest is not None for e in second.manifest.entries.values())
    assert second.digest == digest
    time.sleep(0.01)
    (tmp_path / "d" / "f3").write_bytes(b"changed")
    third = Artifact("ds", "dataset")
    third.add_dir(str(tmp_path / "d"), policy="immutable")
    unknown = [p for p, e in third.manifest.entries.items() if e._digest is None]
    assert unknown == ["f3"]
    assert third.digest != digest


# -- a draft ------------------------------------------------------------------------------------


def test_add_file_add_dir_and_paths(tmp_path: Path) -> None:
    make_tree(tmp_path / "d", {"x.txt": b"x", "y/z.txt": b"z"})
    (tmp_path / "one.bin").write_bytes(b"1")
    art = Artifact("ds", "dataset", description="about", metadata={"k": 1})
    e = art.add_file(str(tmp_path / "one.bin"))
    assert e.path == "one.bin" and e.size == 1 and e.digest == b64md5(b"1")
    art.add_file(str(tmp_path / "one.bin"), name="nested/renamed.bin")
    art.add_dir(str(tmp_path / "d"), name="data")
    assert sorted(art.manifest.entries) == ["data/x.txt", "data/y/z.txt", "nested/renamed.bin",
                                            "one.bin"]
    assert art.get_added_local_path_name(str(tmp_path / "one.bin")) == "nested/renamed.bin"
    assert art.get_added_local_path_name(str(tmp_path / "d" / "y" / "z.txt")) == "data/y/z.txt"
    assert art.get_added_local_path_name("/nowhere") is None
    with pytest.raises(ValueError, match="Path is not a file"):
        art.add_file(str(tmp_path / "d"))
    with pytest.raises(ValueError, match="Path is not a directory"):
        art.add_dir(str(tmp_path / "one.bin"))
    with pytest.raises(ValueError, match="Invalid policy"):
        art.add_file(str(tmp_path / "one.bin"), policy="sometimes")
    tmp = art.add_file(str(tmp_path / "one.bin"), name="media/x.table.json", is_tmp=True)
    assert tmp.path == f"media/{hashlib.md5(b'1').hexdigest()[:20]}.table.json"


def test_mutable_policy_stages_a_copy(tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_bytes(b"original")
    art = Artifact("ds", "dataset")
    e = art.add_file(str(src))  # mutable (the default): copied now
    assert e._staged and e.local_path != str(src)
    assert Path(e.local_path).read_bytes() == b"original"
    staged = os.stat(e.local_path)  # a private copy, read-only, with no other name
    assert (staged.st_mode & 0o777, staged.st_nlink, e.size) == (0o400, 1, len(b"original"))
    src.write_bytes(b"edited after add")
    assert e.digest == b64md5(b"original")
    imm = Artifact("ds2", "dataset")
    e2 = imm.add_file(str(src), policy="immutable")
    assert not e2._staged and e2.local_path == str(src)
    staging = Path(e.local_path).parent
    del art, e
    import gc

    gc.collect()
    assert not staging.exists()  # a dropped draft leaves no staging copies


def test_staging_copies_without_a_kernel_copy_go_through_a_buffer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from trackd.artifacts import local_files

    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(local_files.os, "copy_file_range", refuse)
    monkeypatch.setattr(local_files, "_no_kernel_copy", set())
    data = os.urandom((3 << 20) + 1)  # several chunks
    (tmp_path / "src").write_bytes(data)
    size, after = local_files.copy_private(str(tmp_path / "src"), str(tmp_path / "dst"), (1, 2))
    assert (tmp_path / "dst").read_bytes() == data and size == len(data)
    assert after.ino == (tmp_path / "src").stat().st_ino and (1, 2) in local_files._no_kernel_copy
    with pytest.raises(FileExistsError):  # never over an existing file
        local_files.copy_private(str(tmp_path / "src"), str(tmp_path / "dst"), (1, 2))


def test_add_dir_merge_rules(tmp_path: Path) -> None:
    make_tree(tmp_path / "d", {"a": b"1", "b": b"2"})
    art = Artifact("ds", "dataset")
    art.add_dir(str(tmp_path / "d"))
    art.add_dir(str(tmp_path / "d"))  # same content: fine
    time.sleep(0.01)
    (tmp_path / "d" / "a").write_bytes(b"changed")
    (tmp_path / "d" / "c").write_bytes(b"new")
    with pytest.raises(ValueError, match="Cannot add the same path twice: 'a'"):
        art.add_dir(str(tmp_path / "d"))
    art.add_dir(str(tmp_path / "d"), merge=True)
    assert art.manifest.entries["a"].digest == b64md5(b"changed")
    assert sorted(art.manifest.entries) == ["a", "b", "c"]


def test_new_file_and_remove(tmp_path: Path) -> None:
    art = Artifact("ds", "dataset")
    with art.new_file("notes/readme.txt") as f:
        f.write("hi")
    entry = art.manifest.entries["notes/readme.txt"]
    assert entry.digest == b64md5(b"hi") and entry.size == 2
    with pytest.raises(ValueError, match="already exists"), art.new_file("notes/readme.txt") as f:
        f.write("again")
    with art.new_file("notes/other.txt", mode="w") as f:
        f.write("x")
    art.remove("notes")  # a directory: everything under it
    assert art.manifest.entries == {}
    with art.new_file("a.txt") as f:
        f.write("a")
    art.remove(art.manifest.entries["a.txt"])
    with pytest.raises(FileNotFoundError, match="No such file or directory: missing"):
        art.remove("missing")


def test_a_draft_refuses_logged_only_things(tmp_path: Path) -> None:
    art = Artifact("ds", "dataset")
    assert art.is_draft() and art.state == "PENDING" and art.id is None
    assert art.name == "ds" and art.source_name == "ds" and art.type == "dataset"
    for attr in ("version", "entity", "project", "aliases", "tags", "commit_hash", "file_count",
                 "created_at", "updated_at", "history_step", "source_version", "url",
                 "linked_artifacts", "source_artifact", "collection", "source_collection", "ttl"):
        with pytest.raises(ArtifactNotLoggedError, match="used prior to logging"):
            getattr(art, attr)
        assert not hasattr(art, attr)  # W&B's errors are AttributeErrors
    for call in (art.download, art.checkout, art.verify, art.file, art.files, art.new_draft,
                 art.delete, art.unlink, art.logged_by, art.used_by, art.json_encode):
        with pytest.raises(ArtifactNotLoggedError):
            call()
    with pytest.raises(ArtifactNotLoggedError):
        art.get_entry("x")
    with pytest.raises(ArtifactNotLoggedError):
        art.get("x")
    with pytest.raises(ArtifactNotLoggedError, match="wait"):
        art.wait()
    with pytest.raises(ArtifactNotLoggedError):
        art.aliases = ["x"]


def test_a_finalized_artifact_refuses_changes(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    art = Artifact("ds", "dataset")
    art.finalize()
    for call, args in ((art.add_file, (str(tmp_path / "f"),)), (art.add_dir, (str(tmp_path),)),
                       (art.add_reference, ("file:///x",)), (art.remove, ("f",)),
                       (art.add, (object(), "x")), (art.new_file, ("x",))):
        with pytest.raises(ArtifactFinalizedError, match="Can't modify finalized artifact"):
            call(*args)


def test_only_data_types_can_be_added_by_name() -> None:
    art = Artifact("ds", "dataset")
    with pytest.raises(TypeError, match="takes a data type"):
        art.add(object(), "table")
    with pytest.raises(TypeError, match="takes a data type"):
        art["x"] = object()
    assert art.manifest.entries == {}


def test_ttl_and_editable_fields() -> None:
    art = Artifact("ds", "dataset")
    art.ttl = dt.timedelta(days=2)
    assert art.ttl == dt.timedelta(days=2) and art._ttl_wire() == 172800
    art.ttl = None
    assert art.ttl is None and art._ttl_wire() == rules.TTL_DISABLED
    art.ttl = ArtifactTTL.INHERIT
    assert art._ttl_wire() == rules.TTL_INHERIT
    with pytest.raises(ArtifactNotLoggedError):
        art.ttl  # noqa: B018 - inherited and not logged: unknown
    with pytest.raises(ValueError, match="has to be positive"):
        art.ttl = dt.timedelta(seconds=0)
    with pytest.raises(TypeError):
        art.ttl = 5  # type: ignore[assignment]
    art.description = "d"
    art.metadata = {"a": 1}
    art.distributed_id = "g"
    assert (art.description, art.metadata, art.distributed_id) == ("d", {"a": 1}, "g")
    assert art.incremental is False
    with pytest.warns(DeprecationWarning):
        assert art.use_as is None


def test_references_need_uris() -> None:
    art = Artifact("ds", "dataset")
    with pytest.raises(ValueError, match="References must be URIs"):
        art.add_reference("/local/path")


# -- the download cache --------------------------------------------------------------------------


def test_parse_size() -> None:
    assert parse_size("1048576") == 1048576
    assert parse_size("20GB") == 20_000_000_000
    assert parse_size("500MiB") == 500 * 1024**2
    assert parse_size("1.5k") == 1500
    assert parse_size("10%", free=1000) == 100
    for bad in ("lots", "10XB", "150%", "-1"):
        with pytest.raises(ValueError, match="invalid cache size"):
            parse_size(bad, free=1)


def test_cache_evicts_least_recently_used_past_its_bound(tmp_path: Path) -> None:
    cache = ArtifactFileCache(tmp_path / "c", max_size=250)
    paths = []
    for i in range(4):
        data = bytes([i]) * 100
        tmp = cache.tmp_path()
        tmp.write_bytes(data)
        p = cache.insert(tmp, cache.md5_path(b64md5(data)))
        paths.append(p)
        time.sleep(0.01)
        cache.lookup(paths[0])  # keep the first one in use
        cache.evict()
        assert cache.size() <= 250
    assert paths[0].exists() and paths[3].exists()
    assert not paths[1].exists() and not paths[2].exists()
    assert str(paths[0]).split("/obj/md5/")[1].replace("/", "") == hashlib.md5(bytes([0]) * 100).hexdigest()


def test_cache_cleanup_reconciles_and_obeys_max_size(tmp_path: Path) -> None:
    cache = ArtifactFileCache(tmp_path / "c", max_size="1GB")
    for i in range(3):
        tmp = cache.tmp_path()
        tmp.write_bytes(bytes([i]) * 1000)
        cache.insert(tmp, cache.md5_path(b64md5(bytes([i]) * 1000)))
    stray = cache.root / "obj" / "md5" / "ab" / "cdef"  # a file the index lost
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"z" * 500)
    dead_tmp = cache.root / "tmp" / "999999999-dead"
    dead_tmp.write_bytes(b"partial")
    freed, left = cache.cleanup()
    assert left == 3500 and not dead_tmp.exists()
    freed, left = cache.cleanup(max_size="2000")
    assert left <= 2000 and freed >= 1500
    freed, left = cache.cleanup(max_size=0)
    assert left == 0 and not any(p.is_file() for p in (cache.root / "obj").rglob("*"))


def test_default_bound_is_a_fraction_of_free_disk(tmp_path: Path) -> None:
    import shutil

    cache = ArtifactFileCache(tmp_path / "c")
    free = shutil.disk_usage(tmp_path).free
    assert abs(cache.bound() - free * 0.10) < free * 0.01


def test_files_go_by_path_only_to_a_daemon_that_opens_them() -> None:
    """Same machine and a daemon that opens this caller's paths (its own user's or root's):
    by path; a daemon that does not (a system-wide one of its own user) or on another
    machine: bytes are uploaded."""
    from types import SimpleNamespace

    from trackd._transport import artifact_client as client

    def conn(address: str, reads: bool) -> SimpleNamespace:
        info = SimpleNamespace(reads_caller_paths=reads, handoff_socket="")
        return SimpleNamespace(address=address, daemon=SimpleNamespace(GetDaemonInfo=None),
                               unary=lambda *a, **k: info)

    assert client.is_local(conn("unix:/tmp/a.sock", True))
    assert client.is_local(conn("127.0.0.1:7001", True))
    assert not client.is_local(conn("gpu-box:7001", True))
    assert not client.is_local(conn("unix:/tmp/b.sock", False))
    assert not client.is_local(conn("[::1]:7002", False))


def test_announcing_staging_copies_never_fails_add_dir(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The announcement is a hint: a daemon that cannot be told, or never answers, costs
    ``add_dir`` nothing and ``log_artifact`` at most one wait of HINT_WAIT."""
    import concurrent.futures

    from trackd._transport import artifact_client as client
    from trackd.artifacts import staging

    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.bin").write_bytes(os.urandom(100))
    told: list[list[str]] = []

    def broken(paths: list[str]) -> None:
        told.append(paths)
        raise RuntimeError("the connection's loop is closed")

    monkeypatch.setattr(client, "prepare_staged", broken)
    art = Artifact("hint", type="dataset")
    art.add_dir(str(src))
    assert [sorted(paths) for paths in told] == [
        sorted(e.local_path for e in art.manifest.entries.values())]  # one batch: the copies
    never: concurrent.futures.Future[object] = concurrent.futures.Future()
    monkeypatch.setattr(client, "prepare_staged", lambda paths: never)
    monkeypatch.setattr(staging, "HINT_WAIT", 0.2)
    art.add_file(str(src / "0.bin"), name="again.bin")
    art.add_file(str(src / "1.bin"), name="twice.bin")
    t = time.monotonic()
    art._staging.settle()
    assert 0.2 <= time.monotonic() - t < 1.0  # once for both, not once each
