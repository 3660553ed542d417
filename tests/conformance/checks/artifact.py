"""Section 1.1 Artifact (the class, a logged version's properties, its lifecycle), 1.2 ArtifactTTL
and 1.3 Error. Adding entries and reading them back are in ``artifact_files.py``."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import trackd
from tests.conformance.registry import check
from trackd.errors import ArtifactFinalizedError, ArtifactNotLoggedError

A = "Artifact"


def new_draft(ctx, name="conf-draft", kind="dataset"):  # type: ignore[no-untyped-def]
    return trackd.Artifact(name, kind)


def log_alone(ctx, art, **kw):  # type: ignore[no-untyped-def]
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
    got = log_alone(ctx, art)
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
    art = new_draft(ctx, "conf-link")
    art.add_file(ctx.write("l.txt", "l"))
    src = log_alone(ctx, art)
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
        new_draft(ctx, "conf-unlogged").unlink()


# -- properties of a logged version ------------------------------------------------------------


@check("Artifact.aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert set(got.aliases) >= {"latest", "best"}
    art = new_draft(ctx, "conf-alias")
    art.add_file(ctx.write("x.txt"))
    logged = log_alone(ctx, art)
    logged.aliases.append("gold")
    logged.save()
    assert "gold" in trackd.Api().artifact(f"{ctx.project}/conf-alias:v0").aliases
    assert trackd.Api().artifact(f"{ctx.project}/conf-alias:gold").version == "v0"


@check("Artifact.commit_hash", "Artifact.digest", "Artifact.id")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.commit_hash and got.id and got.digest
    # Same content as the latest version: log_artifact is a no-op (same version, same digest).
    same = new_draft(ctx, "conf-data")
    same.add_file(ctx.write("a.txt", "alpha"))
    same.add_file(ctx.write("d/b.txt", "beta"), name="d/b.txt")
    same.add_file(ctx.write("d/c.txt", "gamma"), name="d/c.txt")
    assert same.digest == got.digest
    again = log_alone(ctx, same)
    assert again.version == "v0" and again.id == got.id
    with pytest.raises(ArtifactNotLoggedError):
        _ = new_draft(ctx).commit_hash


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
    art = new_draft(ctx, "conf-edit")
    art.add_file(ctx.write("e.txt"))
    logged = log_alone(ctx, art)
    logged.description, logged.metadata, logged.tags = "new", {"z": 2}, ["t2"]
    logged.save()
    back = trackd.Api().artifact(f"{ctx.project}/conf-edit:v0")
    assert (back.description, back.metadata, back.tags) == ("new", {"z": 2}, ["t2"])


@check("Artifact.distributed_id")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx)
    art.distributed_id = "job-7"
    assert art.distributed_id == "job-7"


@check("Artifact.entity", "Artifact.project", "Artifact.name", "Artifact.qualified_name",
       "Artifact.version", "Artifact.source_entity", "Artifact.source_project",
       "Artifact.source_name", "Artifact.source_qualified_name", "Artifact.source_version",
       "Artifact.type", "Artifact.state")
def _(ctx):  # type: ignore[no-untyped-def]
    draft = new_draft(ctx, "conf-names")
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
    art = new_draft(ctx, "conf-ref-count")
    art.add_file(ctx.write("one.txt"))
    art.add_reference("myscheme://bucket/key")
    assert log_alone(ctx, art).file_count == 2


@check("Artifact.history_step")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    assert got.history_step == 0  # the producer logged step 0 before logging the artifact
    # The seed's example: the producing run's history at that step.
    run = got.logged_by()
    history = run.sample_history(min_step=got.history_step, max_step=got.history_step + 1,
                                 keys=["m"])
    rows = list(history.to_dict("records") if hasattr(history, "to_dict") else history)
    assert [r["m"] for r in rows] == [1]


@check("Artifact.ttl")
def _(ctx):  # type: ignore[no-untyped-def]
    from trackd import ArtifactTTL

    with pytest.raises(ArtifactNotLoggedError):
        _ = new_draft(ctx).ttl
    art = new_draft(ctx, "conf-ttl")
    art.add_file(ctx.write("t.txt"))
    art.ttl = dt.timedelta(days=3)
    logged = log_alone(ctx, art)
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


# -- lifecycle ---------------------------------------------------------------------------------


@check("Artifact.finalize", "Artifact.is_draft")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx)
    assert art.is_draft() is True
    art.finalize()
    with pytest.raises(ArtifactFinalizedError):
        art.add_file(ctx.write("late.txt"))
    assert ctx.artifact().is_draft() is False


@check("Artifact.save", "Artifact.save.project", "Artifact.save.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-saved")
    art.add_file(ctx.write("s.txt"))
    art.save(project="conf-save-project", settings=trackd.Settings(quiet=True))
    got = trackd.Api().artifact("conf-save-project/conf-saved:latest")
    run = got.logged_by()
    assert run is not None and run.job_type == "auto" and run.project == "conf-save-project"


@check("Artifact.wait", "Artifact.wait.timeout")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-wait")
    art.add_file(ctx.write("w.txt"))
    with ctx.init() as run:
        logged = run.log_artifact(art)
        assert logged.wait(timeout=60) is logged
        assert logged.is_draft() is False and logged.version == "v0"
    with pytest.raises(ArtifactNotLoggedError):
        new_draft(ctx).wait()


@check("Artifact.new_draft")
def _(ctx):  # type: ignore[no-untyped-def]
    draft = ctx.artifact().new_draft()
    assert draft.is_draft() and sorted(draft.manifest.entries) == ["a.txt", "d/b.txt", "d/c.txt"]
    draft.name  # noqa: B018
    draft.add_file(ctx.write("extra.txt"), name="extra.txt")
    draft.remove("a.txt")
    art = new_draft(ctx, "conf-nd")
    art.add_file(ctx.write("x.txt", "x"))
    base = log_alone(ctx, art)
    nd = base.new_draft()
    nd.add_file(ctx.write("y.txt", "y"))
    v1 = log_alone(ctx, nd)
    assert v1.version == "v1" and sorted(v1.manifest.entries) == ["x.txt", "y.txt"]
    with pytest.raises(ArtifactNotLoggedError):
        new_draft(ctx).new_draft()


@check("Artifact.delete", "Artifact.delete.delete_aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    art = new_draft(ctx, "conf-delete")
    art.add_file(ctx.write("del.txt"))
    got = log_alone(ctx, art)
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
        new_draft(ctx).logged_by()


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
