"""Every method and property of trackd.Artifact against the real daemon, error cases included."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

import trackd
from tests.e2e.artifact_helpers import (
    b64md5,
    project,
    read_tree,
    wandb_digest,
    write_tree,
)
from trackd import Api, Artifact, ArtifactTTL
from trackd.errors import (
    ArtifactFinalizedError,
    ArtifactHasAliasesError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
)

FILES = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(5000), "sub/deep/c.json": b'{"c": 1}'}


def logged(tmp: Path, proj: str, files: dict[str, bytes] = FILES, **kwargs) -> Artifact:  # type: ignore[no-untyped-def]
    write_tree(tmp / "src", files)
    art = Artifact("ds", "dataset", description="first", metadata={"rows": 3})
    art.add_dir(str(tmp / "src"))
    with trackd.init(project=proj) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
        run.log_artifact(art, **kwargs)
        art.wait()
    return art


def test_log_wait_and_every_logged_property(art_sdk: Path) -> None:
    proj = project()
    write_tree(art_sdk / "src", FILES)
    art = Artifact("ds", "dataset", description="first", metadata={"rows": 3})
    art.add_dir(str(art_sdk / "src"))
    assert art.digest == wandb_digest(FILES)  # before logging: hashed here
    with trackd.init(project=proj) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
        returned = run.log_artifact(art, aliases=["best"], tags=["raw data"])
        assert returned is art
        with pytest.raises(ArtifactFinalizedError):
            art.add_file(str(art_sdk / "src" / "a.txt"))
        assert art.wait() is art
        assert not art.is_draft() and art.state == "COMMITTED"
        entity = run.entity
    assert art.name == "ds:v0" and art.version == "v0" and art.source_version == "v0"
    assert art.entity == entity and art.project == proj
    assert art.qualified_name == f"{entity}/{proj}/ds:v0"
    assert art.source_name == "ds:v0" and art.source_entity == entity
    assert art.source_project == proj
    assert art.source_qualified_name == f"{entity}/{proj}/ds:v0"
    assert art.type == "dataset" and art.description == "first" and art.metadata == {"rows": 3}
    assert sorted(art.aliases) == ["best", "latest"] and art.tags == ["raw data"]
    assert art.digest == wandb_digest(FILES)
    assert art.size == sum(map(len, FILES.values())) and art.file_count == 3
    assert art.commit_hash and art.id
    assert art.created_at.endswith("Z") and art.updated_at >= art.created_at
    assert art.history_step == 1  # two rows were logged before it
    assert art.is_link is False and art.linked_artifacts == [] and art.source_artifact is art
    assert art.collection.name == "ds" and art.source_collection.name == "ds"
    assert art.ttl is None or isinstance(art.ttl, dt.timedelta)
    assert art.distributed_id is None and art.incremental is False
    assert art.url.startswith("http://127.0.0.1:") and "/artifacts/dataset/ds/v0" in art.url
    assert sorted(art.manifest.entries) == sorted(FILES)
    assert art.manifest.entries["a.txt"].digest == b64md5(FILES["a.txt"])
    enc = art.json_encode()
    assert enc["_type"] == "artifactVersion" and enc["id"] == art.id and enc["version"] == "v0"
    assert enc["sequenceName"] == "ds" and enc["digest"] == art.digest
    run_ = art.logged_by()
    assert run_ is not None and run_.id == run.id and art.used_by() == []


def test_read_back_download_verify_checkout_file_files(art_sdk: Path) -> None:
    proj = project()
    logged(art_sdk, proj)
    art = Api().artifact(f"{proj}/ds:latest")
    assert art.name == "ds:v0" and not art.is_draft()
    root = art.download(root=str(art_sdk / "dl"))
    assert read_tree(root) == FILES
    art.verify(root)
    (Path(root) / "a.txt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="Digest mismatch for file: a.txt"):
        art.verify(root)
    (Path(root) / "extra.txt").write_bytes(b"x")
    with pytest.raises(ValueError, match="which is not a member of artifact"):
        art.verify(root)
    # download() fixes changed files and leaves extra ones; checkout() removes extra ones.
    art.download(root=root)
    assert (Path(root) / "a.txt").read_bytes() == FILES["a.txt"]
    assert (Path(root) / "extra.txt").exists()
    art.checkout(root)
    assert read_tree(root) == FILES
    sub = art.download(root=str(art_sdk / "prefix"), path_prefix="sub/deep")
    assert read_tree(sub) == {"sub/deep/c.json": FILES["sub/deep/c.json"]}
    direct = art.download(root=str(art_sdk / "nocache"), skip_cache=True)
    assert read_tree(direct) == FILES
    os.chdir(art_sdk)
    default = art.download()
    assert Path(default) == Path("artifacts") / "ds:v0" and read_tree(default) == FILES
    with pytest.raises(ValueError, match="more than one file"):
        art.file()
    files = art.files()
    assert len(files) == 3 and sorted(f.name for f in files) == sorted(FILES)
    picked = list(art.files(names=["a.txt"]))
    assert [(f.name, f.size, f.md5) for f in picked] == [("a.txt", 6, b64md5(FILES["a.txt"]))]
    out = picked[0].download(root=str(art_sdk / "one"))
    assert Path(out).read_bytes() == FILES["a.txt"]
    with pytest.raises(ValueError, match="already exists"):
        picked[0].download(root=str(art_sdk / "one"))
    entry = art.get_entry("sub/b.bin")
    assert entry.size == 5000 and entry.digest == b64md5(FILES["sub/b.bin"])
    assert Path(entry.download(str(art_sdk / "entry"))).read_bytes() == FILES["sub/b.bin"]
    with pytest.raises(KeyError, match="Path not contained in artifact: nope"):
        art.get_entry("nope")
    with pytest.warns(DeprecationWarning):
        assert art.get_path("a.txt").path == "a.txt"
    assert art.get("not-there") is None
    single = logged(art_sdk / "single", proj, {"model.pt": b"weights"})
    path = Api().artifact(f"{proj}/{single.name}").file(str(art_sdk / "f"))
    assert Path(path).read_bytes() == b"weights"


def test_get_reads_a_table_file_written_by_hand(art_sdk: Path) -> None:
    proj = project()
    art = logged(art_sdk, proj, {"table.table.json": b'{"columns": ["a"], "data": [[1], [2]]}',
                                 "bad.table.json": b'{"columns": []}'})
    table = art.get("table")  # no _type: the type its name gives
    assert isinstance(table, trackd.Table) and table.get_column("a") == [1, 2]
    with pytest.raises(ValueError, match="no columns and data"):
        art.get("bad")


def test_aliases_tags_description_metadata_ttl_persist_with_save(art_sdk: Path) -> None:
    proj = project()
    art = logged(art_sdk, proj)
    art.aliases = ["latest", "prod"]
    art.tags = ["checked", "v1 data"]
    art.description = "second"
    art.metadata = {"rows": 4, "source": "lab"}
    art.ttl = dt.timedelta(days=30)
    art.save()
    back = Api().artifact(f"{proj}/ds:prod")
    assert back.id == art.id and sorted(back.aliases) == ["latest", "prod"]
    assert back.tags == ["checked", "v1 data"] and back.description == "second"
    assert back.metadata == {"rows": 4, "source": "lab"} and back.ttl == dt.timedelta(days=30)
    back.ttl = None
    back.save()
    assert Api().artifact(f"{proj}/ds:v0").ttl is None
    back.ttl = ArtifactTTL.INHERIT
    back.save()
    assert Api().artifact(f"{proj}/ds:v0")._ttl_is_inherited
    with pytest.raises(ValueError, match="must not contain"):
        back.aliases = ["a/b"]


def test_delete_and_its_alias_rule(art_sdk: Path) -> None:
    proj = project()
    art = logged(art_sdk, proj)
    with pytest.raises(ArtifactHasAliasesError):
        art.delete()
    art.delete(delete_aliases=True)
    assert art.state == "DELETED"
    with pytest.raises(ArtifactNotFoundError):
        Api().artifact(f"{proj}/ds:v0")
    assert not Api().artifact_exists(f"{proj}/ds:v0")


def test_new_draft_makes_an_incremental_version(art_sdk: Path, clean_sdk) -> None:  # type: ignore[no-untyped-def]
    proj = project()
    base = logged(art_sdk, proj)
    draft = base.new_draft()
    assert draft.is_draft() and draft.name == "ds" and draft.type == "dataset"
    (art_sdk / "new.txt").write_bytes(b"new")
    draft.add_file(str(art_sdk / "new.txt"))
    draft.remove("sub/deep")
    with trackd.init(project=proj) as run:
        run.log_artifact(draft).wait()
    assert draft.version == "v1" and draft._base_id == base.id
    expected = {k: v for k, v in FILES.items() if not k.startswith("sub/deep")} | {"new.txt": b"new"}
    assert read_tree(draft.download(str(art_sdk / "v1"))) == expected
    with pytest.raises(ArtifactNotLoggedError):
        Artifact("x", "t").new_draft()


def test_new_file_and_references(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "ref.txt").write_bytes(b"referenced")
    art = Artifact("refs", "dataset")
    with art.new_file("notes.txt") as f:
        f.write("written in place")
    entries = art.add_reference(f"file://{art_sdk / 'ref.txt'}")
    assert [e.path for e in entries] == ["ref.txt"] and entries[0].ref.startswith("file://")
    assert entries[0].digest == b64md5(b"referenced")
    with trackd.init(project=proj) as run:
        run.log_artifact(art).wait()
    back = Api().artifact(f"{proj}/refs:v0")
    assert back.manifest.entries["ref.txt"].ref == f"file://{art_sdk / 'ref.txt'}"
    root = back.download(str(art_sdk / "dl"))
    assert read_tree(root) == {"notes.txt": b"written in place", "ref.txt": b"referenced"}
    with pytest.warns(UserWarning, match="skipped verification of 1 refs"):
        back.verify(root)
    # An entry of another artifact, by its reference URL.
    other = Artifact("derived", "dataset")
    other.add_reference(back.get_entry("notes.txt"), name="copied.txt")
    with trackd.init(project=proj) as run:
        run.log_artifact(other).wait()
    got = Api().artifact(f"{proj}/derived:v0").download(str(art_sdk / "dl2"))
    assert read_tree(got) == {"copied.txt": b"written in place"}


def test_save_outside_a_run_makes_an_auto_run(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "f.txt").write_bytes(b"f")
    art = Artifact("saved", "dataset")
    art.add_file(str(art_sdk / "f.txt"))
    art.save(project=proj)
    assert art.version == "v0"
    creator = art.logged_by()
    assert creator is not None and creator.job_type == "auto" and creator.state == "finished"


def test_save_inside_a_run_logs_through_it(art_sdk: Path) -> None:
    proj = project()
    (art_sdk / "f.txt").write_bytes(b"g")
    with trackd.init(project=proj) as run:
        art = Artifact("saved", "dataset")
        art.add_file(str(art_sdk / "f.txt"))
        art.save()
        art.wait()
    assert art.logged_by().id == run.id


def test_wait_before_logging_and_finalize(art_sdk: Path) -> None:
    art = Artifact("x", "dataset")
    with pytest.raises(ArtifactNotLoggedError, match="wait"):
        art.wait()
    art.finalize()
    with pytest.raises(ArtifactFinalizedError):
        art.add_reference("https://example.com/x")
    assert art.is_draft()


def test_link_unlink_and_linked_properties(art_sdk: Path) -> None:
    proj = project()
    art = logged(art_sdk, proj)
    link = art.link("portfolio", aliases=["staging"])
    assert link is not None and link.is_link and link.project == proj
    assert link.name == "portfolio:v0" and sorted(link.aliases) == ["latest", "staging"]
    assert link.source_name == "ds:v0" and link.source_version == "v0"
    assert link.source_artifact.id == art.id and link.linked_artifacts == []
    assert [x.name for x in art.linked_artifacts] == ["portfolio:v0"]
    with pytest.raises(ValueError, match="is not a linked artifact"):
        art.unlink()
    link.unlink()
    assert art.linked_artifacts == []


def test_a_backslash_is_part_of_a_file_name_as_in_w_and_b(art_sdk: Path) -> None:
    files = {"a\\b.txt": b"one\n", "dir/c\\d": b"two\n"}
    write_tree(art_sdk / "src", files)
    art = Artifact("slashes", "dataset")
    art.add_dir(str(art_sdk / "src"))
    assert sorted(art.manifest.entries) == ["a\\b.txt", "dir/c\\d"]
    with trackd.init(project=project()) as run:
        run.log_artifact(art)
        art.wait()
    got = Api().artifact(f"{art.entity}/{art.project}/slashes:v0")
    assert got.digest == wandb_digest(files)
    root = got.download(str(art_sdk / "out"))
    assert read_tree(Path(root)) == files
