"""Section 1.1 Artifact, 1.2 ArtifactTTL and 1.3 Error."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check
from trackd.errors import ArtifactFinalizedError, ArtifactNotLoggedError

A = "Artifact"


def _draft(ctx, name="conf-draft", kind="dataset"):  # type: ignore[no-untyped-def]
    return trackd.Artifact(name, kind)


def _log(ctx, art, **kw):  # type: ignore[no-untyped-def]
    """Log ``art`` from a run of its own; the version read back through Api()."""
    with ctx.init() as run:
        logged = run.log_artifact(art, **kw).wait()
    return trackd.Api().artifact(f"{ctx.project}/{logged.source_name}")


# -- class and constructor ---------------------------------------------------------------------


@check("Artifact", "Artifact.__init__", "Artifact.__init__.name", "Artifact.__init__.type",
       "Artifact.__init__.description", "Artifact.__init__.metadata")
def _(ctx):  # type: ignore[no-untyped-def]
    art = trackd.Artifact("conf-init", "model", description="d", metadata={"a": 1})
    assert (art.name, art.type, art.description, art.metadata) == ("conf-init", "model", "d",
                                                                   {"a": 1})
    ctx.write("w.bin", "weights")
    art.add_file("w.bin")
    got = _log(ctx, art)
    assert (got.type, got.description, got.metadata) == ("model", "d", {"a": 1})
    # Names: letters, digits, _ - . only; reserved types refused.
    with pytest.raises(ValueError):
        trackd.Artifact("bad/name", "dataset")
    with pytest.raises(ValueError):
        trackd.Artifact("x", "wandb-history")
    # No more than 100 metadata keys.
    with pytest.raises(ValueError):
        trackd.Artifact("x", "dataset", metadata={str(i): i for i in range(101)})


@check("Artifact.__init__.incremental", "Artifact.incremental")
def _(ctx):  # type: ignore[no-untyped-def]
    art = trackd.Artifact("conf-inc", "dataset", incremental=True)
    assert art.incremental is True
    assert trackd.Artifact("conf-inc2", "dataset").incremental is False


@check("Artifact.__init__.use_as", "Artifact.use_as")
def _(ctx):  # type: ignore[no-untyped-def]
    art = trackd.Artifact("conf-useas", "dataset", use_as="x")
    art.use_as  # noqa: B018 - deprecated: readable, its value is not documented


@check("Artifact.__init__.is_link", "Artifact.is_link", "Artifact.linked_artifacts",
       "Artifact.source_artifact", "Artifact.link", "Artifact.link.target_path",
       "Artifact.link.aliases", "Artifact.unlink", "Artifact.collection",
       "Artifact.source_collection")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-link")
    art.add_file(ctx.write("l.txt", "l"))
    src = _log(ctx, art)
    assert src.is_link is False and src.source_artifact.id == src.id
    assert src.collection.name == "conf-link" and src.source_collection.name == "conf-link"
    link = src.link("conf-portfolio", aliases=["prod"])
    assert link is not None and link.is_link is True
    assert link.collection.name == "conf-portfolio"
    assert link.source_collection.name == "conf-link"
    assert link.source_artifact.id == src.id and link.linked_artifacts == []
    assert "prod" in link.aliases
    again = trackd.Api().artifact(f"{ctx.project}/conf-link:v0")
    assert [a.name.split(":")[0] for a in again.linked_artifacts] == ["conf-portfolio"]
    link.unlink()
    assert trackd.Api().artifact(f"{ctx.project}/conf-link:v0").linked_artifacts == []
    with pytest.raises(ValueError):
        again.unlink()  # not a link
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx, "conf-unlogged").unlink()


# -- properties of a logged version ------------------------------------------------------------


@check("Artifact.aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert set(got.aliases) >= {"latest", "best"}
    art = _draft(ctx, "conf-alias")
    art.add_file(ctx.write("x.txt"))
    logged = _log(ctx, art)
    logged.aliases.append("gold")
    logged.save()
    assert "gold" in trackd.Api().artifact(f"{ctx.project}/conf-alias:v0").aliases
    assert trackd.Api().artifact(f"{ctx.project}/conf-alias:gold").version == "v0"


@check("Artifact.commit_hash", "Artifact.digest", "Artifact.id")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.commit_hash and got.id and got.digest
    # Same content as the latest version: log_artifact is a no-op (same version, same digest).
    same = _draft(ctx, "conf-data")
    same.add_file(ctx.write("a.txt", "alpha"))
    same.add_file(ctx.write("d/b.txt", "beta"), name="d/b.txt")
    same.add_file(ctx.write("d/c.txt", "gamma"), name="d/c.txt")
    assert same.digest == got.digest
    again = _log(ctx, same)
    assert again.version == "v0" and again.id == got.id
    with pytest.raises(ArtifactNotLoggedError):
        _ = _draft(ctx).commit_hash


@check("Artifact.created_at", "Artifact.updated_at")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    for ts in (got.created_at, got.updated_at):
        dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    assert got.updated_at >= got.created_at


@check("Artifact.description", "Artifact.metadata", "Artifact.tags")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.description == "desc" and got.metadata == {"k": 1} and got.tags == ["t1"]
    art = _draft(ctx, "conf-edit")
    art.add_file(ctx.write("e.txt"))
    logged = _log(ctx, art)
    logged.description, logged.metadata, logged.tags = "new", {"z": 2}, ["t2"]
    logged.save()
    back = trackd.Api().artifact(f"{ctx.project}/conf-edit:v0")
    assert (back.description, back.metadata, back.tags) == ("new", {"z": 2}, ["t2"])


@check("Artifact.distributed_id")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx)
    art.distributed_id = "job-7"
    assert art.distributed_id == "job-7"


@check("Artifact.entity", "Artifact.project", "Artifact.name", "Artifact.qualified_name",
       "Artifact.version", "Artifact.source_entity", "Artifact.source_project",
       "Artifact.source_name", "Artifact.source_qualified_name", "Artifact.source_version",
       "Artifact.type", "Artifact.state")
def _(ctx):  # type: ignore[no-untyped-def]
    draft = _draft(ctx, "conf-names")
    assert draft.name == "conf-names" and draft.source_name == "conf-names"
    assert draft.state == "PENDING" and draft.type == "dataset"
    got = ctx.artifact()
    run = trackd.Api().run(ctx.logged()["run"])
    assert got.entity == run.entity == got.source_entity
    assert got.project == ctx.project == got.source_project
    assert got.name == "conf-data:v0" == got.source_name
    assert got.qualified_name == f"{got.entity}/{ctx.project}/conf-data:v0"
    assert got.source_qualified_name == got.qualified_name
    assert got.version == "v0" == got.source_version and got.state == "COMMITTED"


@check("Artifact.file_count", "Artifact.size", "Artifact.manifest")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.file_count == 3
    assert got.size == len("alpha") + len("beta") + len("gamma")
    assert sorted(got.manifest.entries) == ["a.txt", "d/b.txt", "d/c.txt"]
    # References count as files.
    art = _draft(ctx, "conf-ref-count")
    art.add_file(ctx.write("one.txt"))
    art.add_reference("myscheme://bucket/key")
    assert _log(ctx, art).file_count == 2


@check("Artifact.history_step")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.history_step == 0  # the producer logged step 0 before logging the artifact


@check("Artifact.ttl")
def _(ctx):  # type: ignore[no-untyped-def]
    from trackd import ArtifactTTL

    with pytest.raises(ArtifactNotLoggedError):
        _ = _draft(ctx).ttl
    art = _draft(ctx, "conf-ttl")
    art.add_file(ctx.write("t.txt"))
    art.ttl = dt.timedelta(days=3)
    logged = _log(ctx, art)
    assert logged.ttl == dt.timedelta(days=3)
    logged.ttl = None
    logged.save()
    assert trackd.Api().artifact(f"{ctx.project}/conf-ttl:v0").ttl is None
    logged.ttl = ArtifactTTL.INHERIT
    logged.save()


@check("Artifact.url")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert isinstance(got.url, str) and re.match(r"https?://", got.url)


# -- adding ------------------------------------------------------------------------------------


@check("Artifact.add_file", "Artifact.add_file.local_path", "Artifact.add_file.name",
       "Artifact.add_file.is_tmp", "Artifact.add_file.overwrite", "Artifact.add_file.policy",
       "Artifact.add_file.skip_cache")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-addfile")
    path = ctx.write("f.txt", "one")
    entry = art.add_file(path)
    assert entry.path == "f.txt"
    assert art.add_file(path, name="sub/g.txt").path == "sub/g.txt"
    tmp = art.add_file(path, name="t.txt", is_tmp=True)
    assert tmp.path != "t.txt" and tmp.path.endswith(".txt")
    with pytest.raises(ValueError):
        art.add_file(ctx.write("other.txt", "two"), name="f.txt")  # taken, other content
    art.add_file(ctx.write("other.txt", "two"), name="f.txt", overwrite=True)
    with pytest.raises(ValueError):
        art.add_file(path, name="p.txt", policy="sometimes")
    art.add_file(path, name="imm.txt", policy="immutable", skip_cache=True)
    got = _log(ctx, art)
    root = got.download(root=str(ctx.tmp / "dl"))
    assert Path(root, "f.txt").read_text() == "two" and Path(root, "imm.txt").read_text() == "one"
    with pytest.raises(ArtifactFinalizedError):
        got.add_file(path, name="late.txt")


@check("Artifact.add_dir", "Artifact.add_dir.local_path", "Artifact.add_dir.name",
       "Artifact.add_dir.merge", "Artifact.add_dir.policy", "Artifact.add_dir.skip_cache")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("dir/a.txt", "a")
    ctx.write("dir/sub/b.txt", "b")
    art = _draft(ctx, "conf-adddir")
    art.add_dir(str(ctx.tmp / "dir"))
    assert sorted(art.manifest.entries) == ["a.txt", "sub/b.txt"]
    art.add_dir(str(ctx.tmp / "dir"), name="pre", policy="immutable", skip_cache=True)
    assert "pre/sub/b.txt" in art.manifest.entries
    ctx.write("dir/a.txt", "changed")
    with pytest.raises(ValueError):
        art.add_dir(str(ctx.tmp / "dir"))
    art.add_dir(str(ctx.tmp / "dir"), merge=True)
    with pytest.raises(ValueError):
        art.add_dir(str(ctx.tmp / "dir"), policy="sometimes")
    got = _log(ctx, art)
    assert Path(got.download(root=str(ctx.tmp / "dl")), "a.txt").read_text() == "changed"


@check("Artifact.add_reference", "Artifact.add_reference.uri", "Artifact.add_reference.name",
       "Artifact.add_reference.max_objects")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("refs/one.txt", "1")
    ctx.write("refs/two.txt", "22")
    art = _draft(ctx, "conf-refs")
    entries = art.add_reference(f"file://{ctx.tmp / 'refs'}", name="r")
    assert sorted(e.path for e in entries) == ["r/one.txt", "r/two.txt"]
    assert sorted(e.size for e in entries) == [1, 2]
    with pytest.raises((ValueError, trackd.Error)):
        art.add_reference(f"file://{ctx.tmp / 'refs'}", name="capped", max_objects=1)
    other = art.add_reference("myscheme://bucket/key", name="other")
    assert other[0].size is None and other[0].ref == "myscheme://bucket/key"
    got = _log(ctx, art)
    assert sorted(got.manifest.entries) == ["other", "r/one.txt", "r/two.txt"]
    # An entry of another artifact.
    entry = ctx.artifact().get_entry("a.txt")
    art2 = _draft(ctx, "conf-refs2")
    art2.add_reference(entry, name="copied.txt")
    got2 = _log(ctx, art2)
    root = got2.download(root=str(ctx.tmp / "dl2"))
    assert Path(root, "copied.txt").read_text() == "alpha"


@check("Artifact.new_file", "Artifact.new_file.name", "Artifact.new_file.mode",
       "Artifact.new_file.encoding")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-newfile")
    with art.new_file("n/notes.txt", encoding="utf-8") as f:
        f.write("héllo")
    with pytest.raises(ValueError), art.new_file("n/notes.txt"):
        pass
    with art.new_file("n/notes.txt", mode="w") as f:
        f.write("again")
    got = _log(ctx, art)
    assert Path(got.download(root=str(ctx.tmp / "dl")), "n/notes.txt").read_text() == "again"


@check("Artifact.remove", "Artifact.remove.item")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-remove")
    art.add_file(ctx.write("r/a.txt"), name="r/a.txt")
    art.add_file(ctx.write("r/b.txt"), name="r/b.txt")
    e = art.add_file(ctx.write("c.txt"))
    art.remove(e)
    art.remove("r")
    assert art.manifest.entries == {}
    with pytest.raises(FileNotFoundError):
        art.remove("nothing")
    with pytest.raises(ArtifactFinalizedError):
        ctx.artifact().remove("a.txt")


# -- reading -----------------------------------------------------------------------------------


@check("Artifact.download", "Artifact.download.root", "Artifact.download.path_prefix",
       "Artifact.download.skip_cache", "Artifact.download.allow_missing_references")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    root = got.download(root=str(ctx.tmp / "all"))
    assert root == str(ctx.tmp / "all")
    assert Path(root, "d", "c.txt").read_text() == "gamma"
    some = got.download(root=str(ctx.tmp / "some"), path_prefix="d/", skip_cache=True)
    assert sorted(os.listdir(Path(some, "d"))) == ["b.txt", "c.txt"]
    assert not Path(some, "a.txt").exists()
    # Existing files in root are not modified.
    Path(ctx.tmp / "keep").mkdir()
    Path(ctx.tmp / "keep" / "mine.txt").write_text("mine")
    got.download(root=str(ctx.tmp / "keep"))
    assert Path(ctx.tmp / "keep" / "mine.txt").read_text() == "mine"
    # A reference that is gone: an error, unless allow_missing_references.
    gone = ctx.write("gone/x.txt", "x")
    art = _draft(ctx, "conf-missing-ref")
    art.add_reference(f"file://{gone}")
    logged = _log(ctx, art)
    os.remove(gone)
    with pytest.raises(Exception):  # noqa: B017 - any error naming the reference
        logged.download(root=str(ctx.tmp / "m1"))
    logged.download(root=str(ctx.tmp / "m2"), allow_missing_references=True)
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx).download()


@check("Artifact.checkout", "Artifact.checkout.root")
def _(ctx):  # type: ignore[no-untyped-def]
    target = ctx.tmp / "co"
    target.mkdir()
    (target / "stray.txt").write_text("s")
    path = ctx.artifact().checkout(root=str(target))
    assert sorted(p.relative_to(target).as_posix() for p in Path(path).rglob("*.txt")) == [
        "a.txt", "d/b.txt", "d/c.txt"]


@check("Artifact.verify", "Artifact.verify.root")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    root = got.download(root=str(ctx.tmp / "v"))
    got.verify(root=root)
    Path(root, "a.txt").write_text("tampered")
    with pytest.raises(ValueError):
        got.verify(root=root)


@check("Artifact.file", "Artifact.file.root")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-single")
    art.add_file(ctx.write("only.txt", "only"))
    got = _log(ctx, art)
    path = got.file(root=str(ctx.tmp / "one"))
    assert Path(path).read_text() == "only" and path == str(ctx.tmp / "one" / "only.txt")
    with pytest.raises(ValueError):
        ctx.artifact().file(root=str(ctx.tmp / "many"))


@check("Artifact.files", "Artifact.files.names", "Artifact.files.per_page")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert sorted(f.name for f in got.files(per_page=1)) == ["a.txt", "d/b.txt", "d/c.txt"]
    assert [f.name for f in got.files(names=["d/b.txt"])] == ["d/b.txt"]
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx).files()


@check("Artifact.get_entry", "Artifact.get_entry.name", "Artifact.get_path",
       "Artifact.get_path.name")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    entry = got.get_entry("d/b.txt")
    assert entry.path == "d/b.txt" and entry.size == 4
    assert Path(entry.download(root=str(ctx.tmp / "e"))).read_text() == "beta"
    with pytest.raises(KeyError):
        got.get_entry("nope")
    with pytest.warns(DeprecationWarning):
        assert got.get_path("a.txt").path == "a.txt"


@check("Artifact.get_added_local_path_name", "Artifact.get_added_local_path_name.local_path")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx)
    path = ctx.write("local.txt")
    art.add_file(path, name="in/art.txt")
    assert art.get_added_local_path_name(path) == "in/art.txt"
    assert art.get_added_local_path_name(str(ctx.tmp / "never.txt")) is None


# -- lifecycle ---------------------------------------------------------------------------------


@check("Artifact.finalize", "Artifact.is_draft")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx)
    assert art.is_draft() is True
    art.finalize()
    with pytest.raises(ArtifactFinalizedError):
        art.add_file(ctx.write("late.txt"))
    assert ctx.artifact().is_draft() is False


@check("Artifact.save", "Artifact.save.project", "Artifact.save.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-saved")
    art.add_file(ctx.write("s.txt"))
    art.save(project="conf-save-project", settings=trackd.Settings(quiet=True))
    got = trackd.Api().artifact("conf-save-project/conf-saved:latest")
    run = got.logged_by()
    assert run is not None and run.job_type == "auto" and run.project == "conf-save-project"


@check("Artifact.wait", "Artifact.wait.timeout")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-wait")
    art.add_file(ctx.write("w.txt"))
    with ctx.init() as run:
        logged = run.log_artifact(art)
        assert logged.wait(timeout=60) is logged
        assert logged.is_draft() is False and logged.version == "v0"
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx).wait()


@check("Artifact.new_draft")
def _(ctx):  # type: ignore[no-untyped-def]
    draft = ctx.artifact().new_draft()
    assert draft.is_draft() and sorted(draft.manifest.entries) == ["a.txt", "d/b.txt", "d/c.txt"]
    draft.name  # noqa: B018
    draft.add_file(ctx.write("extra.txt"), name="extra.txt")
    draft.remove("a.txt")
    art = _draft(ctx, "conf-nd")
    art.add_file(ctx.write("x.txt", "x"))
    base = _log(ctx, art)
    nd = base.new_draft()
    nd.add_file(ctx.write("y.txt", "y"))
    v1 = _log(ctx, nd)
    assert v1.version == "v1" and sorted(v1.manifest.entries) == ["x.txt", "y.txt"]
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx).new_draft()


@check("Artifact.delete", "Artifact.delete.delete_aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    art = _draft(ctx, "conf-delete")
    art.add_file(ctx.write("del.txt"))
    got = _log(ctx, art)
    with pytest.raises(trackd.errors.ArtifactHasAliasesError):
        got.delete()
    got.delete(delete_aliases=True)
    with pytest.raises(trackd.errors.ArtifactNotFoundError):
        trackd.Api().artifact(f"{ctx.project}/conf-delete:v0")


@check("Artifact.logged_by", "Artifact.used_by")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.logged_by().id == ctx.logged()["run"].split("/")[-1]
    with ctx.init(job_type="consumer") as run:
        run.use_artifact("conf-data:v0")
        rid = run.id
    assert rid in [r.id for r in trackd.Api().artifact(f"{ctx.project}/conf-data:v0").used_by()]
    with pytest.raises(ArtifactNotLoggedError):
        _draft(ctx).logged_by()


@check("Artifact.json_encode")
def _(ctx):  # type: ignore[no-untyped-def]
    enc = ctx.artifact().json_encode()
    assert isinstance(enc, dict) and all(isinstance(k, str) for k in enc)
    assert enc["id"] == ctx.artifact().id


# -- ArtifactTTL, Error ------------------------------------------------------------------------


@check("ArtifactTTL")
def _(ctx):  # type: ignore[no-untyped-def]
    import enum

    assert issubclass(trackd.ArtifactTTL, enum.Enum)
    assert trackd.ArtifactTTL.INHERIT in list(trackd.ArtifactTTL)


@check("Error", "Error.__init__", "Error.__init__.message", "Error.__init__.context")
def _(ctx):  # type: ignore[no-untyped-def]
    err = trackd.Error("boom", context={"k": "v"})
    assert str(err) == "boom" and err.message == "boom" and err.context == {"k": "v"}
    assert trackd.Error("x").context is None
    assert issubclass(trackd.errors.UsageError, trackd.Error)
    assert issubclass(trackd.CommError, trackd.Error)
    with pytest.raises(trackd.Error):
        trackd.log({"a": 1})  # before init()
