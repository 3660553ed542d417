"""Section 1.4 Run: what ``init()`` returns, read back through ``Api()``."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check
from trackd._settings import FrozenSettingsError


@check("Run", "Run.__init__", "Run.__init__.settings", "Run.__init__.config",
       "Run.__init__.sweep_config", "Run.__init__.launch_config")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"lr": 0.1}) as run:
        assert isinstance(run, trackd.Run)
        run.log({"acc": 1})
    assert ctx.stored(run).config == {"lr": 0.1}
    # The constructor holds settings and config; it starts nothing.
    made = trackd.Run(trackd.Settings(project="p"), config={"a": 1}, sweep_config={},
                      launch_config={})
    assert made.project == "p" and made.config["a"] == 1 and trackd.run is None


@check("Run.config")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"a": 1}) as run:
        run.config.update({"b": 2})
        run.config.c = 3
        with pytest.raises(trackd.errors.ConfigError):
            run.config.a = 5
    assert ctx.stored(run).config == {"a": 1, "b": 2, "c": 3}


@check("Run.dir")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("kept.txt", "kept")
    with ctx.init() as run:
        assert Path(run.dir).is_dir() and Path(run.dir).name == "files"
        run.save("kept.txt", policy="now")
        assert Path(run.dir, "kept.txt").read_text() == "kept"  # saved files live in run.dir
    assert "kept.txt" in [f.name for f in ctx.stored(run).files()]


@check("Run.disabled", "Run.offline")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        assert run.disabled is False and run.offline is False
    with ctx.init(mode="disabled") as run:
        assert run.disabled is True and run.offline is False
        run.log({"a": 1})
    with ctx.init(mode="offline") as run:
        assert run.offline is True and run.disabled is False
        assert run.url is None and run.project_url is None


@check("Run.entity", "Run.project", "Run.id", "Run.path", "Run.project_name")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(entity="conf-entity", project="conf-proj", id="confid01") as run:
        assert (run.entity, run.project, run.id) == ("conf-entity", "conf-proj", "confid01")
        assert run.path == "conf-entity/conf-proj/confid01"
        with pytest.warns(DeprecationWarning):
            assert run.project_name() == "conf-proj"
    stored = trackd.Api().run("conf-entity/conf-proj/confid01")
    assert (stored.entity, stored.project, stored.id) == ("conf-entity", "conf-proj", "confid01")


@check("Run.group", "Run.job_type", "Run.name", "Run.notes", "Run.tags")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(group="g", job_type="train", name="n", notes="$x+3$", tags=["a"]) as run:
        assert (run.group, run.job_type, run.name, run.notes) == ("g", "train", "n", "$x+3$")
        assert tuple(run.tags) == ("a",)
        run.name, run.notes = "n2", "multi\nline"
        run.tags += ("b",)
    s = ctx.stored(run)
    assert (s.group, s.job_type, s.name, s.notes, s.tags) == ("g", "train", "n2", "multi\nline",
                                                               ["a", "b"])


@check("Run.resumed", "Run.starting_step", "Run.step")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        assert run.resumed is False and run.starting_step == 0 and run.step == 0
        run.log({"a": 1})
        run.log({"a": 2})
        assert run.step == 2
        rid = run.id
    with ctx.init(id=rid, resume="must") as again:
        assert again.resumed is True and again.starting_step == 2 and again.step == 2
        again.log({"a": 3})
    assert [r["a"] for r in ctx.stored(again).scan_history()] == [1, 2, 3]


@check("Run.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(run_notes="from-settings")) as run:
        s = run.settings
        assert isinstance(s, trackd.Settings) and s.run_notes == "from-settings"
        assert s.project == ctx.project and s.run_id == run.id
        with pytest.raises(FrozenSettingsError):  # a frozen copy refuses assignment
            s.run_notes = "changed"
        with pytest.raises(FrozenSettingsError):
            run.settings.project = "other"
        assert run.settings.run_notes == "from-settings" and run.project == ctx.project


@check("Run.start_time")
def _(ctx):  # type: ignore[no-untyped-def]
    before = time.time()
    with ctx.init() as run:
        assert before - 1 <= run.start_time <= time.time()


@check("Run.sweep_id", "Run.sweep_url", "Run.get_sweep_url")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        assert run.sweep_id is None and run.sweep_url is None
        with pytest.warns(DeprecationWarning):
            assert run.get_sweep_url() is None
    with ctx.init(settings=trackd.Settings(sweep_id="sw1")) as run:
        assert run.sweep_id == "sw1" and run.sweep_url and "sw1" in run.sweep_url
    assert ctx.stored(run).sweep_id == "sw1"


@check("Run.url", "Run.project_url", "Run.get_url", "Run.get_project_url")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        assert run.url.startswith("http") and run.url.endswith(run.id)
        assert run.project_url.startswith("http") and ctx.project in run.project_url
        with pytest.warns(DeprecationWarning):
            assert run.get_url() == run.url
        with pytest.warns(DeprecationWarning):
            assert run.get_project_url() == run.project_url
        url = run.url
    assert ctx.stored(run).url == url  # the same page, read back through Api()


@check("Run.config_static")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"lr": 0.1}) as run:
        static = run.config_static
        assert static.lr == 0.1 and static["lr"] == 0.1
        with pytest.raises(AttributeError):  # read-only
            static.lr = 0.2
        with pytest.raises((AttributeError, TypeError)):
            static["lr"] = 0.2
        # Static: the config as it was read, not the live one.
        run.config.update({"lr": 0.5}, allow_val_change=True)
        assert static.lr == 0.1 and run.config_static.lr == 0.5
    assert ctx.stored(run).config == {"lr": 0.5}


@check("Run.alert", "Run.alert.title", "Run.alert.text", "Run.alert.level",
       "Run.alert.wait_duration")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        run.alert(title="loss", text="too high", level=trackd.AlertLevel.WARN,
                  wait_duration=dt.timedelta(seconds=1))
        run.alert("other", "body", level="ERROR", wait_duration=5)
        with pytest.raises(ValueError):
            run.alert("t", "x", level="LOUD")
    alerts = trackd.Api().alerts(run.path)
    got = sorted((a["title"], a["text"], a["level"]) for a in alerts)
    assert got == [("loss", "too high", "WARN"), ("other", "body", "ERROR")]


@check("Run.define_metric", "Run.define_metric.name", "Run.define_metric.step_metric",
       "Run.define_metric.summary", "Run.define_metric.goal", "Run.define_metric.step_sync",
       "Run.define_metric.hidden", "Run.define_metric.overwrite")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        run.define_metric("epoch", hidden=True)
        m = run.define_metric("val/*", step_metric="epoch", summary="min", goal="minimize")
        assert isinstance(m, trackd.Metric)
        run.define_metric("acc", summary="max")
        run.define_metric("acc", goal="maximize", overwrite=False)
        run.log({"epoch": 1, "val/loss": 3.0, "acc": 0.5})
        run.log({"epoch": 2, "val/loss": 1.0, "acc": 0.9})
        run.log({"val/loss": 2.0, "acc": 0.7})  # step_sync: epoch 2 inserted
    s = ctx.stored(run)
    assert s.summary["val/loss"]["min"] == 1.0 and s.summary["acc"]["max"] == 0.9
    rows = list(s.scan_history(keys=["val/loss", "epoch"]))
    assert [r["epoch"] for r in rows] == [1, 2, 2]
    with ctx.init() as run:
        with pytest.raises((ValueError, trackd.Error)):
            run.define_metric("x", summary="median")
        with pytest.raises((ValueError, trackd.Error)):
            run.define_metric("x", goal="up")


@check("Run.display", "Run.display.height", "Run.display.hidden", "Run.to_html",
       "Run.to_html.height", "Run.to_html.hidden")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        html = run.to_html(height=300)
        assert "<iframe" in html and "300px" in html and run.id in html
        hidden = run.to_html(hidden=True)
        assert "<details" in hidden and "<details" not in html
        assert run.display(height=200, hidden=False) is False  # not in a notebook


@check("Run.finish", "Run.finish.exit_code", "Run.finish.quiet", "Run.status")
def _(ctx):  # type: ignore[no-untyped-def]
    run = ctx.init()
    run.log({"a": 1})
    st = run.status()
    assert st.state == "running"
    run.finish()
    assert ctx.stored(run).state == "finished" and ctx.stored(run).exit_code == 0
    run.finish()  # idempotent
    with pytest.raises(trackd.errors.UsageError):
        run.log({"a": 2})
    failed = ctx.init()
    failed.finish(exit_code=2, quiet=True)
    s = ctx.stored(failed)
    assert s.state == "failed" and s.exit_code == 2


@check("Run.log", "Run.log.data", "Run.log.step", "Run.log.commit", "Run.log.sync")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        run.log({"train/loss": 0.5, "accuracy": 0.8})
        run.log({"train/loss": 0.4}, commit=False)
        run.log({"accuracy": 0.9})
        run.log({"x": 1}, step=5)
        run.log({"y": 2}, step=5)
        run.log({"z": 3}, sync=True)  # no step: joins step 5, then commits it
        run.log({"w": 4})
        with pytest.raises(TypeError):
            run.log(["not", "a", "dict"])
    rows = list(ctx.stored(run).scan_history())
    assert [(r["_step"], r.get("train/loss"), r.get("accuracy")) for r in rows[:2]] == [
        (0, 0.5, 0.8), (1, 0.4, 0.9)]
    assert (rows[2]["_step"], rows[2]["x"], rows[2]["y"], rows[2]["z"]) == (5, 1, 2, 3)
    assert (rows[3]["_step"], rows[3]["w"]) == (6, 4) and len(rows) == 4
    assert ctx.stored(run).summary["accuracy"] == 0.9


@check("Run.log_code", "Run.log_code.root", "Run.log_code.name", "Run.log_code.include_fn",
       "Run.log_code.exclude_fn")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("src/train.py", "print(1)")
    ctx.write("src/notes.md", "n")
    ctx.write("src/cache/skip.py", "s")
    ctx.write("src/wandb/inner.py", "w")
    with ctx.init() as run:
        art = run.log_code(root="src")
        assert art is not None
        art.wait()
        names = sorted(art.manifest.entries)
        assert "train.py" in names and "notes.md" not in names and "wandb/inner.py" not in names
        named = run.log_code(
            root=str(ctx.tmp / "src"), name="conf-code",
            include_fn=lambda path: path.endswith((".py", ".md")),
            exclude_fn=lambda path, root: path.replace(root, "").lstrip("/").startswith("cache/"))
        named.wait()
        assert sorted(named.manifest.entries) == ["notes.md", "train.py", "wandb/inner.py"]
    got = trackd.Api().artifact(f"{ctx.project}/conf-code:latest")
    assert got.type == "code"


@check("Run.log_artifact", "Run.log_artifact.artifact_or_path", "Run.log_artifact.name",
       "Run.log_artifact.type", "Run.log_artifact.aliases", "Run.log_artifact.tags")
def _(ctx):  # type: ignore[no-untyped-def]
    path = ctx.write("dir/model.bin", "m")
    with ctx.init() as run:
        run.log_artifact(path, name="conf-la", type="model", aliases=["prod"], tags=["t"]).wait()
        auto = run.log_artifact(str(ctx.tmp / "dir")).wait()
        rid = run.id
    got = trackd.Api().artifact(f"{ctx.project}/conf-la:prod")
    assert got.type == "model" and set(got.aliases) >= {"prod", "latest"} and got.tags == ["t"]
    assert auto.name.startswith(f"run-{rid}-") and auto.type == "unspecified"
    assert [a.name for a in ctx.api().run(f"{ctx.project}/{rid}").logged_artifacts()]


@check("Run.log_model", "Run.log_model.path", "Run.log_model.name", "Run.log_model.aliases",
       "Run.use_model", "Run.use_model.name")
def _(ctx):  # type: ignore[no-untyped-def]
    path = ctx.write("m/weights.bin", "w")
    with ctx.init() as run:
        assert run.log_model(path=str(ctx.tmp / "m"), name="conf-model", aliases=["prod"]) is None
        with pytest.raises(ValueError):
            run.log_model(path=path, name="my_entity/my_project/conf-model")
    got = trackd.Api().artifact(f"{ctx.project}/conf-model:prod")
    assert got.type == "model"
    with ctx.init() as run:
        where = Path(run.use_model(name="conf-model:latest"))
        assert (where if where.is_file() else where / "weights.bin").read_text() == "w"
        with pytest.raises((AssertionError, ValueError, trackd.errors.UsageError)):
            run.use_model(name="conf-data:v0")  # not a model


@check("Run.link_artifact", "Run.link_artifact.artifact", "Run.link_artifact.target_path",
       "Run.link_artifact.aliases", "Run.link_model", "Run.link_model.path",
       "Run.link_model.registered_model_name", "Run.link_model.name", "Run.link_model.aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("lm/w.bin", "w")
    with ctx.init() as run:
        linked = run.link_artifact(ctx.artifact(), "conf-linked", aliases=["gold"])
        assert linked is not None and linked.is_link and "gold" in linked.aliases
        reg = run.link_model(path=str(ctx.tmp / "lm"), registered_model_name="conf-reg",
                             name="conf-lm", aliases=["production"])
        assert reg is not None and "production" in reg.aliases
        with pytest.raises(AssertionError):
            run.link_model(path=str(ctx.tmp / "lm"),
                           registered_model_name="my_entity/my_project/conf-reg")
    got = trackd.Api().artifact("model-registry/conf-reg:production")
    assert got.source_name.startswith("conf-lm:")


@check("Run.mark_preempting")
def _(ctx):  # type: ignore[no-untyped-def]
    run = ctx.init()
    run.mark_preempting()
    assert ctx.stored(run).preempting is True
    run.finish()


@check("Run.restore", "Run.restore.name", "Run.restore.run_path", "Run.restore.replace",
       "Run.restore.root", "Run.save", "Run.save.glob_str", "Run.save.base_path",
       "Run.save.policy")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("these/are/myfiles/a.txt", "A")
    ctx.write("these/are/myfiles/b.txt", "B")
    ctx.write("now.txt", "N")
    with ctx.init() as run:
        saved = run.save("these/are/myfiles/*")
        assert len(saved) == 2
        run.save("these/are/myfiles/*", base_path="these", policy="end")
        run.save(str(ctx.tmp / "now.txt"), policy="now")
        with pytest.raises(ValueError):
            run.save("now.txt", policy="sometimes")
        path = run.path
    names = {f.name for f in ctx.stored(run).files()}
    # An absolute path without base_path keeps one directory level.
    assert {"these/are/myfiles/a.txt", "are/myfiles/b.txt", f"{ctx.tmp.name}/now.txt"} <= names
    with ctx.init() as other:
        f = other.restore(f"{ctx.tmp.name}/now.txt", run_path=path, root=str(ctx.tmp / "r"))
        assert f.read() == "N"
        f.close()
        name = f"{ctx.tmp.name}/now.txt"
        Path(ctx.tmp / "r" / name).write_text("local")
        assert other.restore(name, run_path=path, root=str(ctx.tmp / "r")).read() == "local"
        assert other.restore(name, run_path=path, root=str(ctx.tmp / "r"),
                             replace=True).read() == "N"
        assert other.restore("absent.txt", run_path=path, root=str(ctx.tmp / "r")) is None


@check("Run.upsert_artifact", "Run.upsert_artifact.artifact_or_path",
       "Run.upsert_artifact.name", "Run.upsert_artifact.type", "Run.upsert_artifact.aliases",
       "Run.upsert_artifact.distributed_id", "Run.finish_artifact",
       "Run.finish_artifact.artifact_or_path", "Run.finish_artifact.name",
       "Run.finish_artifact.type", "Run.finish_artifact.aliases",
       "Run.finish_artifact.distributed_id")
def _(ctx):  # type: ignore[no-untyped-def]
    a = ctx.write("part1/a.txt", "a")
    b = ctx.write("part2/b.txt", "b")
    with ctx.init(group="conf-dist") as r1, ctx.init(group="conf-dist") as r2:
        r1.upsert_artifact(a, name="conf-upsert", type="dataset", aliases=["shard"],
                           distributed_id="d1")
        r2.upsert_artifact(b, name="conf-upsert", type="dataset", distributed_id="d1")
        done = r1.finish_artifact(trackd.Artifact("conf-upsert", "dataset"), name="conf-upsert",
                                  type="dataset", aliases=["final"], distributed_id="d1")
        done.wait()
    got = trackd.Api().artifact(f"{ctx.project}/conf-upsert:final")
    assert sorted(got.manifest.entries) == ["a.txt", "b.txt"]
    with ctx.init(group="conf-group-default") as r:
        r.upsert_artifact(a, name="conf-upsert2", type="dataset")
        r.finish_artifact(b, name="conf-upsert2", type="dataset").wait()
    assert sorted(trackd.Api().artifact(f"{ctx.project}/conf-upsert2:latest").manifest.entries
                  ) == ["a.txt", "b.txt"]


@check("Run.use_artifact", "Run.use_artifact.artifact_or_name", "Run.use_artifact.type",
       "Run.use_artifact.aliases", "Run.use_artifact.use_as")
def _(ctx):  # type: ignore[no-untyped-def]
    got = ctx.artifact()
    draft = trackd.Artifact("conf-use-draft", "dataset")
    draft.add_file(ctx.write("u.txt"))
    with ctx.init() as run:
        # aliases apply to an artifact the call logs (a draft).
        run.use_artifact(draft, aliases=["used"])
        a = run.use_artifact(artifact_or_name="conf-data:v0", type="dataset")
        assert a.version == "v0"
        b = run.use_artifact(f"{got.entity}/{ctx.project}/conf-data:best")
        assert b.id == a.id
        run.use_artifact("conf-data:latest", use_as="ignored")
        with pytest.raises(ValueError, match="does not match type"):
            run.use_artifact("conf-data:v0", type="model")
        rid = run.id
    assert "used" in trackd.Api().artifact(f"{ctx.project}/conf-use-draft:v0").aliases
    assert rid in [r.id for r in trackd.Api().artifact(f"{ctx.project}/conf-data:v0").used_by()]
