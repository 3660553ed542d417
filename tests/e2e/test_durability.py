"""Crashes: a training process killed with SIGKILL, and the daemon killed with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import trackd
from tests.helpers import read_line, wait_for
from trackd import Api

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import trackd
    run = trackd.init(project="crash", id=sys.argv[1])
    for i in range(1000):
        run.log({"i": i, "sq": i * i})
    run.log({"partial": 1}, step=1000)   # pending row: not committed when we die
    run._sender.flush(30)                # everything is acknowledged (in the daemon's log)
    print("ACKED", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_sigkilled_client_leaves_a_crashed_run_with_every_acked_row(clean_sdk, tmp_path):
    proc = subprocess.run([sys.executable, "-c", CHILD, "crashrun1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=False)
    assert "ACKED" in proc.stdout, proc.stderr
    assert proc.returncode == -9
    api = Api()
    path = f"{api.default_entity}/crash/crashrun1"
    stored = wait_for(lambda: (r := api.run(path)).state == "crashed" and r, timeout=30)
    assert stored.history_rows == 1001
    rows = list(stored.scan_history())
    assert [r["i"] for r in rows[:1000]] == list(range(1000))
    assert rows[-1]["partial"] == 1 and rows[-1]["_step"] == 1000
    assert stored.summary["sq"] == 999 * 999


def test_daemon_sigkill_loses_no_acked_row_and_the_run_finishes(own_daemon, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="daemon-crash")
    for i in range(3000):
        run.log({"i": i})
    run._sender.flush(30)  # acknowledged: in the write-ahead log, maybe not yet in the store
    own_daemon.kill()
    for i in range(3000, 4000):  # logged while no daemon runs: buffered, never lost
        run.log({"i": i})
    # finish() reconnects: the SDK starts a daemon again on the default socket, which recovers
    # the run from its log; the SDK resends what was not acknowledged.
    run.finish()
    stored = Api().run(run.path)
    assert stored.state == "finished"
    rows = list(stored.scan_history())
    assert [r["i"] for r in rows] == list(range(4000))
    assert [r["_step"] for r in rows] == list(range(4000))


def test_daemon_recovers_acked_records_not_yet_in_the_store(own_daemon, tmp_path, monkeypatch):
    """Records acknowledged just before a SIGKILL are ingested by the next daemon, once."""
    from tests.e2e.raw import create_run, raw_stub, record_batch

    ref = {"entity": "raw", "project": "recover", "run_id": "recover1"}
    channel, stub = raw_stub(own_daemon)
    create_run(channel, ref)
    responses = stub(iter([record_batch(ref, 1, 5000), record_batch(None, 5001, 5000)]))
    acked = 0
    for resp in responses:
        acked = resp.acked_seq
        if acked >= 10000:
            break
    assert acked == 10000
    own_daemon.kill()  # acknowledged = in the log; the store may lag behind
    channel.close()
    own_daemon.start()
    assert "recovered 1 run(s)" in own_daemon.log_text()
    stored = wait_for(lambda: (r := Api().run("raw/recover/recover1")).history_rows == 10000 and r)
    rows = list(stored.scan_history(keys=["v"]))
    assert [r["v"] for r in rows] == list(range(10000))
    assert stored.state == "running"
    # The client is gone: after the grace period the run is marked crashed, rows intact.
    stored = wait_for(lambda: (r := Api().run("raw/recover/recover1")).state == "crashed" and r)
    assert stored.history_rows == 10000


def test_unreachable_daemon_sends_the_run_offline_and_sync_completes_it(own_daemon, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from trackd._init.sync import sync_dirs

    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="fallback", settings=trackd.Settings(reconnect_timeout=0.5))
    for i in range(500):
        run.log({"i": i})
    run._sender.flush(30)
    # The address in TRACKD_ADDRESS is no longer this user's default socket: the SDK must not
    # start a daemon there, so it cannot reconnect and the run continues offline. (Set before
    # the kill: the sender may notice the daemon gone at once and look for one to start.)
    monkeypatch.setenv("TRACKD_RUNTIME_DIR", str(tmp_path / "elsewhere"))
    own_daemon.kill()
    for i in range(500, 1000):
        run.log({"i": i})
    run.finish()
    assert "was saved offline" in capsys.readouterr().err
    run_dir = Path(run.dir).parent
    assert (run_dir / "run.json").exists() and (run_dir / f"run-{run.id}.wal").exists()
    monkeypatch.setenv("TRACKD_RUNTIME_DIR", str(own_daemon.dirs.runtime))
    trackd.teardown()
    own_daemon.start()
    out: list[str] = []
    assert sync_dirs([str(run_dir)], echo=out.append) == 0, out
    stored = Api().run(run.path)
    assert stored.state == "finished"
    assert [r["i"] for r in stored.scan_history()] == list(range(1000))


def test_sigterm_drains_into_the_store_and_the_run_continues(own_daemon, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="drain")
    for i in range(20000):
        run.log({"i": i, "x": i * 0.5})
    run._sender.flush(30)
    status = run.status()
    assert status.acked_seq == status.last_queued_seq == 20000 and status.state == "running"
    assert own_daemon.stop() == 0  # SIGTERM: drain, close the store, exit 0
    log = own_daemon.log_text()
    assert "stopping: draining queues" in log and "stopped" in log
    import sqlite3

    db = sqlite3.connect(own_daemon.dirs.env["TRACKD_ROOT"] + "/trackd.db")
    (rows,) = db.execute("SELECT history_rows FROM runs").fetchone()
    db.close()
    assert rows == 20000  # everything acknowledged was drained into the store before exit
    run.log({"i": 20000})  # the SDK starts a daemon again and carries on
    run.finish()
    stored = Api().run(run.path)
    assert stored.state == "finished" and stored.history_rows == 20001


LOOP = textwrap.dedent(
    """
    import sys, time, trackd
    run = trackd.init(project="states", id=sys.argv[1])
    print("STARTED", flush=True)
    i = 0
    try:
        while True:          # a training loop that never ends by itself
            run.log({"i": i})
            i += 1
            time.sleep(0.01)
    except KeyboardInterrupt:
        print("INTERRUPTED", i, flush=True)
        raise
    """
)


def test_runs_stop_interrupts_the_training_and_the_run_ends_killed(clean_sdk, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", LOOP, "stopme1"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    assert read_line(proc).strip() == "STARTED"
    api = Api()
    path = f"{api.default_entity}/states/stopme1"
    wait_for(lambda: api.run(path).history_rows > 10)
    cli = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "stop", path],
                         capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=False)
    assert cli.returncode == 0 and "asked" in cli.stdout, cli.stderr
    out, err = proc.communicate(timeout=60)
    assert "INTERRUPTED" in out and "KeyboardInterrupt" in err
    stored = api.run(path)
    assert stored.state == "killed" and stored.history_rows > 10
    again = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "stop", path],
                           capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=False)
    assert again.returncode == 1 and "killed" in again.stderr


PREEMPT = textwrap.dedent(
    """
    import os, signal, trackd
    run = trackd.init(project="states", id="preempt1")
    for i in range(20):
        run.log({"i": i})
    run.mark_preempting()   # the scheduler said we are next
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_preempting_run_that_vanishes_ends_preempted(clean_sdk, tmp_path):
    proc = subprocess.run([sys.executable, "-c", PREEMPT], cwd=tmp_path, timeout=60,
                          env=os.environ.copy(), check=False)
    assert proc.returncode == -9
    path = f"{Api().default_entity}/states/preempt1"
    stored = wait_for(lambda: (r := Api().run(path)).state == "preempted" and r, timeout=30)
    assert stored.history_rows == 20 and stored.preempting is False


def test_a_run_reads_as_preempting_once_mark_preempting_returns(clean_sdk, tmp_path):
    """``mark_preempting()`` returns once the daemon acknowledged the record; a read right
    after sees the run preempting, even while the daemon is still storing the rows before it."""
    for attempt in range(5):
        run = trackd.init(project="states", id=f"marked{attempt}")
        for i in range(20_000):  # a backlog for the daemon to store behind the record
            run.log({"i": i, "x": i * 0.5})
        run.mark_preempting()
        assert Api().run(run.path).preempting is True
        run.finish()
        assert Api().run(run.path).preempting is False  # finished: no longer about to be
