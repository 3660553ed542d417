"""Versions, dedup, distributed upserts, the cache bound, use_artifact's name forms and lineage,
and the model functions' rules, against the real daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import trackd
from tests.e2e.artifact_helpers import (
    project,
    read_tree,
    wandb_digest,
    write_tree,
)
from tests.helpers import wait_for
from trackd import Api, Artifact
from trackd.artifacts.cache import get_cache
from trackd.errors import ArtifactNotFoundError


def test_same_directory_twice_is_one_version_and_one_changed_file_is_stored_alone(
        art_sdk: Path) -> None:
    proj = project()
    files = {f"part-{i:02d}.bin": os.urandom(64 * 1024) for i in range(20)}
    src = write_tree(art_sdk / "data", files)
    with trackd.init(project=proj) as run:
        first = run.log_artifact(str(src), name="ds", type="dataset").wait()
        assert first._save_job.progress.bytes_new == 20 * 64 * 1024
        again = run.log_artifact(str(src), name="ds", type="dataset").wait()
        assert again.version == first.version == "v0"
        assert again._save_job.deduplicated and again._save_job.progress.bytes_new == 0
        time.sleep(0.01)
        changed = os.urandom(64 * 1024)
        (src / "part-07.bin").write_bytes(changed)
        files["part-07.bin"] = changed
        third = run.log_artifact(str(src), name="ds", type="dataset").wait()
    assert third.version == "v1"
    assert third._save_job.progress.bytes_new == len(changed)  # only that file's bytes again
    blobs = {v: {p: e._blob for p, e in Api().artifact(f"{proj}/ds:{v}").manifest.entries.items()}
             for v in ("v0", "v1")}
    assert [p for p in files if blobs["v0"][p] != blobs["v1"][p]] == ["part-07.bin"]
    assert third.digest == wandb_digest(files)
    assert first.digest != third.digest
    versions = Api().artifacts("dataset", f"{proj}/ds")
    assert [v.version for v in versions] == ["v1", "v0"]
    assert Api().artifact(f"{proj}/ds:latest").version == "v1"


def test_staging_copies_are_stored_while_the_directory_is_added(art_sdk: Path) -> None:
    """Under a run, each batch of staging copies ``add_dir`` makes is handed to the daemon at
    once, which stores it while the rest are copied; ``log_artifact`` then finds it stored.
    Without a connection to a daemon nothing is announced (stored when logged, as always)."""
    files = {f"d{i // 40}/f{i:03d}.bin": os.urandom(3000 + i) for i in range(150)}
    src = write_tree(art_sdk / "tree", files)
    before_run = Artifact("quiet", type="dataset")
    before_run.add_dir(str(src))  # no run yet: this process has no connection
    with trackd.init(project=project()) as run:
        art = Artifact("early", type="dataset")
        art.add_dir(str(src))
        staged = [Path(e.local_path) for e in art.manifest.entries.values()]
        assert len(staged) == 150 and all(p.parent == staged[0].parent for p in staged)
        wait_for(lambda: all(p.stat().st_nlink == 2 for p in staged))  # in the blob store
        assert all(Path(e.local_path).stat().st_nlink == 1
                   for e in before_run.manifest.entries.values())
        run.log_artifact(art)
        art.wait()
        progress = art._save_job.progress
        total = sum(map(len, files.values()))
        assert (progress.files_done, progress.bytes_done, progress.bytes_new) == (150, total,
                                                                                 total)
        run.log_artifact(before_run)
        before_run.wait()
        assert before_run._save_job.deduplicated is False and before_run.digest == art.digest
    assert art.digest == wandb_digest(files)
    got = Api().artifact(f"{art.entity}/{art.project}/early:v0").download(
        root=str(art_sdk / "dl"))
    assert read_tree(got) == files


def test_artifact_digest_is_wandbs_rule(art_sdk: Path) -> None:
    proj = project()
    files = {"a": b"1", "b/c": b"22", "b/d/e.txt": b"", "z": os.urandom(10_000)}
    art = Artifact("ds", "dataset")
    art.add_dir(str(write_tree(art_sdk / "d", files)), policy="immutable")
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    assert art.digest == wandb_digest(files) == Api().artifact(f"{proj}/ds:v0").digest


WRITER = textwrap.dedent("""
    import sys, trackd
    proj, n, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with trackd.init(project=proj, group="dist") as run:
        art = trackd.Artifact("shards", "dataset")
        art.add_file(f"{root}/shard-{n}.bin", name=f"shards/shard-{n}.bin")
        run.upsert_artifact(art).wait()
        print("stored", flush=True)
        sys.stdin.readline()  # until every writer has stored its shard
