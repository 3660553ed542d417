"""Artifact.download(multipart=...) against the real daemon: stored files streamed as byte
ranges at once (ReadArtifactFile with offset and length), byte-identical and checked; a part
that fails leaves nothing in the cache or under the root. Also directory references recorded
without checksum (file://, s3://): one entry, listed when downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.e2e.artifact_helpers import b64md5, project, read_tree
from tests.e2e.test_artifact_references import s3  # noqa: F401 - fixture
from tests.helpers import DaemonProcess
from trackd import Api, Artifact
from trackd._transport import artifact_client as client
from trackd.artifacts import ranged
from trackd.errors import ReferenceFailedError


def test_ranges_of_a_stored_file(art_sdk: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    (art_sdk / "big.bin").write_bytes(data)
    proj = project()
    with trackd.init(project=proj) as run:
        art = run.log_artifact(str(art_sdk / "big.bin"), name="big", type="dataset").wait()
    got = bytearray()

    class Sink:
        def write(self, b: bytes) -> None:
            got.extend(b)

    client.read_range(art.id, "big.bin", 1_000_000, 2_500_000, Sink())
    assert bytes(got) == data[1_000_000:3_500_000]
    got.clear()
    client.read_range(art.id, "big.bin", len(data) - 10, 0, Sink())  # 0: through the end
    assert bytes(got) == data[-10:]


def test_multipart_download_from_the_daemon(art_sdk: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "is_local", lambda conn: False)  # bytes travel over gRPC
    monkeypatch.setattr(ranged, "PART_SIZE", 1024 * 1024)
    data = os.urandom(5 * 1024 * 1024 + 321)
    (art_sdk / "src").mkdir()
    (art_sdk / "src" / "big.bin").write_bytes(data)
    (art_sdk / "src" / "small.txt").write_bytes(b"small")
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(str(art_sdk / "src"), name="parts", type="dataset").wait()
    calls: list[tuple[int, int]] = []
    real = client.read_range

    def counting(aid: str, path: str, off: int, n: int, out: Any) -> None:
        calls.append((off, n))
        real(aid, path, off, n, out)

    # A part that fails: the download fails and leaves no partial file anywhere.
    cache = art_sdk / "cache"
    back = Api().artifact(f"{proj}/parts:v0")

    def failing(aid: str, path: str, off: int, n: int, out: Any) -> None:
        if off == 3 << 20:
            out.write(b"x" * 100)
            raise ConnectionResetError("the stream broke off")
        real(aid, path, off, n, out)

    monkeypatch.setattr(client, "read_range", failing)
    with pytest.raises(ConnectionResetError):
        back.download(str(art_sdk / "broken"), multipart=True, skip_cache=True)
    assert not (art_sdk / "broken" / "big.bin").exists()
    assert [p.name for p in (art_sdk / "broken").rglob("*trackd-*")] == []
    with pytest.raises(ConnectionResetError):  # through the cache, which is cold
        back.download(str(art_sdk / "cold"), multipart=True)
    # Nothing half-written in the cache (a part file is sized to the whole at once).
    assert len(data) not in {p.stat().st_size for p in cache.rglob("*") if p.is_file()}
    assert not (art_sdk / "cold" / "big.bin").exists()
    monkeypatch.setattr(client, "read_range", counting)
    root = back.download(str(art_sdk / "out"), multipart=True)
    assert read_tree(root) == {"big.bin": data, "small.txt": b"small"}
    assert sorted(calls) == [(i << 20, min(1 << 20, len(data) - (i << 20))) for i in range(6)]
    # None (the default): below 2 GiB, one stream.
    calls.clear()
    back.download(str(art_sdk / "default"), skip_cache=True)
    assert calls == []

    # A part that comes back with other bytes (the right length): the MD5 check refuses it.
    def corrupt(aid: str, path: str, off: int, n: int, out: Any) -> None:
        if off == 0:
            out.write(b"\0" * n)
        else:
            real(aid, path, off, n, out)

    monkeypatch.setattr(client, "read_range", corrupt)
    with pytest.raises(trackd.errors.CommError, match="MD5"):
        back.download(str(art_sdk / "corrupt"), multipart=True, skip_cache=True)
    assert not (art_sdk / "corrupt" / "big.bin").exists()


def test_file_directory_without_checksum_is_one_entry_listed_at_download(art_sdk: Path) -> None:
    tree = art_sdk / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha")
    art = Artifact("unchecked-dir", "dataset")
    (e,) = art.add_reference(f"file://{tree}", name="d", checksum=False)
    assert (e.path, e.ref, e.size) == ("d", f"file://{tree}", None)
    assert e.digest == b64md5(f"file://{tree}".encode())
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    (tree / "sub" / "b.txt").write_bytes(b"added after logging")
    (tree / "a.txt").write_bytes(b"changed")
    back = Api().artifact(f"{proj}/unchecked-dir:v0")
    assert list(back.manifest.entries) == ["d"]
    root = back.download(str(art_sdk / "out"))
    assert read_tree(root) == {"d/a.txt": b"changed", "d/sub/b.txt": b"added after logging"}
    # Same URI, same digest: logging it again makes no new version.
    with trackd.init(project=proj) as run:
        again = Artifact("unchecked-dir", "dataset")
        again.add_reference(f"file://{tree}", name="d", checksum=False)
        assert run.log_artifact(again).wait().version == "v0"
    for p in sorted(tree.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    tree.rmdir()
    with pytest.raises(ReferenceFailedError):
        back.download(str(art_sdk / "gone"))


def test_s3_prefix_without_checksum_is_listed_at_download(
        s3: Any, own_daemon: DaemonProcess, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(tmp_path / "data"))
    art = Artifact("s3-unchecked", "dataset")
    (e,) = art.add_reference("s3://bkt/models", checksum=False)
    art.add_reference("s3://bkt/single.txt", checksum=False)
    assert (e.path, e.digest, e.size) == ("models", "s3://bkt/models", None)
    with trackd.init(project="s3u") as run:
        run.log_artifact(art).wait()
    s3.put_object(Bucket="bkt", Key="models/a.bin", Body=b"newer")
    s3.put_object(Bucket="bkt", Key="single.txt", Body=b"newer one")
    monkeypatch.setattr(ranged, "PART_SIZE", 8)  # ranged GETs of the live object, too
    root = Api().artifact("s3u/s3-unchecked:latest").download(str(tmp_path / "out"),
                                                              multipart=True)
    assert read_tree(root) == {"models/a.bin": b"newer", "models/sub/b.bin": b"B" * 20,
                               "single.txt": b"newer one"}
