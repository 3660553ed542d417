"""Editing stored runs through ``Api``: rename, notes and tags (``run.update()``), moving a run
to another project, deleting it with what it holds; the blob-store bytes only a deleted run
held are freed by the garbage collector, those shared with another run or an artifact stay."""

from __future__ import annotations

import numpy as np
import pytest

import trackd
from tests.e2e.test_media_deletion import _blob_files, _blob_of
from trackd import Api
from trackd._transport.artifact_client import collect_garbage


def test_name_notes_and_tags_change_and_read_back(clean_sdk):
    with trackd.init(project="edit-fields", name="before", tags=["a"]) as run:
        run.log({"x": 1})
    stored = Api().run(run.path)
    stored.name = "after"
    stored.notes = "a note\nover two lines"
    stored.tags.append("b")
    stored.update()
    assert (stored.name, stored.tags) == ("after", ["a", "b"])
    again = Api().run(run.path)
    assert (again.name, again.notes, again.tags) == ("after", "a note\nover two lines",
                                                     ["a", "b"])
    again.tags.remove("a")
    again.update()
    assert Api().run(run.path).tags == ["b"]
    again.tags = "ok"
    with pytest.raises(trackd.errors.UsageError, match="list of strings"):
        again.update()
    again.tags = [""]
    with pytest.raises(trackd.errors.InvalidArgumentError, match="tag"):
        again.update()
    again.tags = ["x" * 300]
    with pytest.raises(trackd.errors.InvalidArgumentError):
        again.update()
    again.tags, again.name = ["ok"], ""
    with pytest.raises(trackd.errors.InvalidArgumentError, match="name"):
        again.update()
    assert Api().run(run.path).tags == ["b"]  # nothing of a refused update stays


def test_a_moved_run_keeps_its_history_and_files(clean_sdk, tmp_path):
    (tmp_path / "notes.txt").write_text("moved along")
    with trackd.init(project="edit-from", config={"lr": 0.5}) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
        run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path), policy="now")
    with trackd.init(project="edit-to", id=f"{run.id}-other"):
        pass
    stored = Api().run(run.path)
    for bad in ("", "a/b", " padded"):
        with pytest.raises(trackd.errors.InvalidArgumentError):
            stored.move(bad)
    stored.move("edit-to")
    assert stored.path == [run.entity, "edit-to", run.id]
    moved = Api().run(f"{run.entity}/edit-to/{run.id}")
    assert moved.config == {"lr": 0.5}
    assert [r["loss"] for r in moved.history(pandas=False)] == [1.0, 0.5]
    assert moved.file("notes.txt").read_bytes() == b"moved along"
    with pytest.raises(trackd.errors.RunNotFoundError):
        Api().run(run.path)
    with trackd.init(project="edit-from", id=run.id):  # the id is free in the old project
        pass
    with pytest.raises(trackd.errors.RunAlreadyExistsError):
        Api().run(f"{run.entity}/edit-from/{run.id}").move("edit-to")


def test_a_live_run_is_neither_moved_nor_deleted(clean_sdk):
    with trackd.init(project="edit-live") as run:
        run.log({"x": 1})
        live = Api().run(run.path)
        with pytest.raises(trackd.errors.FailedPreconditionError, match="running"):
            live.delete()
        with pytest.raises(trackd.errors.FailedPreconditionError, match="running"):
            live.move("elsewhere")
        live.name = "renamed-live"
        live.update()  # renaming a running run is fine
        assert Api().run(run.path).name == "renamed-live"
        run.log({"x": 2})
    stored = Api().run(run.path)
    assert [r["x"] for r in stored.history(pandas=False)] == [1, 2]
    assert stored.name == "renamed-live"  # the run's own ingest kept the new name


