"""References through the SDK: added with add_reference (resolved by the daemon), logged, then
downloaded by the client itself — HTTP from a server on loopback, S3 from an S3-compatible
server (moto) — plus allow_missing_references, a timed-out wait() and the staging copies (taken over by the
daemon, then deleted)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.e2e.artifact_helpers import project, read_tree
from tests.e2e.test_artifact_references import http_server, s3  # noqa: F401 - fixtures
from tests.helpers import DaemonProcess
from trackd import Api, Artifact
from trackd._transport import artifact_client as client
from trackd.errors import ReferenceFailedError, WaitTimeoutError


def test_http_references_are_fetched_by_the_client(art_sdk: Path, http_server: str) -> None:  # noqa: F811
    proj = project()
    art = Artifact("web", "dataset")
    (entry,) = art.add_reference(f"{http_server}/data/file.bin")
    assert (entry.path, entry.digest, entry.size) == ("file.bin", "abc123", 10)
    art.add_reference(f"{http_server}/plain", name="plain.txt")
    (art_sdk / "later.txt").write_bytes(b"soon gone")
    art.add_reference(f"file://{art_sdk / 'later.txt'}", name="gone.txt")
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    back = Api().artifact(f"{proj}/web:v0")
    assert back.manifest.entries["file.bin"].ref == f"{http_server}/data/file.bin"
    (art_sdk / "later.txt").unlink()
    with pytest.raises(ReferenceFailedError, match="later.txt"):
        back.download(str(art_sdk / "strict"))
    with pytest.warns(UserWarning, match="skipped missing reference"):
        root = back.download(str(art_sdk / "lenient"), allow_missing_references=True)
    assert read_tree(root) == {"file.bin": b"0123456789", "plain.txt": b"xyz"}


def test_s3_references_are_fetched_by_the_client(s3: Any, own_daemon: DaemonProcess,  # noqa: F811
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(tmp_path / "data"))
    art = Artifact("s3-model", "model")
    entries = art.add_reference("s3://bkt/models", name="m")
    assert sorted(e.path for e in entries) == ["m/a.bin", "m/sub/b.bin"]
    art.add_reference("s3://bkt/single.txt")  # one object: its version id is recorded
    assert art.manifest.entries["single.txt"].extra.get("versionID")
    with trackd.init(project="s3") as run:
        run.log_artifact(art).wait()
    # Newer objects: the logged ones are found again by version id or by ETag.
    s3.put_object(Bucket="bkt", Key="models/a.bin", Body=b"newer")
    s3.put_object(Bucket="bkt", Key="single.txt", Body=b"newer")
    root = Api().artifact("s3/s3-model:latest").download(str(tmp_path / "out"))
    assert read_tree(root) == {"m/a.bin": b"A" * 10, "m/sub/b.bin": b"B" * 20,
                               "single.txt": b"one"}


def test_wait_can_time_out_and_staging_copies_go_once_stored(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "src").mkdir()
    for i in range(20):
        (art_sdk / "src" / f"f{i}").write_bytes(os.urandom(100_000))
    art = Artifact("staged", "dataset")
    art.add_dir(str(art_sdk / "src"))  # mutable: copied into the staging area now
    staging = art_sdk / "data" / "staging"
    assert sum(1 for _ in staging.rglob("*") if _.is_file()) == 20
    assert art.get_added_local_path_name(str(art_sdk / "src" / "f3")) == "f3"
    staged = {p.stat().st_ino for p in staging.rglob("*") if p.is_file()}
    with trackd.init(project=proj) as run:
        run.log_artifact(art)
        with pytest.raises(WaitTimeoutError, match="timed out"):
            art.wait(timeout=1e-6)
        art.wait()
    assert not any(p.is_file() for p in staging.rglob("*"))
    # The daemon runs as this user: it took the staging copies over rather than copy them.
    located = client.locate(art.id, [f"f{i}" for i in range(20)])
    assert {os.stat(f.blob_path).st_ino for f in located} == staged


def test_a_daemon_on_another_machine_gets_bytes_uploaded_and_streams_them_back(
        art_sdk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As for a TCP address on another host: files go up with UploadFile and come back with
    ReadArtifactFile (checked against their MD5), never by path."""
    from trackd._transport import artifact_client as client

    monkeypatch.setattr(client, "is_local", lambda conn: False)
    proj = project()
    files = {f"f{i}.bin": os.urandom(3 * 1024 * 1024 + i) for i in range(3)}  # several chunks
    for name, data in files.items():
        (art_sdk / "src").mkdir(exist_ok=True)
        (art_sdk / "src" / name).write_bytes(data)
    with trackd.init(project=proj) as run:
        art = run.log_artifact(str(art_sdk / "src"), name="remote", type="dataset").wait()
        again = run.log_artifact(str(art_sdk / "src"), name="remote", type="dataset").wait()
    assert art.version == again.version == "v0"
    root = Api().artifact(f"{proj}/remote:v0").download(str(art_sdk / "out"), skip_cache=True)
    assert read_tree(root) == files
    cached = Api().artifact(f"{proj}/remote:v0").download(str(art_sdk / "out2"))
    assert read_tree(cached) == files


@pytest.mark.parametrize("checksum", [True, False])
def test_file_references_resolve_alike_in_the_daemon_and_in_the_sdk(
        art_sdk: Path, monkeypatch: pytest.MonkeyPatch, checksum: bool) -> None:
    """The SDK resolves file:// references itself for a daemon that does not open this user's
    paths (or runs elsewhere): with the daemon's rules, entry for entry."""
    tree = art_sdk / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha")
    (tree / "sub" / "b.bin").write_bytes(os.urandom(3 << 20))

    def entries() -> list[tuple[str, str | None, str | None, int | None]]:
        art = Artifact("refs", "dataset")
        art.add_reference(f"file://{tree}", name="d", checksum=checksum)
        art.add_reference(f"file://{tree / 'a.txt'}", checksum=checksum)
        return sorted((e.path, e.ref, e.digest, e.size) for e in art.manifest.entries.values())

    by_daemon = entries()
    monkeypatch.setattr(client, "is_local", lambda conn: False)
    assert entries() == by_daemon
    # Without checksum the directory is one entry, not walked (its size unknown).
    assert [p for p, *_ in by_daemon] == (["a.txt", "d/a.txt", "d/sub/b.bin"] if checksum
                                          else ["a.txt", "d"])
    with pytest.raises(ReferenceFailedError, match="no such file"):
        Artifact("gone", "dataset").add_reference(f"file://{tree / 'missing'}")
    with pytest.raises(ValueError, match="max_objects"):
        Artifact("many", "dataset").add_reference(f"file://{tree}", max_objects=1)
