"""What the settings fields do to a run, against the real daemon: environment overrides, code
saving, log files and links, the frozen run.settings, summary_timeout, heartbeat_seconds,
settings_system, resume_from/fork_from given as settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import trackd
from tests.helpers import own_daemon, wait_for
from trackd._settings import FrozenSettingsError


def test_environment_fields_override_the_recorded_environment(clean_sdk, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    settings = trackd.Settings(
        git_commit="0123456789abcdef", git_remote_url="https://git.example/repo.git",
        git_root=str(tmp_path), program="train.py", program_abspath=str(script),
        program_relpath="src/train.py", host="gpu-node-7", username="ann", email="ann@example.org",
        docker="registry/img:1", notebook_name="nb.ipynb", save_code=True)
    with trackd.init(project="env-override", settings=settings) as run:
        path = run.path
    stored = trackd.Api().run(path)
    meta = stored.metadata
    assert meta["git"]["commit"] == "0123456789abcdef"
    assert meta["git"]["remote"] == "https://git.example/repo.git"
    assert meta["root"] == str(tmp_path)
    assert (meta["program"], meta["codePath"], meta["programAbspath"]) == (
        "train.py", "src/train.py", str(script))
    assert (meta["host"], meta["username"], meta["email"], meta["docker"], meta["notebook"]) == (
        "gpu-node-7", "ann", "ann@example.org", "registry/img:1", "nb.ipynb")
    assert stored.host == "gpu-node-7"
    # save_code stored program_abspath's file under program_relpath.
    assert stored.file("code/src/train.py").read_bytes() == b"print('hi')\n"


def test_disable_code_wins_over_save_code(clean_sdk, tmp_path):
    script = tmp_path / "main.py"
    script.write_text("x = 1\n")
    with trackd.init(project="nocode", settings={"save_code": True, "disable_code": True,
                                                 "program_abspath": str(script),
                                                 "program_relpath": "main.py"}) as run:
        path = run.path
    names = [f.name for f in trackd.Api().run(path).files()]
    assert "wandb-metadata.json" in names and not any(n.startswith("code/") for n in names)


def test_log_files_and_links_exist_and_symlink_false_makes_none(clean_sdk, tmp_path):
    with trackd.init(project="logs") as run:
        s = run.settings
        for path in (s.log_dir, s.log_user, s.log_internal, s.sync_file):
            assert os.path.exists(path), path
        for link, target in ((s.sync_symlink_latest, s.sync_dir), (s.log_symlink_user, s.log_user),
                             (s.log_symlink_internal, s.log_internal)):
            assert os.path.islink(link) and os.path.samefile(link, target)
    assert f"run {run.id}" in Path(s.log_user).read_text()
    assert "finished" in Path(s.log_internal).read_text()
    latest = os.readlink(s.sync_symlink_latest)
    with trackd.init(project="logs", dir=str(tmp_path / "nolinks"),
                     settings={"symlink": False}) as run2:
        s2 = run2.settings
        assert os.path.exists(s2.log_user) and os.path.exists(s2.log_internal)
    assert not os.path.lexists(tmp_path / "nolinks" / "wandb" / "latest-run")
    assert not os.path.lexists(tmp_path / "nolinks" / "wandb" / "debug.log")
    assert os.readlink(s.sync_symlink_latest) == latest  # the other directory's link is untouched


def test_run_settings_is_a_frozen_copy_with_urls(clean_sdk):
    with trackd.init(project="frozen", settings={"run_notes": "n"}) as run:
        s = run.settings
        with pytest.raises(FrozenSettingsError, match="frozen"):
            s.project = "other"
        with pytest.raises(AttributeError):
            s.run_notes = "changed"
        with pytest.raises(AttributeError):
            run.settings = trackd.Settings()  # type: ignore[misc]
        assert run.settings.project == "frozen" and run.project == "frozen"
        assert s.run_url == run.url and s.project_url == run.project_url
        assert s.resumed is False and s.sweep_url is None
        assert "project" in s.model_fields_set


def test_summary_timeout_bounds_a_read_against_a_stopped_daemon(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with own_daemon(monkeypatch) as d:
        run = trackd.init(project="slow", settings={"summary_timeout": 2})
        run.log({"x": 1})
        os.kill(d.pid, signal.SIGSTOP)
        try:
            start = time.monotonic()
            with pytest.raises(TimeoutError, match="summary_timeout=2"):
                run.summary["x"]  # noqa: B018 - the read is the point
            assert time.monotonic() - start < 10  # the bound the setting sets, with slack
        finally:
            os.kill(d.pid, signal.SIGCONT)
        assert run.summary["x"] == 1
        run.finish()


CRASHING = textwrap.dedent(
    """
    import os, sys
    import trackd
    run = trackd.init(project="hb", id=sys.argv[1], settings={"heartbeat_seconds": 2})
    run.log({"a": 1})
    run._sender.flush(30)
    print("ACKED", flush=True)
    os._exit(0)
    """
)


def test_heartbeat_seconds_is_the_runs_crash_grace(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    # The daemon's own grace is 10 minutes: only the run's heartbeat_seconds can mark it
    # crashed within the test.
    with own_daemon(monkeypatch, env={"TRACKD_CRASH_GRACE": "600"}):
        proc = subprocess.run([sys.executable, "-c", CRASHING, "hb1"], capture_output=True,
                              text=True, timeout=60, env=os.environ.copy(), check=False)
        assert "ACKED" in proc.stdout, proc.stderr
        api = trackd.Api()
        stored = wait_for(lambda: (r := api.run(f"{api.default_entity}/hb/hb1")).state
                          == "crashed" and r, timeout=60)
        assert stored.history_rows == 1


RESTARTED = textwrap.dedent(
    """
    import os, sys
    import trackd
    run = trackd.init(project="hb", id=sys.argv[1], settings={"heartbeat_seconds": 2})
    run.log({"a": 1})
    run._sender.flush(30)
    print("ACKED", flush=True)
    sys.stdin.readline()  # the daemon restarts meanwhile
    run.log({"a": 2})
    run._sender.flush(60)  # acknowledged by the new daemon: the run is attached again
    print("ACKED2", flush=True)
    os._exit(0)
    """
)


def test_heartbeat_seconds_survives_a_daemon_restart(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    # The daemon's own grace is 10 minutes: only the run's heartbeat_seconds, recovered from
    # the store by the restarted daemon, can mark it crashed within the test.
    with own_daemon(monkeypatch, env={"TRACKD_CRASH_GRACE": "600"}) as daemon:
        proc = subprocess.Popen([sys.executable, "-c", RESTARTED, "hb2"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=os.environ.copy())
        try:
            assert proc.stdout.readline().strip() == "ACKED", proc.stderr.read()
            daemon.stop()
            daemon.start()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ACKED2", proc.stderr.read()
            proc.wait(30)
        finally:
            proc.kill()
            proc.wait(10)
        api = trackd.Api()
        stored = wait_for(lambda: (r := api.run(f"{api.default_entity}/hb/hb2")).state
                          == "crashed" and r, timeout=60)
        assert stored.history_rows == 2
        assert "marking crashed" in daemon.log_text() and "gone for 2.0s" in daemon.log_text()


def test_settings_system_names_the_system_file(clean_sdk, tmp_path):
    system = tmp_path / "system-settings"
    system.write_text("[default]\nproject = from-system-file\nrun_notes = sys-notes\n")
    trackd.setup(trackd.Settings(settings_system=str(system)))
    with trackd.init(notes="explicit") as run:
        assert run.project == "from-system-file" and run.notes == "explicit"
    with trackd.init(settings={"settings_system": str(system)}, project="arg") as run:
        assert run.project == "arg" and run.notes == "sys-notes"


def test_fork_from_and_resume_from_as_settings(clean_sdk):
    with trackd.init(project="moments", id="src1") as run:
        for i in range(5):
            run.log({"v": i})
    with trackd.init(project="moments", id="fork1",
                     settings=trackd.Settings(fork_from="src1?_step=2")) as fork:
        assert fork.starting_step == 3
    assert trackd.Api().run(fork.path).history_rows == 3
    with trackd.init(project="moments", settings={"resume_from": "src1?_step=1"}) as again:
        assert again.id == "src1" and again.starting_step == 2
