"""Section 1.5 Settings: the class, update_from_dict, catch_private_settings and the computed
properties. What the fields do to a run is in ``settings_fields.py``; every field also gets the
construct/read-back and bad-value checks of ``test_conformance.py``."""

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


@check("Settings.log_dir", "Settings.log_internal", "Settings.log_user", "Settings.sync_file",
       "Settings.log_symlink_internal", "Settings.log_symlink_user",
       "Settings.sync_symlink_latest")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(mode="offline") as run:
        run.log({"a": 1})
        s = run.settings
        assert Path(s.log_dir) == Path(s.sync_dir, "logs") and Path(s.log_dir).is_dir()
        assert Path(s.log_user) == Path(s.log_dir, "debug.log")
        assert Path(s.log_internal) == Path(s.log_dir, "debug-internal.log")
        assert Path(s.sync_file) == Path(s.sync_dir, f"run-{run.id}.wal")
    # The files exist and hold the run: the SDK's log, the connection log, the record log.
    assert f"run {run.id}" in Path(s.log_user).read_text()
    assert "finished" in Path(s.log_internal).read_text()
    assert Path(s.sync_file).stat().st_size > 0  # offline: every record is written there
    # The links in wandb_dir point at the newest run: its two logs, and (latest-run) its
    # directory, through which its transaction log is reached.
    wandb_dir = Path(s.wandb_dir)
    for link, target in ((s.log_symlink_user, s.log_user),
                         (s.log_symlink_internal, s.log_internal),
                         (s.sync_symlink_latest, s.sync_dir)):
        assert Path(link).parent == wandb_dir and Path(link).is_symlink(), link
        assert os.path.samefile(link, target), (link, target)
    assert Path(s.sync_symlink_latest).name == "latest-run"
    assert os.path.samefile(Path(s.sync_symlink_latest, Path(s.sync_file).name), s.sync_file)


@check("Settings.colab_url", "Settings.deployment", "Settings.is_local")
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings()
    assert s.colab_url is None  # not in Colab
    assert s.is_local is True and isinstance(s.deployment, str)


@check("Settings.project_url", "Settings.run_url", "Settings.sweep_url")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(settings=trackd.Settings(sweep_id="conf-sw")) as run:
        s = run.settings
        assert s.run_url == run.url and s.project_url == run.project_url
        assert s.sweep_url == run.sweep_url and "conf-sw" in s.sweep_url


@check("Settings.settings_workspace")
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings()
    assert Path(s.settings_workspace).is_relative_to(ctx.tmp)
    Path(s.settings_workspace).parent.mkdir(parents=True, exist_ok=True)
    Path(s.settings_workspace).write_text("[default]\nrun_notes = from-workspace\n")
    with ctx.init() as run:
        pass
    assert ctx.stored(run).notes == "from-workspace"


@check("Settings.model_extra", "Settings.model_fields_set")
def _(ctx):  # type: ignore[no-untyped-def]
    s = trackd.Settings(project="p", run_name="n")
    assert {"project", "run_name"} <= set(s.model_fields_set)
    assert "entity" not in s.model_fields_set
    assert s.model_extra in (None, {})


@check("Settings.catch_private_settings")
def _(ctx):  # type: ignore[no-untyped-def]
    out = trackd.Settings.catch_private_settings({"_disable_stats": True, "project": "p"})
    assert out.get("x_disable_stats") is True and "_disable_stats" not in out
