"""System metrics: the daemon samples the training process tree (W&B's system.* keys)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trackd

SCRIPT = """
import subprocess, sys, time
import trackd

run = trackd.init(project="sysmetrics", settings={"x_stats_sampling_interval": 1})
# A child burning CPU and holding ~60 MB: the daemon samples the whole tree.
child = subprocess.Popen([sys.executable, "-c",
    "import time; block = bytearray(60 << 20)\\n"
    "for i in range(0, len(block), 4096): block[i] = 1\\n"
    "end = time.time() + 5\\n"
    "while time.time() < end: pass"])
child.wait()
run.log({"done": 1})
run.finish()
print("PATH", run.path)
"""


def test_sampled_every_second_with_the_childs_cpu_and_rss(clean_sdk, tmp_path: Path) -> None:
    script = tmp_path / "burn.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().splitlines()[-1].split()[-1]
    rows = trackd.Api().run(path).history(stream="system", samples=0, pandas=False)
    assert len(rows) >= 3, rows
    gaps = [b["_timestamp"] - a["_timestamp"] for a, b in itertools.pairwise(rows)]
    assert all(0.5 < g < 3.0 for g in gaps), gaps
    cpu = max(r["system.cpu"] for r in rows)
    rss = max(r["system.proc.memory.rssMB"] for r in rows)
    ncpu = os.cpu_count() or 1
    assert cpu > 40 / ncpu, rows  # one busy core of ncpu, shared with the test machine's load
    assert rss > 60, rows  # the child's 60 MB are counted with the parent's
    last = rows[-1]
    for key in ("system.proc.cpu.threads", "system.proc.fds", "system.memory_percent",
                "system.proc.memory.availableMB", "system.disk./.usagePercent",
                "system.disk.in", "system.network.sent", "system.cpu.0.cpu_percent"):
        assert key in last, key
    assert all(r["_runtime"] >= 0 for r in rows)
    only = trackd.Api().run(path).history(stream="system", keys=["system.cpu"], samples=0,
                                              pandas=False)
    assert set(only[0]) == {"_timestamp", "_runtime", "system.cpu"}
    assert trackd.Api().run(path).history(keys=["done"], pandas=False) == [{"_step": 0, "done": 1}]
    with pytest.raises(trackd.UsageError):
        trackd.Api().run(path).history(stream="nope")


def test_stats_can_be_turned_off(clean_sdk) -> None:
    run = trackd.init(project="sysmetrics", settings={"x_disable_stats": True})
    run.finish()
    assert trackd.Api().run(run.path).history(stream="system", pandas=False) == []


def test_interval_below_one_second_is_refused() -> None:
    with pytest.raises(trackd.UsageError, match="at least 1 second"):
        trackd.Settings(x_stats_sampling_interval=0.2)


SHARED_WRITER = """
import sys, time, trackd
run = trackd.init(id=sys.argv[1], project="sysmetrics", settings=trackd.Settings(
    mode="shared", x_primary=False, x_label="worker-1", x_stats_sampling_interval=1,
    console="wrap"))
print("hello from the worker")
time.sleep(3.5)
run.finish()
"""


def test_each_writer_of_a_shared_run_is_sampled_and_captured(clean_sdk, tmp_path: Path) -> None:
    run = trackd.init(project="sysmetrics", settings=trackd.Settings(
        mode="shared", x_label="main", x_stats_sampling_interval=1, console="wrap"))
    print("hello from the primary")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    worker = subprocess.run([sys.executable, "-c", textwrap.dedent(SHARED_WRITER), run.id],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert worker.returncode == 0, worker.stderr
    run.finish()
    stored = trackd.Api().run(run.path)
    rows = stored.history(stream="system", samples=0, pandas=False)
    writers = {r.get("_writer", "") for r in rows}
    assert writers == {"", "worker-1"}, writers
    assert all("system.cpu" in r for r in rows)
    log = stored.file("output.log").read_bytes().decode()
    assert "hello from the primary" in log and "hello from the worker" in log


def test_a_restarted_daemon_samples_and_watches_on(own_daemon, tmp_path: Path,
                                                    monkeypatch) -> None:
    """Killed mid-run and started again, the daemon recovers the run and goes on sampling its
    process and watching its live file; the client reconnects as for any restart."""
    import time

    from tests.helpers import wait_for

    monkeypatch.chdir(tmp_path)
    live = tmp_path / "live.txt"
    live.write_text("v0")
    run = trackd.init(project="sysmetrics", settings={"x_stats_sampling_interval": 1})
    run.save("live.txt", policy="live")
    api = trackd.Api()
    wait_for(lambda: len(api.run(run.path).history(stream="system", samples=0, pandas=False)) >= 2)
    run._sender.flush(30)
    own_daemon.kill()
    own_daemon.start()
    restarted = time.time()
    assert "recovered 1 run(s)" in own_daemon.log_text()
    wait_for(lambda: any(r["_timestamp"] > restarted + 1 for r in trackd.Api().run(
        run.path).history(stream="system", samples=0, pandas=False)))
    time.sleep(1.0)
    live.write_text("v1, written after the restart")
    wait_for(lambda: trackd.Api().run(run.path).file("live.txt").versions >= 2, timeout=30)
    run.finish()
    f = trackd.Api().run(run.path).file("live.txt")
    assert [h["reason"] for h in f.history] == ["live", "change", "finish"]
    assert f.read_bytes() == b"v1, written after the restart"
