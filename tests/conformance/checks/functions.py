"""Sections 2 (functions) and 3 (legacy functions): module-level ``trackd.<name>``, and what
each documented argument of ``init()`` does, read back through ``Api()``."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check
from tests.seed_examples import SEED_SETUP_EXAMPLE

# -- 2.3 finish, 2.9 teardown ------------------------------------------------------------------


@check("wandb.finish", "wandb.finish.exit_code", "wandb.finish.quiet")
def _(ctx):  # type: ignore[no-untyped-def]
    run = trackd.init(project=ctx.project)
    trackd.finish()
    assert trackd.run is None and ctx.stored(run).state == "finished"
    run = trackd.init(project=ctx.project)
    trackd.finish(exit_code=3, quiet=True)
    s = ctx.stored(run)
    assert (s.state, s.exit_code) == ("failed", 3)
    trackd.finish()  # no run: nothing to do


@check("wandb.teardown", "wandb.teardown.exit_code")
def _(ctx):  # type: ignore[no-untyped-def]
    a = trackd.init(project=ctx.project)
    b = trackd.init(project=ctx.project, reinit="create_new")
    trackd.teardown(exit_code=4)
    for run in (a, b):
        s = ctx.stored(run)
        assert (s.state, s.exit_code) == ("failed", 4)
    c = trackd.init(project=ctx.project)
    trackd.teardown()
    assert ctx.stored(c).state == "finished"


@check("wandb.teardown.exit_code", "Run.finish.exit_code")
def _(ctx):  # type: ignore[no-untyped-def]
    # A script's exit status is its run's: sys.exit(3) -> failed with 3; sys.exit(0) -> finished.
    prog = ("import sys, trackd\n"
            "run = trackd.init(project='conformance')\n"
            "print(run.path, flush=True)\n"
            "sys.exit({code})\n")
    for code, state in ((3, "failed"), (0, "finished")):
        p = subprocess.run([sys.executable, "-c", prog.format(code=code)], text=True,
                           capture_output=True, cwd=ctx.tmp, timeout=60)
        assert p.returncode == code, p.stderr
        s = trackd.Api().run(p.stdout.split()[-1])
        assert (s.state, s.exit_code) == (state, code)


# -- 2.7 setup ---------------------------------------------------------------------------------


@check("wandb.setup", "wandb.setup.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    trackd.setup(settings=trackd.Settings(project="conf-setup", run_group="sg"))
    with trackd.init() as run:
        assert run.project == "conf-setup" and run.group == "sg"
    with trackd.init(project="conf-setup-override") as run:  # init overrides setup
        assert run.project == "conf-setup-override"
    assert ctx.stored(run).group == "sg"
    trackd.teardown()
    trackd.setup(settings={"project": "conf-setup-dict"})
    with trackd.init() as run:
        assert run.project == "conf-setup-dict"


@check("wandb.setup.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    # The seed's example, verbatim: setup()'s settings reach the child processes' runs.
    before = {r.id for r in trackd.Api().runs("my_project")}
    script = ctx.write("setup_example.py", SEED_SETUP_EXAMPLE)
    subprocess.run([sys.executable, script], check=True, cwd=ctx.tmp, timeout=60)
    new = [r for r in trackd.Api().runs("my_project") if r.id not in before]
    assert sorted(r.config["learning_rate"] for r in new) == [0.001, 0.01]
    assert all(r.state == "finished" for r in new)


# -- 2.4 init ----------------------------------------------------------------------------------


@check("wandb.init")
def _(ctx):  # type: ignore[no-untyped-def]
    config = {"lr": 0.01, "batch_size": 32}
    with trackd.init(project=ctx.project, config=config) as run:
        run.config.update({"architecture": "resnet", "depth": 34})
        assert trackd.run is run
    assert ctx.stored(run).config == {"lr": 0.01, "batch_size": 32, "architecture": "resnet",
                                      "depth": 34}
    assert ctx.stored(run).state == "finished"
    for bad in ("a/b", "a#b", "a?b", "a%b", "a:b", "a\\b"):
        with pytest.raises(trackd.errors.UsageError):
            trackd.init(project=ctx.project, id=bad)


@check("wandb.init.entity", "wandb.init.project", "wandb.init.id", "wandb.init.name",
       "wandb.init.notes", "wandb.init.tags", "wandb.init.group", "wandb.init.job_type")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(entity="conf-ie", project="conf-ip", id="confiid1", name="nm", notes="nt",
                     tags=["x", "y"], group="gr", job_type="jt"):
        pass
    s = trackd.Api().run("conf-ie/conf-ip/confiid1")
    assert (s.name, s.notes, s.tags, s.group, s.job_type) == ("nm", "nt", ["x", "y"], "gr", "jt")
    with trackd.init() as run:  # defaults: project from no git repo, a generated name and id
        assert run.project == "uncategorized" and run.name and len(run.id) == 8
    # Tags replace a resumed run's tags.
    with trackd.init(project=ctx.project, id="confiid2", tags=["old"]):
        pass
    with trackd.init(project=ctx.project, id="confiid2", tags=["new"], resume="allow"):
        pass
    assert trackd.Api().run(f"{ctx.project}/confiid2").tags == ["new"]


@check("wandb.init.dir")
def _(ctx):  # type: ignore[no-untyped-def]
    where = ctx.tmp / "logs-here"
    where.mkdir()
    with trackd.init(project=ctx.project, dir=str(where)) as run:
        assert Path(run.dir).is_relative_to(where / "wandb")
    with trackd.init(project=ctx.project) as run:
        assert Path(run.dir).is_relative_to(ctx.tmp / "wandb")


@check("wandb.init.config", "wandb.init.config_exclude_keys", "wandb.init.config_include_keys")
def _(ctx):  # type: ignore[no-untyped-def]
    yaml_path = ctx.write("cfg.yaml", "lr: 0.1\nlayers: 3\n")
    with trackd.init(project=ctx.project, config=yaml_path) as run:
        pass
    assert ctx.stored(run).config == {"lr": 0.1, "layers": 3}
    ns = argparse.Namespace(lr=0.2, epochs=4, secret="s")
    with trackd.init(project=ctx.project, config=ns, config_exclude_keys=["secret"]) as run:
        pass
    assert ctx.stored(run).config == {"lr": 0.2, "epochs": 4}
    with trackd.init(project=ctx.project, config={"a": 1, "b": 2},
                     config_include_keys=["a"]) as run:
        pass
    assert ctx.stored(run).config == {"a": 1}


@check("wandb.init.allow_val_change")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, config={"lr": 1}) as run:
        with pytest.raises(trackd.errors.ConfigError):
            run.config.update({"lr": 2})
    with trackd.init(project=ctx.project, config={"lr": 1}, allow_val_change=True) as run:
        run.config.update({"lr": 2})
    assert ctx.stored(run).config == {"lr": 2}


@check("wandb.init.mode")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, mode="online") as run:
        assert not run.offline and not run.disabled
    with trackd.init(project=ctx.project, mode="offline") as run:
        run.log({"a": 1})
        assert run.offline and Path(run.settings.sync_dir).is_dir()
    with trackd.init(project=ctx.project, mode="disabled") as run:
        assert run.disabled
        run.log({"a": 1})
        run.config.x = 1


@check("wandb.init.reinit")
def _(ctx):  # type: ignore[no-untyped-def]
    first = trackd.init(project=ctx.project)
    assert trackd.init(project=ctx.project) is first  # "default" outside a notebook
    assert trackd.init(project=ctx.project, reinit="return_previous") is first
    new = trackd.init(project=ctx.project, reinit="create_new")
    assert new is not first and trackd.run is first
    after = trackd.init(project=ctx.project, reinit="finish_previous")
    assert ctx.stored(first).state == "finished" and ctx.stored(new).state == "finished"
    assert trackd.init(project=ctx.project, reinit=True) is not after
    with pytest.raises(trackd.errors.UsageError):
        trackd.init(project=ctx.project, reinit="sometimes")


@check("wandb.init.resume")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, id="confir1") as run:
        run.log({"a": 1})
    with trackd.init(project=ctx.project, id="confir1", resume="allow") as run:
        assert run.resumed and run.step == 1
    with trackd.init(project=ctx.project, id="confir-new", resume="allow") as run:
        assert not run.resumed
    with pytest.raises(trackd.Error):
        trackd.init(project=ctx.project, id="confir1", resume="never")
    with pytest.raises(trackd.Error):
        trackd.init(project=ctx.project, id="confir-missing", resume="must")
    with pytest.warns(DeprecationWarning), trackd.init(project=ctx.project, id="confir1",
                                                       resume=True) as run:
        assert run.resumed
    # "auto": the run that did not finish on this machine is resumed.
    script = ctx.write("crash.py", (
        "import os, trackd\n"
        "run = trackd.init(project='conformance', resume='auto')\n"
        "run.log({'a': 1})\n"
        "print(run.id, flush=True)\n"
        "os._exit(1)\n"))
    crashed = subprocess.run([sys.executable, script], capture_output=True, text=True,
                             cwd=ctx.tmp).stdout.split()[-1]
    with trackd.init(project=ctx.project, resume="auto") as run:
        assert run.id == crashed and run.resumed


@check("wandb.init.resume_from", "wandb.init.fork_from")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, id="confsrc1") as run:
        for i in range(5):
            run.log({"a": i})
    with trackd.init(project=ctx.project, fork_from="confsrc1?_step=2") as fork:
        fork.log({"a": 100})
    rows = list(ctx.stored(fork).scan_history())
    assert [r["a"] for r in rows] == [0, 1, 2, 100]
    with pytest.raises(trackd.errors.UsageError):
        trackd.init(project=ctx.project, id="confsrc1", fork_from="confsrc1?_step=2")
    with trackd.init(project=ctx.project, resume_from="confsrc1?_step=1") as again:
        assert again.id == "confsrc1"
        again.log({"a": 50})
    assert [r["a"] for r in ctx.stored(again).scan_history()] == [0, 1, 50]
    with pytest.raises(trackd.errors.UsageError):
        trackd.init(project=ctx.project, resume="allow", fork_from="confsrc1?_step=1")
    with pytest.raises(trackd.errors.UsageError):
        trackd.init(project=ctx.project, fork_from="confsrc1?loss=1")


@check("wandb.init.save_code")
def _(ctx):  # type: ignore[no-untyped-def]
    script = ctx.write("saved.py", (
        "import trackd\n"
        "with trackd.init(project='conformance', save_code=True) as run:\n"
        "    print(run.path)\n"))
    path = subprocess.run([sys.executable, script], check=True, capture_output=True, text=True,
                          cwd=ctx.tmp).stdout.split()[-1]
    assert "code/saved.py" in {f.name for f in trackd.Api().run(path).files()}


@check("wandb.init.monitor_gym")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, monitor_gym=False) as run:
        run.log({"a": 1})
    assert ctx.stored(run).state == "finished"


@check("wandb.init.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, settings={"run_notes": "dict"}) as run:
        pass
    assert ctx.stored(run).notes == "dict"
    with trackd.init(project=ctx.project, notes="explicit",
                     settings=trackd.Settings(run_notes="obj")) as run:
        pass
    assert ctx.stored(run).notes == "explicit"  # an explicit argument wins


@check("wandb.init.force", "wandb.init.anonymous")
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, force=False, anonymous="allow") as run:
        run.log({"a": 1})
    assert ctx.stored(run).state == "finished"
    with pytest.raises((trackd.errors.UsageError, ValueError)):
        trackd.init(project=ctx.project, anonymous="sometimes")


@check("wandb.init.allow_val_change")
def _(ctx):  # type: ignore[no-untyped-def]
    class ZMQInteractiveShell:  # what a Jupyter kernel's IPython shell is called
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()  # type: ignore[attr-defined]
    ctx.monkeypatch.setitem(sys.modules, "IPython", fake)
    with trackd.init(project=ctx.project, config={"lr": 1}) as run:
        run.config.update({"lr": 2})  # True by default in a notebook
    assert ctx.stored(run).config == {"lr": 2}


@check("wandb.init.config")
def _(ctx):  # type: ignore[no-untyped-def]
    from absl import flags

    fv = flags.FlagValues()
    flags.DEFINE_float("learning_rate", 0.01, "lr", flag_values=fv)
    flags.DEFINE_integer("epochs", 3, "epochs", flag_values=fv)
    fv(["prog", "--epochs=5"])
    with trackd.init(project=ctx.project, config=fv) as run:
        pass
    cfg = ctx.stored(run).config
    assert cfg["learning_rate"] == 0.01 and cfg["epochs"] == 5


# -- 2.6 restore, 3.6 save ---------------------------------------------------------------------


@check("wandb.restore", "wandb.restore.name", "wandb.restore.run_path", "wandb.restore.replace",
       "wandb.restore.root", "wandb.save", "wandb.save.glob_str", "wandb.save.base_path",
       "wandb.save.policy")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("files/x/saveme.txt", "1")
    ctx.write("files/y/saveme.txt", "2")
    with pytest.raises(trackd.Error):
        trackd.save("files/*/saveme.txt")  # before init
    with trackd.init(project=ctx.project) as run:
        trackd.save("files/*/saveme.txt", base_path="files", policy="now")
        path = run.path
    assert {"x/saveme.txt", "y/saveme.txt"} <= {f.name for f in ctx.stored(run).files()}
    f = trackd.restore("x/saveme.txt", run_path=path, root=str(ctx.tmp / "back"))
    assert f.read() == "1"
    f.close()
    Path(ctx.tmp / "back" / "x" / "saveme.txt").write_text("local")
    assert trackd.restore("x/saveme.txt", run_path=path, root=str(ctx.tmp / "back"),
                          replace=True).read() == "1"
    with pytest.raises(ValueError):
        trackd.restore("x/saveme.txt")  # no run and no run_path


# -- 3.1 define_metric, 3.5 log ----------------------------------------------------------------


@check("wandb.define_metric", "wandb.define_metric.name", "wandb.define_metric.step_metric",
       "wandb.define_metric.step_sync", "wandb.define_metric.hidden",
       "wandb.define_metric.summary", "wandb.define_metric.goal",
       "wandb.define_metric.overwrite")
def _(ctx):  # type: ignore[no-untyped-def]
    with pytest.raises(trackd.Error):
        trackd.define_metric("loss")
    with trackd.init(project=ctx.project) as run:
        trackd.define_metric("loss", step_metric="epoch", step_sync=True, hidden=False,
                             summary="min", goal="minimize", overwrite=True)
        trackd.log({"epoch": 1, "loss": 2.0})
        trackd.log({"loss": 1.0})
    s = ctx.stored(run)
    assert s.summary["loss"]["min"] == 1.0
    assert [r["epoch"] for r in s.scan_history(keys=["loss", "epoch"])] == [1, 1]


@check("wandb.log", "wandb.log.data", "wandb.log.step", "wandb.log.commit", "wandb.log.sync")
def _(ctx):  # type: ignore[no-untyped-def]
    with pytest.raises(trackd.Error):
        trackd.log({"a": 1})
    with trackd.init(project=ctx.project) as run:
        trackd.log({"loss": 0.2}, commit=False)
        trackd.log({"accuracy": 0.8})
        trackd.log({"epoch": 40, "train-loss": 0.5}, step=3)
        trackd.log({"x": 1}, sync=False)  # joins step 3 and commits it
        trackd.log({"y": 2})
        with pytest.raises(TypeError):
            trackd.log({1: "non-string key"})
    rows = list(ctx.stored(run).scan_history())
    assert (rows[0]["_step"], rows[0]["loss"], rows[0]["accuracy"]) == (0, 0.2, 0.8)
    assert (rows[1]["_step"], rows[1]["epoch"], rows[1]["x"]) == (3, 40, 1)
    assert (rows[2]["_step"], rows[2]["y"]) == (4, 2)


# -- 3.2 link_model, 3.3 log_artifact, 3.4 log_model, 3.8 use_artifact, 3.9 use_model ----------


@check("wandb.log_artifact", "wandb.log_artifact.artifact_or_path", "wandb.log_artifact.name",
       "wandb.log_artifact.type", "wandb.log_artifact.aliases", "wandb.log_artifact.tags",
       "wandb.use_artifact", "wandb.use_artifact.artifact_or_name", "wandb.use_artifact.type",
       "wandb.use_artifact.aliases", "wandb.use_artifact.use_as")
def _(ctx):  # type: ignore[no-untyped-def]
    path = ctx.write("la/data.csv", "1,2")
    with trackd.init(project=ctx.project):
        trackd.log_artifact(path, name="conf-fla", type="dataset", aliases=["a1"],
                            tags=["ft"]).wait()
    got = trackd.Api().artifact(f"{ctx.project}/conf-fla:a1")
    assert got.type == "dataset" and got.tags == ["ft"]
    draft = trackd.Artifact("conf-fuse-draft", "dataset")
    draft.add_file(ctx.write("fu.txt"))
    with trackd.init(project=ctx.project) as run:
        trackd.use_artifact(draft, aliases=["seen"])  # aliases apply to a draft it logs
        used = trackd.use_artifact("conf-fla:latest", type="dataset")
        assert Path(used.download(root=str(ctx.tmp / "u"), skip_cache=True),
                    "data.csv").read_text() == "1,2"
        trackd.use_artifact("conf-fla:v0", use_as="x")
        rid = run.id
    assert "seen" in trackd.Api().artifact(f"{ctx.project}/conf-fuse-draft:v0").aliases
    assert rid in [r.id for r in trackd.Api().artifact(f"{ctx.project}/conf-fla:v0").used_by()]


@check("wandb.log_model", "wandb.log_model.path", "wandb.log_model.name",
       "wandb.log_model.aliases", "wandb.use_model", "wandb.use_model.name",
       "wandb.link_model", "wandb.link_model.path", "wandb.link_model.registered_model_name",
       "wandb.link_model.name", "wandb.link_model.aliases")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("fm/w.bin", "w")
    with trackd.init(project=ctx.project):
        assert trackd.log_model(str(ctx.tmp / "fm"), name="conf-fmodel", aliases=["p"]) is None
        with pytest.raises(ValueError):
            trackd.log_model(str(ctx.tmp / "fm"), name="bad/name")
        linked = trackd.link_model(str(ctx.tmp / "fm"), registered_model_name="conf-freg",
                                   name="conf-fmodel", aliases=["staging"])
        assert linked is not None and "staging" in linked.aliases
    with trackd.init(project=ctx.project):
        where = Path(trackd.use_model("conf-fmodel:p"))
        assert (where if where.is_file() else where / "w.bin").read_text() == "w"
    assert trackd.Api().artifact("model-registry/conf-freg:staging").type == "model"
