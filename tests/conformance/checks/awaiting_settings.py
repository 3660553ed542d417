"""Checks of Settings elements being built on the ``settings`` branch of issue 15 (the fields
W&B documents that trackd refuses today, the computed properties it lacks,
``catch_private_settings``, and ``Run.settings`` as a frozen copy). They fail until that branch
is merged. Each field of the seed also gets the generic construct/read-back and bad-value
checks of ``test_conformance.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check

BRANCH = "settings"


@check("Run.settings", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        with pytest.raises(Exception):  # noqa: B017 - a frozen copy refuses assignment
            run.settings.project = "other"
        assert run.settings.project == ctx.project


@check("Settings.log_dir", "Settings.log_internal", "Settings.log_user", "Settings.sync_file",
       "Settings.log_symlink_internal", "Settings.log_symlink_user",
       "Settings.sync_symlink_latest", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(mode="offline") as run:
        run.log({"a": 1})
        s = run.settings
        assert Path(s.log_dir).is_dir()
        assert Path(s.log_internal).parent == Path(s.log_dir)
        assert Path(s.log_user).parent == Path(s.log_dir)
        assert Path(s.sync_file).is_file()
    latest = Path(s.wandb_dir)
    for link, target in ((s.log_symlink_internal, s.log_internal),
                         (s.log_symlink_user, s.log_user),
                         (s.sync_symlink_latest, s.sync_file)):
        assert Path(link).is_relative_to(latest)
        assert os.path.realpath(link) == os.path.realpath(target)


@check("Settings.colab_url", "Settings.deployment", "Settings.is_local", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings()
    assert s.colab_url is None  # not in Colab
    assert s.is_local is True and isinstance(s.deployment, str)


@check("Settings.project_url", "Settings.run_url", "Settings.sweep_url", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(sweep_id="conf-sw")) as run:
        s = run.settings
        assert s.run_url == run.url and s.project_url == run.project_url
        assert s.sweep_url == run.sweep_url


@check("Settings.settings_workspace", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings()
    assert Path(s.settings_workspace).is_relative_to(ctx.tmp)
    Path(s.settings_workspace).parent.mkdir(parents=True, exist_ok=True)
    Path(s.settings_workspace).write_text("[default]\nrun_notes = from-workspace\n")
    with ctx.init() as run:
        pass
    assert ctx.stored(run).notes == "from-workspace"


@check("Settings.model_extra", "Settings.model_fields_set", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings(project="p", run_name="n")
    assert {"project", "run_name"} <= set(s.model_fields_set)
    assert "entity" not in s.model_fields_set
    assert s.model_extra in (None, {})


@check("Settings.catch_private_settings", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    out = trackd.Settings.catch_private_settings({"_disable_stats": True, "project": "p"})
    assert out.get("x_disable_stats") is True and "_disable_stats" not in out


@check("Settings.git_commit", "Settings.git_remote", "Settings.git_root", "Settings.program",
       "Settings.program_relpath", "Settings.program_abspath", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings(git_commit="abc123", git_remote="upstream",
                        git_remote_url="https://example.com/r.git", git_root=str(ctx.tmp),
                        program="train.py", program_relpath="src/train.py",
                        program_abspath=str(ctx.tmp / "src" / "train.py"))
    with ctx.init(settings=s) as run:
        pass
    meta = ctx.stored(run).metadata()
    assert meta["git"]["commit"] == "abc123"
    assert meta["git"]["remote"] == "https://example.com/r.git"
    assert meta["program"] == "train.py" and meta["codePath"] == "src/train.py"


@check("Settings.disable_code", "Settings.code_dir", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    ctx.write("code/helper.py", "x = 1")
    script = ctx.write("code/main.py", (
        "import sys, trackd\n"
        "s = trackd.Settings(save_code=True, disable_code=sys.argv[1] == '1', code_dir='code')\n"
        "with trackd.init(project='conformance', settings=s) as run:\n"
        "    print(run.path)\n"))

    def files(disable: str) -> set[str]:
        out = subprocess.run([sys.executable, script, disable], check=True, text=True,
                             capture_output=True, cwd=ctx.tmp).stdout.split()[-1]
        return {f.name for f in trackd.Api().run(out).files()}

    assert any(n.startswith("code/") for n in files("0"))
    assert not any(n.startswith("code/") for n in files("1"))


@check("Settings.symlink", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(symlink=True)) as run:
        latest = Path(run.settings.wandb_dir, "latest-run")
        assert latest.is_symlink() and latest.resolve() == Path(run.settings.sync_dir).resolve()
    with ctx.init(root_dir=None, settings=trackd.Settings(symlink=False,
                                                           root_dir=str(ctx.tmp / "nl"))) as run:
        assert not Path(run.settings.wandb_dir, "latest-run").exists()
