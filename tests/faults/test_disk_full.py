"""The daemon's disk fills up: appends are refused with RESOURCE_EXHAUSTED naming the path,
reads go on, nothing acknowledged is lost, and everything resumes when space returns."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd import Api


@pytest.fixture
def small_disk():  # type: ignore[no-untyped-def]
    """A 3 MiB tmpfs (needs root and mount rights; skipped where the sandbox forbids mounts)."""
    where = Path(tempfile.mkdtemp(prefix="trackd-small-"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(where, ignore_errors=True)
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip() or 'not permitted'})")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
    shutil.rmtree(where, ignore_errors=True)


def test_disk_full_refuses_appends_keeps_everything_and_resumes(small_disk, monkeypatch,
                                                                   tmp_path, caplog):
    trackd.teardown()
    dirs = DaemonDirs.make()
    dirs.env["TRACKD_ROOT"] = str(small_disk / "root")
    for k, v in dirs.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    daemon = DaemonProcess(dirs)
    daemon.start()
    try:
        run = trackd.init(project="full", settings=trackd.Settings(finish_timeout=120))
        blob = "x" * 20_000
        with caplog.at_level(logging.WARNING, logger="trackd"):
            for i in range(300):  # about 6 MiB: twice what the disk holds; log() never raises
                run.log({"i": i, "blob": blob})
            # Whichever fills first, the log or the store, the daemon says so, naming the path.
            wait_for(lambda: ("cannot write the log" in daemon.log_text()
                              or "cannot grow" in daemon.log_text()), timeout=60)
            assert str(small_disk / "root") in daemon.log_text()
        told = [r for r in caplog.records if "cannot store records now" in r.message]
        assert len(told) <= 1  # the SDK tells the user once (when the log refused appends)
        assert Api().run(run.path).state == "running"  # reads keep working
        assert Api().run(run.path).history_rows < 300
        # Space comes back: everything goes on by itself.
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        run.finish()
        stored = Api().run(run.path)
        assert stored.state == "finished"
        assert [r["i"] for r in stored.scan_history(keys=["i"])] == list(range(300))
    finally:
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], capture_output=True, check=False)
        trackd.teardown()
        daemon.stop()
        dirs.cleanup()
