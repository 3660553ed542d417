"""Deleting a run's media files (W&B's ``File.delete``) frees the bytes nothing else holds:
the garbage collector keeps what another run's file or an artifact still holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trackd
from tests.helpers import wait_for
from trackd import Api
from trackd._transport.artifact_client import collect_garbage


def _blob_files(daemon, key: str) -> list[Path]:
    return [p for p in daemon.dirs.base.rglob(key[2:]) if p.parent.name == key[:2]]


def test_deleted_media_free_the_bytes_nothing_else_holds(own_daemon, monkeypatch, tmp_path):
    own_daemon.stop()
    own_daemon.dirs.env["TRACKD_BLOB_GRACE"] = "0"  # collect at once, not after an hour
    own_daemon.start()
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    shared = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    own = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    kept = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    with trackd.init(project="media-gc") as first:
        first.log({"shared": trackd.Image(shared), "own": trackd.Image(own),
                   "kept": trackd.Image(kept)})
    (tmp_path / "notes.txt").write_text("notes")
    with trackd.init(project="media-gc") as second:
        second.log({"shared": trackd.Image(shared)})  # the same bytes: one blob for both runs
        second.save("notes.txt", policy="now")
        wait_for(lambda: Api().run(second.path).files(["notes.txt"]))
        with pytest.raises(trackd.errors.FailedPreconditionError, match="running"):
            Api().run(second.path).file("notes.txt").delete()
    (row,) = Api().run(first.path).history(pandas=False)
    stored = Api().run(first.path)
    blob = {k: _blob_of(stored, row[k]["path"]) for k in ("shared", "own", "kept")}
    assert all(_blob_files(own_daemon, b) for b in blob.values())
    # An artifact holds the third image's bytes as well.
    png = stored.file(row["kept"]["path"]).read_bytes()
    (tmp_path / "kept.png").write_bytes(png)
    with trackd.init(project="media-gc", job_type="keep") as keeper:
        art = trackd.Artifact("kept-images", "dataset")
        art.add_file(str(tmp_path / "kept.png"))
        keeper.log_artifact(art).wait()

    for key in ("shared", "own", "kept"):
        stored.file(row[key]["path"]).delete()
    names = {f.name for f in Api().run(first.path).files()}
    assert not any(n.startswith("media/") for n in names), names
    with pytest.raises(trackd.errors.RunFileNotFoundError):
        stored.file(row["own"]["path"])
    freed = collect_garbage()
    assert (freed.blobs_freed, freed.bytes_freed) == (1, row["own"]["size"])
    assert not _blob_files(own_daemon, blob["own"])
    assert _blob_files(own_daemon, blob["shared"])  # the second run's image holds it
    assert _blob_files(own_daemon, blob["kept"])  # the artifact holds it
    (again,) = Api().run(second.path).history(pandas=False)
    assert Api().run(second.path).file(again["shared"]["path"]).read_bytes() == \
        _read_blob(own_daemon, blob["shared"])

    Api().run(second.path).file(again["shared"]["path"]).delete()
    freed = collect_garbage()
    assert freed.blobs_freed == 1 and not _blob_files(own_daemon, blob["shared"])
    with pytest.raises(trackd.errors.RunFileNotFoundError):
        Api().run(second.path).file(again["shared"]["path"]).delete()


def _blob_of(stored, name: str) -> str:
    from trackd.v1 import file_service_pb2 as pb

    conn = trackd._transport.setup.connect()
    (f,) = conn.unary(conn.files.ListFiles, pb.ListFilesRequest(run=stored._pb.ref,
                                                                names=[name]), timeout=30).files
    return f.latest.blob_key


def _read_blob(daemon, key: str) -> bytes:
    (path,) = _blob_files(daemon, key)
    return path.read_bytes()



def test_what_cannot_be_deleted_is_refused_and_nothing_goes(clean_sdk):
    from trackd.v1 import file_service_pb2 as pb

    with trackd.init(project="media-del", settings={"console": "wrap"}) as run:
        print("a line for the console log")
        run.log({"img": trackd.Image(np.zeros((2, 2), np.uint8))})
    stored = Api().run(run.path)
    (row,) = stored.history(pandas=False)
    assert {"output.log", row["img"]["path"]} <= {f.name for f in stored.files()}
    with pytest.raises(trackd.errors.InvalidArgumentError, match="console log"):
        stored.file("output.log").delete()
    conn = trackd._transport.setup.connect()
    with pytest.raises(trackd.errors.InvalidArgumentError, match="at least one"):
        conn.unary(conn.files.DeleteFiles, pb.DeleteFilesRequest(run=stored._pb.ref), timeout=30)
    with pytest.raises(trackd.errors.RunFileNotFoundError, match="nope"):
        conn.unary(conn.files.DeleteFiles, pb.DeleteFilesRequest(
            run=stored._pb.ref, names=[row["img"]["path"], "nope"]), timeout=30)
    assert stored.file(row["img"]["path"]).read_bytes()[:4] == b"\x89PNG"  # nothing deleted
