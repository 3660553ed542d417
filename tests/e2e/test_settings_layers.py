"""Settings precedence, case by case: defaults < system file < user file < workspace file <
WANDB_* < TRACKD_* < setup(settings) < init(settings) < init arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackd
from trackd._settings import base_settings, explain, setting_layers
from trackd.errors import UsageError


def _files(tmp_path: Path, system: str = "", user: str = "", workspace: str = "") -> dict[str, str]:
    (tmp_path / "etc").mkdir(exist_ok=True)
    (tmp_path / "cfg").mkdir(exist_ok=True)
    (tmp_path / "work" / "trackd").mkdir(parents=True, exist_ok=True)
    for path, text in ((tmp_path / "etc" / "settings", system),
                       (tmp_path / "cfg" / "settings", user),
                       (tmp_path / "work" / "trackd" / "settings", workspace)):
        if text:
            path.write_text("[default]\n" + text)
    return {"TRACKD_SETTINGS_SYSTEM": str(tmp_path / "etc" / "settings"),
            "TRACKD_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path)}


def test_each_layer_overrides_the_one_below(tmp_path):
    env = _files(tmp_path, system="project = from-system\nentity = sys-entity\nrun_group = g0\n",
                 user="project = from-user\nrun_job_type = j1\n",
                 workspace="project = from-workspace\nmax_buffered_records = 77\n")
    cwd = str(tmp_path / "work")
    s = base_settings(env, cwd)
    assert (s.project, s.entity, s.run_group, s.run_job_type) == (
        "from-workspace", "sys-entity", "g0", "j1")
    assert s.max_buffered_records == 77 and s.get("finish_timeout") == 0.0  # a default
    s = base_settings({**env, "WANDB_PROJECT": "from-wandb"}, cwd)
    assert s.project == "from-wandb"
    s = base_settings({**env, "WANDB_PROJECT": "from-wandb", "TRACKD_PROJECT": "from-trackd",
                       "WANDB_ENTITY": "env-entity"}, cwd)
    assert s.project == "from-trackd" and s.entity == "env-entity"
    sources = {name: source for name, _v, source in explain(setting_layers(
        {**env, "TRACKD_PROJECT": "from-trackd"}, cwd))}
    assert sources["project"] == "TRACKD_* environment"
    assert sources["entity"].startswith("system settings file")
    assert sources["run_job_type"].startswith("user settings file")
    assert sources["max_buffered_records"].startswith("workspace settings file")
    assert sources["finish_timeout"] == "default"


def test_bad_settings_files_name_the_key(tmp_path):
    env = _files(tmp_path, user="no_such_setting = 1\n")
    with pytest.raises(UsageError, match="unknown setting 'no_such_setting'"):
        base_settings(env, str(tmp_path / "work"))
    env = _files(tmp_path, user="project = p\n", workspace="mode = sometimes\n")
    with pytest.raises(UsageError, match="workspace|mode"):
        base_settings(env, str(tmp_path / "work"))


def test_setup_init_settings_and_arguments_on_top(clean_sdk, tmp_path, monkeypatch):
    for k, v in _files(tmp_path, workspace="project = from-workspace\nrun_notes = ws-notes\n").items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path / "work")
    trackd.teardown()
    with trackd.init() as run:
        assert run.project == "from-workspace" and run.notes == "ws-notes"
    monkeypatch.setenv("WANDB_NOTES", "wandb-notes")
    trackd.teardown()
    trackd.setup(trackd.Settings(project="from-setup"))
    with trackd.init() as run:
        assert run.project == "from-setup" and run.notes == "wandb-notes"
    with trackd.init(settings={"project": "from-init-settings"}) as run:
        assert run.project == "from-init-settings"
    with trackd.init(project="from-argument", settings={"project": "from-init-settings"}) as run:
        assert run.project == "from-argument"
        s = run.settings
        assert s.sync_dir == str(Path(run.dir).parent) and s.files_dir == run.dir
        assert s.run_mode == "run" and s.timespec and s.timespec in s.sync_dir
        assert s.wandb_dir == str(tmp_path / "work" / "wandb")
        assert s.resume_fname.endswith("wandb/wandb-resume.json")
        assert s.sync_file.endswith(f"run-{run.id}.wal")


def test_trackd_settings_command_shows_sources(tmp_path):
    env = {**os.environ, **_files(tmp_path, user="project = from-user\n"),
           "TRACKD_ENTITY": "env-entity"}
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "settings", "--json"],
                         cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["project"]["value"] == "from-user"
    assert data["project"]["source"].startswith("user settings file")
    assert data["entity"] == {"value": "env-entity", "source": "TRACKD_* environment"}
    assert data["mode"] == {"value": "online", "source": "default"}
    table = subprocess.run([sys.executable, "-m", "trackd._cli.main", "settings"],
                           cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=60, check=False)
    assert "from-user" in table.stdout and "SOURCE" in table.stdout
