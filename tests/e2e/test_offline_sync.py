"""Offline runs and ``trackd sync``."""

from __future__ import annotations

import math
from pathlib import Path

import trackd
from trackd import Api
from trackd._init.sync import sync_dirs


def test_offline_run_writes_a_directory_and_syncs_once(clean_sdk, tmp_path):
    run = trackd.init(project="offline", mode="offline", config={"lr": 0.1}, tags=["off"])
    assert run.offline
    run.define_metric("loss", summary="min")
    for i in range(300):
        run.log({"loss": 1 / (i + 1), "nan": math.nan})
    run.summary["note"] = "written offline"
    assert run.summary["loss"] == {"min": 1 / 300}  # computed locally, same rules
    run.finish()
    sync_dir = Path(run.dir).parent
    assert sync_dir.name.startswith("offline-run-") and (sync_dir / f"run-{run.id}.wal").exists()
    assert not list(Api().runs(f"{run.entity}/offline"))  # nothing in the store yet
    out: list[str] = []
    assert sync_dirs([str(sync_dir)], echo=out.append) == 0
    assert "synced 303 new of 303 records, state finished" in out[0]
    assert (sync_dir / f"run-{run.id}.wal.synced").exists()
    assert sync_dirs([str(sync_dir)], echo=out.append) == 0
    assert "already synced" in out[1]
    (sync_dir / f"run-{run.id}.wal.synced").unlink()  # even without the marker: nothing twice
    assert sync_dirs([str(tmp_path / "wandb")], echo=out.append) == 0
    assert "synced 0 new" in out[2]
    runs = Api().runs(f"{run.entity}/offline")
    assert len(runs) == 1
    stored = runs[0]
    assert stored.state == "finished" and stored.history_rows == 300
    assert stored.config == {"lr": 0.1} and stored.tags == ["off"]
    assert stored.summary["loss"] == {"min": 1 / 300} and stored.summary["note"] == "written offline"
    assert [r["loss"] for r in stored.scan_history()] == [1 / (i + 1) for i in range(300)]


def test_offline_run_without_exit_syncs_as_unfinished(clean_sdk, tmp_path):
    import subprocess
    import sys

    script = (
        "import os, signal, trackd\n"
        "run = trackd.init(project='offline-crash', mode='offline', id='offcrash')\n"
        "[run.log({'i': i}) for i in range(50)]\n"
        "run._sender.flush(10)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == -9
    out: list[str] = []
    assert sync_dirs([str(tmp_path / "wandb")], echo=out.append) == 0
    assert "no exit record" in out[0]
    from tests.helpers import wait_for

    stored = wait_for(lambda: (r := Api().run(f"{Api().default_entity}/offline-crash/offcrash")).state == "crashed" and r)
    assert stored.history_rows == 50


def test_sync_of_a_non_run_directory_fails_clearly(clean_sdk, tmp_path):
    out: list[str] = []
    assert sync_dirs([str(tmp_path)], echo=out.append) == 1
    assert "no offline run" in out[0]


def test_an_offline_runs_files_are_stored_by_sync(clean_sdk, tmp_path):
    (tmp_path / "model.txt").write_text("weights")
    run = trackd.init(project="offline", mode="offline")
    assert run.save("model.txt", policy="end") == [str(Path(run.dir) / "model.txt")]
    run.log({"x": 1})
    run.finish()
    out: list[str] = []
    assert sync_dirs([str(Path(run.dir).parent)], echo=out.append) == 0
    assert "state finished" in out[0] and "file(s) stored" in out[0]
    stored = Api().run(run.path)
    files = {f.name: f for f in stored.files()}
    assert files["model.txt"].read_bytes() == b"weights"
    assert {"requirements.txt", "wandb-metadata.json"} <= set(files)
    assert stored.metadata is not None and stored.metadata["program"]