""")


def test_four_processes_upsert_one_distributed_version(art_sdk: Path) -> None:
    proj = project()
    shards = {f"shards/shard-{n}.bin": os.urandom(20_000) for n in range(4)}
    for n in range(4):
        (art_sdk / f"shard-{n}.bin").write_bytes(shards[f"shards/shard-{n}.bin"])
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, proj, str(n), str(art_sdk)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ)) for n in range(4)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "stored"
        with pytest.raises(ArtifactNotFoundError):  # pending: not resolvable yet
            Api().artifact(f"{proj}/shards:latest")
        with trackd.init(project=proj, group="dist") as run:
            done = run.finish_artifact(Artifact("shards", "dataset")).wait()
        assert done.version == "v0" and done.state == "COMMITTED"
        assert read_tree(done.download(str(art_sdk / "out"))) == shards
        assert done.digest == wandb_digest(shards)
    finally:
        for p in procs:
            p.communicate("\n", timeout=60)
            assert p.returncode == 0
    with trackd.init(project=proj) as run:
        with pytest.raises(TypeError, match="unless run is in a group or distributed_id"):
            run.upsert_artifact(Artifact("shards", "dataset"))
        with pytest.raises(TypeError, match="unless run is in a group or distributed_id"):
            run.finish_artifact(Artifact("shards", "dataset"))
        again = Artifact("shards", "dataset")
        (art_sdk / "late.bin").write_bytes(b"late")
        again.add_file(str(art_sdk / "late.bin"))
        run.upsert_artifact(again, distributed_id="dist").wait()
        run.finish_artifact(Artifact("shards", "dataset"), distributed_id="dist").wait()
    assert Api().artifact(f"{proj}/shards:latest").version == "v1"  # the next version


def test_cache_stays_within_its_bound_over_many_downloads(art_sdk: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project()
    bound = 3 * 1024 * 1024
    monkeypatch.setenv("TRACKD_ARTIFACT_CACHE_MAX_SIZE", str(bound))
    trackd.teardown()
    with trackd.init(project=proj) as run:
        for i in range(6):
            (art_sdk / "m.bin").write_bytes(os.urandom(1024 * 1024))
            run.log_artifact(str(art_sdk / "m.bin"), name="weights", type="model").wait()
    cache = get_cache()
    for i in range(6):
        art = Api().artifact(f"{proj}/weights:v{i}")
        path = art.download(str(art_sdk / f"dl{i}"))
        assert Path(path, "m.bin").stat().st_size == 1024 * 1024
        on_disk = sum(p.stat().st_size for p in (cache.root / "obj").rglob("*") if p.is_file())
        assert on_disk <= bound and cache.size() <= bound
    # The newest versions are the ones kept: downloading v5 again is a cache hit.
    from trackd.artifacts import download

    again = Api().artifact(f"{proj}/weights:v5")
    report = download.fetch_entries(again, list(again.manifest.entries.values()),
                                    str(art_sdk / "dl-again"), False, False, None)
    assert report.from_cache == 1


def test_use_artifact_name_forms_and_lineage(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "f.txt").write_bytes(b"v0")
    with trackd.init(project=proj) as producer:
        a0 = producer.log_artifact(str(art_sdk / "f.txt"), name="ds", type="dataset",
                                   aliases=["gold"]).wait()
        (art_sdk / "f.txt").write_bytes(b"v1")
        a1 = producer.log_artifact(str(art_sdk / "f.txt"), name="ds", type="dataset").wait()
        entity = producer.entity
    with trackd.init(project=proj) as consumer:
        assert consumer.use_artifact("ds:gold").id == a0.id
        assert consumer.use_artifact("ds:v1").id == a1.id
        assert consumer.use_artifact("ds:latest").id == a1.id
        assert consumer.use_artifact("ds").id == a1.id
        assert consumer.use_artifact(f"ds:{a0.digest}").id == a0.id
        assert consumer.use_artifact(f"{proj}/ds:v0").id == a0.id
        assert consumer.use_artifact(f"{entity}/{proj}/ds:v0").id == a0.id
        assert consumer.use_artifact(a1).id == a1.id
        with pytest.raises(ValueError, match="does not match type"):
            consumer.use_artifact("ds:v0", type="model")
        with pytest.raises(ArtifactNotFoundError):
            consumer.use_artifact("ds:v9")
        with pytest.raises(ArtifactNotFoundError):
            consumer.use_artifact("nothing:latest")
        draft = Artifact("made-here", "dataset")
        (art_sdk / "g.txt").write_bytes(b"g")
        draft.add_file(str(art_sdk / "g.txt"))
        used = consumer.use_artifact(draft)  # a draft is logged, then used
        assert used.version == "v0"
        trackd.use_artifact("ds:v0")  # the module-level function
    assert {r.id for r in a0.used_by()} == {consumer.id}
    assert {r.id for r in a1.used_by()} == {consumer.id}
    assert a0.logged_by().id == producer.id
    stored = Api().run(f"{entity}/{proj}/{consumer.id}")
    assert {a.name for a in stored.used_artifacts()} == {"ds:v0", "ds:v1", "made-here:v0"}
    assert [a.name for a in Api().run(f"{entity}/{proj}/{producer.id}").logged_artifacts()] == [
        "ds:v0", "ds:v1"]


def test_log_use_and_link_model_rules(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "model.pt").write_bytes(b"weights")
    write_tree(art_sdk / "model_dir", {"a.pt": b"a", "b.pt": b"b"})
    with trackd.init(project=proj) as run:
        assert run.log_model(str(art_sdk / "model.pt"), name="net") is None
        with pytest.raises(ValueError, match="alphanumeric"):
            run.log_model(str(art_sdk / "model.pt"), name="ent/proj/net")
        run.log_model(str(art_sdk / "model_dir"), name="multi", aliases=["best"])
        run.log_artifact(str(art_sdk / "model.pt"), name="data", type="dataset")
        trackd.log_model(str(art_sdk / "model.pt"), name="net")  # unchanged: same version
        run._wait_artifacts(None)
        path = run.use_model("net:latest")
        assert Path(path).name == "model.pt" and Path(path).read_bytes() == b"weights"
        assert sorted(os.listdir(trackd.use_model("multi:best"))) == ["a.pt", "b.pt"]
        with pytest.raises(AssertionError, match="'model' artifacts"):
            run.use_model("data:latest")
        with pytest.raises(AssertionError, match="only the name of the registered model"):
            run.link_model(str(art_sdk / "model.pt"), "ent/proj/reg")
        with pytest.raises(AssertionError, match="'model' artifacts"):
            run.link_model(str(art_sdk / "model.pt"), "reg", name="data")
        link = run.link_model(str(art_sdk / "model.pt"), "my-reg", name="net",
                              aliases=["production"])
        entity = run.entity
    assert link is not None and link.is_link and link.project == "model-registry"
    assert link.entity == entity and link.name == "my-reg:v0"
    assert sorted(link.aliases) == ["latest", "production"]
    assert link.source_name == "net:v0" and link.type == "model"
    assert Api().artifact(f"{entity}/model-registry/my-reg:production").source_name == "net:v0"
    with trackd.init(project=proj) as run:
        fresh = run.link_model(str(art_sdk / "model_dir"), "other-reg", name="brand-new")
    assert fresh.source_name == "brand-new:v0" and fresh.type == "model"


def test_link_artifact_target_forms(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "f").write_bytes(b"f")
    with trackd.init(project=proj) as run:
        draft = Artifact("thing", "dataset")
        draft.add_file(str(art_sdk / "f"))
        l1 = run.link_artifact(draft, "folio")  # a draft is logged first
        l2 = run.link_artifact(draft, f"{proj}-other/folio2", aliases=["x"])
        l3 = run.link_artifact(draft, f"{run.entity}/{proj}/folio3")
    assert (l1.project, l1.name) == (proj, "folio:v0")
    assert (l2.project, l2.name, sorted(l2.aliases)) == (f"{proj}-other", "folio2:v0", ["latest", "x"])
    assert (l3.project, l3.name) == (proj, "folio3:v0")
    with pytest.raises(ValueError, match="Invalid target path"):
        draft.link("a/b/c/d")


def test_offline_and_disabled_runs(art_sdk: Path) -> None:
    (art_sdk / "f").write_bytes(b"f")
    with trackd.init(mode="disabled") as run:
        art = run.log_artifact(str(art_sdk / "f"), name="x", type="t")
        assert art.is_draft()
    with trackd.init(mode="offline") as run:
        with pytest.raises(TypeError, match="offline"):
            run.use_artifact("x:latest")
        with pytest.raises(RuntimeError, match="offline"):
            run.use_model("x:latest")


def test_offline_artifacts_are_logged_by_sync(art_sdk: Path) -> None:
    proj = project()
    files = {"a.txt": b"a", "sub/b.bin": os.urandom(5000)}
    write_tree(art_sdk / "data", files)
    (art_sdk / "model.pt").write_bytes(b"weights")
    with trackd.init(mode="offline", project=proj) as run:
        run.log({"loss": 1.0})
        art = run.log_artifact(str(art_sdk / "data"), name="ds", type="dataset", aliases=["raw"])
        model = Artifact("net", "model")
        model.add_file(str(art_sdk / "model.pt"), policy="immutable")
        run.log_artifact(model)
        (art_sdk / "code").mkdir()
        (art_sdk / "code" / "train.py").write_text("print('hi')\n")
        code = run.log_code(str(art_sdk / "code"), name="source-train")  # a reserved type
        with pytest.raises(trackd.errors.ArtifactNotLoggedError):
            art.wait()  # a draft until synced, as in W&B offline
        sync_dir = Path(run.settings.sync_dir)
        run_id = run.id
    (art_sdk / "data" / "a.txt").write_bytes(b"edited after log_artifact")  # mutable: not seen
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "sync", str(sync_dir)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "3 artifact(s) logged" in out.stdout
    assert Api().artifact(f"{proj}/{code.name}:latest").type == "code"
    ds = Api().artifact(f"{proj}/ds:raw")
    assert ds.version == "v0" and read_tree(ds.download(str(art_sdk / "out"))) == files
    assert ds.logged_by().id == run_id and ds.history_step == 0
    assert Api().artifact(f"{proj}/net:latest").download(str(art_sdk / "m")) == str(art_sdk / "m")
    assert (art_sdk / "m" / "model.pt").read_bytes() == b"weights"
    again = subprocess.run([sys.executable, "-m", "trackd._cli.main", "sync", str(sync_dir)],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ),
                           check=False)
    assert again.returncode == 0 and "already synced" in again.stdout
    assert [a.version for a in Api().artifacts("dataset", f"{proj}/ds")] == ["v0"]


def test_api_collections_and_types(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "f").write_bytes(b"f")
    with trackd.init(project=proj) as run:
        run.log_artifact(str(art_sdk / "f"), name="d1", type="dataset", tags=["t1"]).wait()
        run.log_artifact(str(art_sdk / "f"), name="m1", type="model").wait()
    api = Api()
    assert [t.name for t in api.artifact_types(proj)] == ["dataset", "model"]
    assert [c.name for c in api.artifact_collections(proj, "dataset")] == ["d1"]
    assert api.artifact_collection("dataset", f"{proj}/d1").version_count == 1
    assert api.artifact_collection_exists(f"{proj}/d1", "dataset")
    assert not api.artifact_collection_exists(f"{proj}/zz", "dataset")
    assert [a.name for a in api.artifacts("dataset", f"{proj}/d1", tags=["t1"])] == ["d1:v0"]
    assert api.artifacts("dataset", f"{proj}/d1", tags=["other"]) == []
    assert api.artifact_exists(f"{proj}/m1:v0", type="model")
    assert not api.artifact_exists(f"{proj}/m1:v0", type="dataset")
    assert [a.name for a in api.artifact_type("model", proj).collection("m1").artifacts()] == ["m1:v0"]


def test_an_upload_survives_a_daemon_restart(own_daemon, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(tmp_path / "data"))
    files = {f"f{i:03d}.bin": os.urandom(256 * 1024) for i in range(200)}  # 50 MiB
    write_tree(tmp_path / "big", files)
    with trackd.init(project="restart") as run:
        art = run.log_artifact(str(tmp_path / "big"), name="big", type="dataset")
        deadline = time.monotonic() + 30
        while not art._save_job.progress.bytes_done and not art._save_job.done \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        own_daemon.kill()  # mid-upload (or just before/after: the outcome must be the same)
        own_daemon.start()
        art.wait(timeout=120)
        assert art.version == "v0" and art.file_count == 200
    assert read_tree(Api().artifact("restart/big:v0").download(str(tmp_path / "out"))) == files
    assert not any((tmp_path / "data" / "staging").iterdir())  # staging copies deleted
