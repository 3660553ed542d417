"""gs:// and Azure Blob Storage references, end to end through the real daemon: added with
add_reference (resolved by the SDK with google-cloud-storage / azure-storage-blob), logged,
read back with Api() and downloaded — against a GCS JSON API double on loopback and Azurite."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.e2e.artifact_helpers import project, read_tree
from tests.e2e.cloud_stores import FakeGcs, azure_blobs, azure_uri, azurite_url, gcs  # noqa: F401
from trackd import Api, Artifact
from trackd.artifacts import ranged
from trackd.errors import ReferenceFailedError


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_gs_objects_and_prefixes(art_sdk: Path, gcs: FakeGcs) -> None:  # noqa: F811
    one = gcs.put("bkt", "single.txt", b"one")
    gcs.put("bkt", "models/a.bin", b"A" * 10)
    gcs.put("bkt", "models/sub/b.bin", b"B" * 20)
    gcs.put("bkt", "models/", b"")  # a folder placeholder: not an entry
    art = Artifact("gcs-model", "model")
    (e,) = art.add_reference("gs://bkt/single.txt")
    assert (e.path, e.digest, e.size, e.ref) == ("single.txt", one.resource("bkt")["etag"], 3,
                                                 "gs://bkt/single.txt")
    assert e.extra == {"versionID": one.generation}
    prefix = art.add_reference("gs://bkt/models", name="m")
    assert [(p.path, p.size, p.ref) for p in prefix] == [
        ("m/a.bin", 10, "gs://bkt/models/a.bin"), ("m/sub/b.bin", 20, "gs://bkt/models/sub/b.bin")]
    (pinned,) = Artifact("p", "t").add_reference(f"gs://bkt/single.txt#{one.generation}")
    assert pinned.digest == e.digest
    with pytest.raises(ValueError, match="max_objects"):
        Artifact("many", "t").add_reference("gs://bkt/models", max_objects=1)
    with pytest.raises(ReferenceFailedError, match="no object"):
        Artifact("none", "t").add_reference("gs://bkt/nothing-here")
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    # Newer generations: the logged ones are read by their generation.
    gcs.put("bkt", "single.txt", b"newer")
    gcs.put("bkt", "models/a.bin", b"newer")
    back = Api().artifact(f"{proj}/gcs-model:v0")
    assert back.manifest.entries["m/a.bin"].extra["versionID"]
    root = back.download(str(art_sdk / "out"))
    assert read_tree(root) == {"single.txt": b"one", "m/a.bin": b"A" * 10,
                               "m/sub/b.bin": b"B" * 20}
    # A bucket that drops old generations: the live object no longer has the digest.
    gcs.buckets["bkt"]["single.txt"] = gcs.buckets["bkt"]["single.txt"][-1:]
    with pytest.raises(ReferenceFailedError, match="changed"):
        back.download(str(art_sdk / "again"), skip_cache=True)


def test_gs_multipart_download_reads_ranges_of_one_generation(
        art_sdk: Path, gcs: FakeGcs, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    data = os.urandom(5 * 1024 * 1024 + 123)
    gcs.put("bkt", "big.bin", data)
    art = Artifact("gcs-big", "dataset")
    art.add_reference("gs://bkt/big.bin")
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    gcs.put("bkt", "big.bin", b"replaced")  # the parts must all read the logged generation
    monkeypatch.setattr(ranged, "PART_SIZE", 1024 * 1024)
    back = Api().artifact(f"{proj}/gcs-big:v0")
    root = back.download(str(art_sdk / "parts"), multipart=True)
    assert Path(root, "big.bin").read_bytes() == data
    assert gcs.ranged_reads == 6
    root = back.download(str(art_sdk / "whole"), multipart=False, skip_cache=True)
    assert Path(root, "big.bin").read_bytes() == data and gcs.ranged_reads == 6


def test_gs_prefix_without_checksum_is_listed_when_downloaded(
        art_sdk: Path, gcs: FakeGcs) -> None:  # noqa: F811
    gcs.put("bkt", "data/x.txt", b"x1")
    art = Artifact("gcs-unchecked", "dataset")
    (e,) = art.add_reference("gs://bkt/data", checksum=False)
    assert (e.path, e.digest, e.ref, e.size) == ("data", "gs://bkt/data", "gs://bkt/data", None)
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    gcs.put("bkt", "data/y/z.txt", b"added later")  # not pinned: what is there at download
    gcs.put("bkt", "data/x.txt", b"x2")
    root = Api().artifact(f"{proj}/gcs-unchecked:v0").download(str(art_sdk / "out"))
    assert read_tree(root) == {"data/x.txt": b"x2", "data/y/z.txt": b"added later"}


def test_gs_without_the_library_names_the_extra(art_sdk: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from trackd.artifacts.stores import gcs as gcs_store

    monkeypatch.setattr(gcs_store, "_clients", {})
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)  # an import that fails
    with pytest.raises(ReferenceFailedError, match=r"trackd\[gcs\]"):
        Artifact("x", "t").add_reference("gs://bkt/a")


def test_azure_blobs_and_prefixes(art_sdk: Path, azure_blobs: Any) -> None:  # noqa: F811
    azure_blobs.upload_blob("single.txt", b"one")
    azure_blobs.upload_blob("models/a.bin", b"A" * 10)
    azure_blobs.upload_blob("models/sub/b.bin", b"B" * 20)
    props = azure_blobs.get_blob_client("single.txt").get_blob_properties()
    art = Artifact("az-model", "model")
    (e,) = art.add_reference(azure_uri(azure_blobs, "single.txt"))
    etag = props.etag.strip('"')
    assert (e.path, e.digest, e.size, e.ref) == ("single.txt", etag, 3,
                                                 azure_uri(azure_blobs, "single.txt"))
    assert e.extra["etag"] == etag
    prefix = art.add_reference(azure_uri(azure_blobs, "models"), name="m")
    assert [(p.path, p.size, p.ref) for p in prefix] == [
        ("m/a.bin", 10, azure_uri(azure_blobs, "models/a.bin")),
        ("m/sub/b.bin", 20, azure_uri(azure_blobs, "models/sub/b.bin"))]
    with pytest.raises(ValueError, match="max_objects"):
        Artifact("many", "t").add_reference(azure_uri(azure_blobs, "models"), max_objects=1)
    with pytest.raises(ReferenceFailedError, match="no blob"):
        Artifact("none", "t").add_reference(azure_uri(azure_blobs, "nothing"))
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    back = Api().artifact(f"{proj}/az-model:v0")
    root = back.download(str(art_sdk / "out"))
    assert read_tree(root) == {"single.txt": b"one", "m/a.bin": b"A" * 10,
                               "m/sub/b.bin": b"B" * 20}
    # Azurite keeps no blob versions: a changed blob can no longer be had, and says so.
    azure_blobs.upload_blob("single.txt", b"newer", overwrite=True)
    with pytest.raises(ReferenceFailedError, match="single.txt"):
        back.download(str(art_sdk / "changed"), skip_cache=True)
    with pytest.warns(UserWarning, match="skipped missing reference"):
        root = back.download(str(art_sdk / "lenient"), skip_cache=True,
                             allow_missing_references=True)
    assert read_tree(root) == {"m/a.bin": b"A" * 10, "m/sub/b.bin": b"B" * 20}


def test_azure_multipart_and_unchecked_prefix(art_sdk: Path, azure_blobs: Any,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    azure_blobs.upload_blob("big.bin", data)
    azure_blobs.upload_blob("dir/x.txt", b"x1")
    art = Artifact("az-big", "dataset")
    art.add_reference(azure_uri(azure_blobs, "big.bin"))
    (u,) = art.add_reference(azure_uri(azure_blobs, "dir"), checksum=False)
    assert (u.path, u.digest, u.size) == ("dir", azure_uri(azure_blobs, "dir"), None)
    proj = project()
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    azure_blobs.upload_blob("dir/later.txt", b"later")
    monkeypatch.setattr(ranged, "PART_SIZE", 1024 * 1024)
    parts: list[tuple[int, int]] = []
    real = ranged.parts
    monkeypatch.setattr(ranged, "parts", lambda size, ps=None: parts.extend(
        real(size, ps)) or real(size, ps))
    root = Api().artifact(f"{proj}/az-big:v0").download(str(art_sdk / "out"), multipart=True)
    assert read_tree(root) == {"big.bin": data, "dir/x.txt": b"x1", "dir/later.txt": b"later"}
    assert len(parts) == 4
    assert md5_b64(Path(root, "big.bin").read_bytes()) == md5_b64(data)
