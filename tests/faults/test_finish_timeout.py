"""finish() never hangs: with finish_timeout it gives up on a stuck daemon, keeps every record
the daemon did not acknowledge in the run's directory, and says how to upload it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import trackd
from trackd import Api
from trackd._init.sync import sync_dirs
from trackd.errors import FinishTimeoutError


def test_finish_timeout_on_a_frozen_daemon_keeps_everything(own_daemon, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="frozen", settings=trackd.Settings(finish_timeout=1.0))
    for i in range(100):
        run.log({"i": i})
    run._sender.flush(30)
    os.kill(own_daemon.pid, signal.SIGSTOP)  # the daemon hangs: no answer, no error
    try:
        for i in range(100, 200):
            run.log({"i": i})
        t0 = time.monotonic()
        with pytest.raises(FinishTimeoutError, match="did not complete in 1.0s") as exc:
            run.finish()
        assert time.monotonic() - t0 < 10
        assert "101 record(s) were not acknowledged" in str(exc.value)  # 100 rows + the exit
        assert "trackd sync" in str(exc.value)
    finally:
        os.kill(own_daemon.pid, signal.SIGCONT)
    run_dir = Path(run.dir).parent
    assert (run_dir / f"run-{run.id}.wal").exists()
    trackd.teardown()
    out: list[str] = []
    assert sync_dirs([str(run_dir)], echo=out.append) == 0, out
    stored = Api().run(run.path)
    assert stored.state == "finished"
    assert [r["i"] for r in stored.scan_history()] == list(range(200))
