"""Section 1.5 Settings, continued: what each field does to a run where it applies to trackd,
read back through ``Api()`` or from the run's files. Every field also gets the
construct/read-back and bad-value checks of ``test_conformance.py``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import trackd
from tests import helpers
from tests.conformance.registry import check


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


@check("Settings.sync_tensorboard")
def _(ctx):  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    with ctx.init(settings=trackd.Settings(sync_tensorboard=True)) as run:
        writer = EventFileWriter(str(ctx.tmp / "tb"))
        for step in range(2):
            writer.add_event(event_pb2.Event(step=step, wall_time=1.0 + step, summary=(
                summary_pb2.Summary(value=[summary_pb2.Summary.Value(
                    tag="loss", simple_value=float(step))]))))
        writer.close()
    rows = ctx.stored(run).history(pandas=False)
    assert [(r["loss"], r["global_step"]) for r in rows] == [(0.0, 0), (1.0, 1)]
    assert not trackd.tensorboard.patched()


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
    # Against a stopped daemon, init(init_timeout=3) fails within 4 s (the bound,
    # timed in the child around init() alone) with a CommError naming init_timeout.
    prog = ("import sys, time, trackd\n"
            "start = time.monotonic()\n"
            "try:\n"
            "    trackd.init(project='conformance', settings=trackd.Settings(init_timeout=3))\n"
            "except trackd.errors.CommError as exc:\n"
            "    print(f'{time.monotonic() - start:.3f}')\n"
            "    print(exc)\n"
            "    sys.exit(7)\n")
    with helpers.own_daemon(ctx.monkeypatch) as d:
        d.proc.send_signal(signal.SIGSTOP)
        try:
            # In a child process, so that a wait that ignores init_timeout costs 30 s, not 60.
            try:
                p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                                   cwd=ctx.tmp, timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail("init(init_timeout=3) against a stopped daemon still waiting at 30 s")
        finally:
            d.proc.send_signal(signal.SIGCONT)
    assert p.returncode == 7, p.stdout + p.stderr  # the CommError, not another error
    elapsed, message = p.stdout.split("\n", 1)
    assert float(elapsed) < 4, elapsed
    assert "init_timeout" in message, message


@check("Settings.sweep_id")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(sweep_id="conf-sweep")) as run:
        assert run.sweep_id == "conf-sweep"
    assert ctx.stored(run).sweep_id == "conf-sweep"


@check("Settings.git_commit", "Settings.git_remote", "Settings.git_root", "Settings.program",
       "Settings.program_relpath", "Settings.program_abspath")
def _(ctx):  # type: ignore[no-untyped-def]
    script = ctx.write("src/train.py", "print('hi')\n")
    s = trackd.Settings(git_commit="abc123", git_remote_url="https://example.com/r.git",
                        git_root=str(ctx.tmp), program="train.py", program_relpath="src/train.py",
                        program_abspath=script, save_code=True)
    with ctx.init(settings=s) as run:
        pass
    stored = ctx.stored(run)
    meta = stored.metadata
    assert meta["git"]["commit"] == "abc123"
    assert meta["git"]["remote"] == "https://example.com/r.git"
    assert meta["root"] == str(ctx.tmp)
    assert (meta["program"], meta["codePath"], meta["programAbspath"]) == (
        "train.py", "src/train.py", script)
    # save_code stored program_abspath's file under program_relpath.
    assert stored.file("code/src/train.py").read_bytes() == b"print('hi')\n"
    # git_remote names the remote whose URL is recorded.
    git = ["git", "-C", str(ctx.tmp)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "upstream", "https://example.com/up.git"], check=True)
    subprocess.run([*git, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "c"], check=True)
    with ctx.init(settings=trackd.Settings(git_remote="upstream")) as run:
        pass
    assert ctx.stored(run).metadata["git"]["remote"] == "https://example.com/up.git"


@check("Settings.disable_code", "Settings.code_dir")
def _(ctx):  # type: ignore[no-untyped-def]
    ctx.write("src/helper.py", "x = 1")
    script = ctx.write("src/pkg/main.py", (
        "import sys, trackd\n"
        "s = trackd.Settings(save_code=True, disable_code=sys.argv[1] == '1', code_dir='src')\n"
        "with trackd.init(project='conformance', settings=s) as run:\n"
        "    print(run.path)\n"))

    def run(disable: str):  # type: ignore[no-untyped-def]
        out = subprocess.run([sys.executable, script, disable], check=True, text=True,
                             capture_output=True, cwd=ctx.tmp).stdout.split()[-1]
        return trackd.Api().run(out)

    saved = run("0")
    # The program's path is taken relative to code_dir, and the code under it is kept as a
    # code artifact.
    assert "code/pkg/main.py" in {f.name for f in saved.files()}
    code = [a for a in saved.logged_artifacts() if a.type == "code"]
    assert len(code) == 1 and {"helper.py", "pkg/main.py"} <= set(code[0].manifest.entries)
    off = run("1")
    assert not any(f.name.startswith("code/") for f in off.files())
    assert not [a for a in off.logged_artifacts() if a.type == "code"]


@check("Settings.symlink")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(symlink=True)) as run:
        latest = Path(run.settings.wandb_dir, "latest-run")
        assert latest.is_symlink() and latest.resolve() == Path(run.settings.sync_dir).resolve()
    elsewhere = ctx.tmp / "nolinks"
    elsewhere.mkdir()
    with ctx.init(dir=str(elsewhere), settings=trackd.Settings(symlink=False)) as run:
        assert Path(run.settings.sync_dir).is_relative_to(elsewhere)
    for name in ("latest-run", "debug.log", "debug-internal.log"):
        assert not Path(elsewhere, "wandb", name).exists(), name