def test_deleting_a_run_frees_the_bytes_only_it_held(own_daemon, monkeypatch, tmp_path):
    own_daemon.stop()
    own_daemon.dirs.env["TRACKD_BLOB_GRACE"] = "0"  # collect at once, not after an hour
    own_daemon.start()
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    own, shared, kept = (rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(3))
    with trackd.init(project="edit-gc", settings={"console": "wrap"}) as doomed:
        print("a console line")
        doomed.log({"own": trackd.Image(own), "shared": trackd.Image(shared),
                    "kept": trackd.Image(kept), "loss": 0.1})
    with trackd.init(project="edit-gc") as other:
        other.log({"shared": trackd.Image(shared)})
    stored = Api().run(doomed.path)
    (row,) = stored.history(pandas=False)
    blob = {k: _blob_of(stored, row[k]["path"]) for k in ("own", "shared", "kept")}
    (tmp_path / "kept.png").write_bytes(stored.file(row["kept"]["path"]).read_bytes())
    with trackd.init(project="edit-gc", job_type="keep") as keeper:
        art = trackd.Artifact("kept-image", "dataset")
        art.add_file(str(tmp_path / "kept.png"))
        keeper.log_artifact(art).wait()
    assert all(_blob_files(own_daemon, b) for b in blob.values())
    collect_garbage()  # nothing of the run's is loose yet
    assert all(_blob_files(own_daemon, b) for b in blob.values())

    # Its other files (metadata, console log...) are its own too, unless another run's hold the
    # same bytes.
    held_elsewhere = set(_file_blobs(Api().run(other.path))) | set(
        _file_blobs(Api().run(keeper.path))) | {blob["kept"]}
    only_its = {k: n for k, n in _file_blobs(stored).items() if k not in held_elsewhere}
    assert blob["own"] in only_its and blob["shared"] not in only_its
    stored.delete()
    with pytest.raises(trackd.errors.RunNotFoundError):
        Api().run(doomed.path)
    with pytest.raises((trackd.errors.RunNotFoundError, trackd.errors.RunFileNotFoundError)):
        stored.file(row["own"]["path"]).read_bytes()
    assert doomed.id not in {r.id for r in Api().runs("edit-gc")}
    freed = collect_garbage()
    assert (freed.blobs_freed, freed.bytes_freed) == (len(only_its), sum(only_its.values()))
    assert not any(_blob_files(own_daemon, k) for k in only_its)
    assert not _blob_files(own_daemon, blob["own"])
    assert _blob_files(own_daemon, blob["shared"])  # the other run's image holds it
    assert _blob_files(own_daemon, blob["kept"])  # the artifact holds it
    (again,) = Api().run(other.path).history(pandas=False)
    assert Api().run(other.path).file(again["shared"]["path"]).read_bytes()[:4] == b"\x89PNG"
    assert Api().artifact("edit-gc/kept-image:latest").download(str(tmp_path / "dl"))
    with pytest.raises(trackd.errors.RunNotFoundError):
        stored.delete()


def _file_blobs(stored) -> dict[str, int]:
    """Blob key -> size of every version of the run's files (the console log, kept in the
    store, has no blob)."""
    from trackd.v1 import file_service_pb2 as pb

    conn = trackd._transport.setup.connect()
    files = conn.unary(conn.files.ListFiles, pb.ListFilesRequest(run=stored._pb.ref,
                                                                 versions=True), timeout=30).files
    return {v.blob_key: v.size for f in files for v in [f.latest, *f.history] if v.blob_key}


def test_delete_artifacts_deletes_what_the_run_logged(clean_sdk, tmp_path):
    (tmp_path / "d.txt").write_text("data")
    with trackd.init(project="edit-arts") as run:
        art = trackd.Artifact("logged-data", "dataset")
        art.add_file(str(tmp_path / "d.txt"))
        run.log_artifact(art).wait()
    Api().run(run.path).delete(delete_artifacts=True)
    with pytest.raises(trackd.errors.ArtifactNotFoundError):
        Api().artifact("edit-arts/logged-data:latest")


def test_a_deleted_run_leaves_nothing_for_a_new_run_of_its_id(clean_sdk):
    """Its write-ahead log goes with it: a new run of the same id (which SQLite may give the
    same pk, and so the same log name) starts empty."""
    with trackd.init(project="edit-again", id="again") as run:
        for i in range(3):
            run.log({"old": i})
    logs = {p.name for p in clean_sdk.dirs.base.rglob("*-again.wal")}
    assert logs
    Api().run(run.path).delete()
    assert not {p.name for p in clean_sdk.dirs.base.rglob("*-again.wal")}
    with trackd.init(project="edit-again", id="again") as run:
        run.log({"new": 1})
    assert [{k: v for k, v in r.items() if not k.startswith("_")}
            for r in Api().run(run.path).history(pandas=False)] == [{"new": 1}]
