"""Section 1.5 Settings: the class, the computed properties trackd has, update_from_dict, and
what the fields trackd already has do to a run (read back through ``Api()``). Every field also
gets the construct/read-back and bad-value checks of ``test_conformance.py``."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check


@check("Settings")
def _(ctx):  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        trackd.Settings(no_such_setting=1)
    # Programmatic, WANDB_* environment, and settings files all reach a run.
    os.environ["WANDB_RUN_GROUP"] = "from-env"
    try:
        Path(ctx.tmp, "trackd").mkdir()
        Path(ctx.tmp, "trackd", "settings").write_text("[default]\nrun_job_type = from-file\n")
        with ctx.init(settings=trackd.Settings(run_notes="from-code")) as run:
            pass
    finally:
        del os.environ["WANDB_RUN_GROUP"]
    s = ctx.stored(run)
    assert (s.group, s.job_type, s.notes) == ("from-env", "from-file", "from-code")


@check("Settings.update_from_dict", "Settings.update_from_dict.settings")
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings(project="a")
    s.update_from_dict({"project": "b", "run_name": "n"})
    assert (s.project, s.run_name) == ("b", "n")
    with pytest.raises(TypeError):
        s.update_from_dict({"no_such_setting": 1})
    with trackd.init(settings=s, reinit="create_new") as run:
        assert run.project == "b" and run.name == "n"


@check("Settings.files_dir", "Settings.sync_dir", "Settings.wandb_dir", "Settings.timespec",
       "Settings.run_mode")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        s = run.settings
        assert s.wandb_dir == str(ctx.tmp / "wandb")
        assert Path(s.sync_dir).is_dir() and Path(s.sync_dir).parent == Path(s.wandb_dir)
        assert s.files_dir == run.dir and Path(s.files_dir).is_dir()
        assert re.fullmatch(r"\d{8}_\d{6}", s.timespec)
        assert Path(s.sync_dir).name == f"run-{s.timespec}-{run.id}"
        assert s.run_mode == "run"
    with ctx.init(mode="offline") as run:
        assert run.settings.run_mode == "offline-run"
        assert Path(run.settings.sync_dir).name.startswith("offline-run-")


@check("Settings.resume_fname")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(resume="auto") as run:
        fname = run.settings.resume_fname
        assert fname.startswith(run.settings.wandb_dir)
        run.log({"a": 1})
        assert Path(fname).is_file()


# -- what fields do --------------------------------------------------------------------------


@check("Settings.project", "Settings.entity", "Settings.run_id", "Settings.run_name",
       "Settings.run_notes", "Settings.run_tags", "Settings.run_group", "Settings.run_job_type")
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings(project="conf-sp", entity="conf-se", run_id="confsid1", run_name="sn",
                        run_notes="no", run_tags=("t1", "t2"), run_group="sg",
                        run_job_type="sj")
    with trackd.init(settings=s, reinit="create_new"):
        pass
    r = trackd.Api().run("conf-se/conf-sp/confsid1")
    assert (r.name, r.notes, r.tags, r.group, r.job_type) == ("sn", "no", ["t1", "t2"], "sg",
                                                              "sj")


@check("Settings.mode")
def _(ctx):  # type: ignore[no-untyped-def]
    for mode, offline, disabled in (("online", False, False), ("run", False, False),
                                    ("offline", True, False), ("dryrun", True, False),
                                    ("disabled", False, True)):
        with ctx.init(settings=trackd.Settings(mode=mode)) as run:
            assert (run.offline, run.disabled) == (offline, disabled), mode


@check("Settings.root_dir")
def _(ctx):  # type: ignore[no-untyped-def]
    root = ctx.tmp / "elsewhere"
    root.mkdir()
    with ctx.init(settings=trackd.Settings(root_dir=str(root))) as run:
        assert run.dir.startswith(str(root / "wandb"))


@check("Settings.config_paths")
def _(ctx):  # type: ignore[no-untyped-def]
    path = ctx.write("extra.yaml", "lr: 0.5\n")
    with ctx.init(settings=trackd.Settings(config_paths=(path,))) as run:
        assert run.config.lr == 0.5
    assert ctx.stored(run).config == {"lr": 0.5}


@check("Settings.allow_val_change")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"a": 1}, settings=trackd.Settings(allow_val_change=True)) as run:
        run.config.a = 2
    assert ctx.stored(run).config == {"a": 2}


@check("Settings.reinit")
def _(ctx):  # type: ignore[no-untyped-def]
    first = trackd.init(project=ctx.project, settings=trackd.Settings(reinit="finish_previous"))
    second = trackd.init(project=ctx.project,
                         settings=trackd.Settings(reinit="finish_previous"))
    assert first is not second and ctx.stored(first).state == "finished"
    same = trackd.init(project=ctx.project, settings=trackd.Settings(reinit="return_previous"))
    assert same is second
    other = trackd.init(project=ctx.project, settings=trackd.Settings(reinit="create_new"))
    assert other is not second and trackd.run is second
    other.finish()
    second.finish()


@check("Settings.resume")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(id="confres1") as run:
        run.log({"a": 1})
    with ctx.init(id="confres1", settings=trackd.Settings(resume="must")) as run:
        assert run.resumed
    with pytest.raises(trackd.Error):
        ctx.init(id="confres-none", settings=trackd.Settings(resume="must"))
    with pytest.raises(trackd.Error):
        ctx.init(id="confres1", settings=trackd.Settings(resume="never"))


@check("Settings.ignore_globs")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("keep.txt", "k")
    ctx.write("drop.tmp", "d")
    with ctx.init(settings=trackd.Settings(ignore_globs=("*.tmp",))) as run:
        run.save("keep.txt", policy="now")
        run.save("drop.tmp", policy="now")
    names = {f.name for f in ctx.stored(run).files()}
    assert "keep.txt" in names and "drop.tmp" not in names


@check("Settings.save_code", "Settings.disable_git")
def _(ctx):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    script = ctx.write("prog.py", (
        "import trackd\n"
        "import sys\n"
        "save_code, disable_git = sys.argv[1] == '1', sys.argv[2] == '1'\n"
        "with trackd.init(project='conformance', settings=trackd.Settings(\n"
        "        save_code=save_code, disable_git=disable_git)) as run:\n"
        "    print(run.path)\n"))
    subprocess.run(["git", "init", "-q", str(ctx.tmp)], check=True)
    subprocess.run(["git", "-C", str(ctx.tmp), "-c", "user.email=a@b", "-c", "user.name=a",
                    "commit", "-q", "--allow-empty", "-m", "c"], check=True)

    def run(save: str, nogit: str) -> set[str]:
        out = subprocess.run([sys.executable, script, save, nogit], check=True,
                             capture_output=True, text=True, cwd=ctx.tmp).stdout.split()[-1]
        return {f.name for f in trackd.Api().run(out).files()}

    with_code = run("1", "0")
    assert "code/prog.py" in with_code
    without = run("0", "1")
    assert "code/prog.py" not in without and "diff.patch" not in without


@check("Settings.quiet", "Settings.silent")
def _(ctx):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    prog = ("import trackd\n"
            "with trackd.init(project='conformance', settings=trackd.Settings({})) as run:\n"
            "    run.log({{'a': 1}})\n")
    outs = {}
    for key in ("", "quiet=True", "silent=True"):
        p = subprocess.run([sys.executable, "-c", prog.format(key)], check=True,
                           capture_output=True, text=True, cwd=ctx.tmp)
        outs[key] = p.stdout + p.stderr
    assert "trackd:" in outs[""]
    assert len(outs["quiet=True"]) < len(outs[""])
    assert "trackd:" not in outs["silent=True"]


@check("Settings.console")
def _(ctx):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    prog = ("import trackd\n"
            "s = trackd.Settings(console={!r})\n"
            "with trackd.init(project='conformance', settings=s) as r:\n"
            "    print('hello-console', flush=True)\n"
            "    print(r.path)\n")
    for console, captured in (("wrap", True), ("off", False)):
        out = subprocess.run([sys.executable, "-c", prog.format(console)], check=True,
                             capture_output=True, text=True, cwd=ctx.tmp).stdout
        path = [ln for ln in out.split() if ln.count("/") == 2][-1]
        lines = [row.get("line", row) for row in trackd.Api().run(path).console()]
        assert any("hello-console" in str(x) for x in lines) is captured, console


@check("Settings.init_timeout")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(init_timeout=30)) as run:
        assert run.settings.init_timeout == 30


@check("Settings.sweep_id")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(sweep_id="conf-sweep")) as run:
        assert run.sweep_id == "conf-sweep"
    assert ctx.stored(run).sweep_id == "conf-sweep"
