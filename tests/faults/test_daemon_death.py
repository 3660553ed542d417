"""The daemon dies (SIGKILL) while several processes log: nothing is lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.helpers import read_line, wait_for
from trackd import Api

WRITER = textwrap.dedent(
    """
    import sys, trackd
    run = trackd.init(project="death", id=sys.argv[1])
    print("STARTED", flush=True)
    for i in range(int(sys.argv[2])):
        run.log({"i": i, "x": i * 0.5})
    run.finish()
    print("DONE", flush=True)
    """
)
ROWS = 20_000


def _daemon_pid(dirs) -> int | None:  # type: ignore[no-untyped-def]
    lock = dirs.runtime / "trackd.lock"
    text = lock.read_text().strip() if lock.exists() else ""
    return int(text) if text.isdigit() else None


def clean_up_after_writers(own_daemon, writers) -> None:  # type: ignore[no-untyped-def]
    """Kill writers still running, and stop the daemon they started in place of the test's."""
    for w in writers:
        if w.poll() is None:
            w.kill()
    import trackd

    trackd.teardown()
    pid = _daemon_pid(own_daemon.dirs)
    if pid is not None and pid != own_daemon.pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_sigkill_while_four_processes_log(own_daemon, tmp_path):
    env = os.environ.copy()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"death{k}", str(ROWS)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(4)]
    try:
        for w in writers:
            assert read_line(w).strip() == "STARTED"
        wait_for(lambda: Api().run(f"{Api().default_entity}/death/death0").history_rows > 0)
        own_daemon.kill()  # mid-run: the writers notice, one of them starts a new daemon
        for w in writers:
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0 and "DONE" in out, err
        api = Api()
        for k in range(4):
            run = api.run(f"{api.default_entity}/death/death{k}")
            assert run.state == "finished" and run.history_rows == ROWS
            rows = list(run.scan_history())
            assert [r["i"] for r in rows] == list(range(ROWS))  # every row, once, in order
    finally:
        clean_up_after_writers(own_daemon, writers)


def test_a_damaged_log_is_recovered_around_the_damage_and_reported(own_daemon):
    from tests.e2e.raw import create_run, raw_stub, record_batch

    ref = {"entity": "raw", "project": "damage", "run_id": "damaged1"}
    channel, stub = raw_stub(own_daemon)
    create_run(channel, ref)
    batches = [record_batch(ref, 1, 1)] + [record_batch(None, 2 + 300 * k, 300) for k in range(20)]
    acks = [r.acked_seq for r in stub(iter(batches))]
    assert acks[-1] == 6001
    channel.close()
    own_daemon.kill()
    wal = next((own_daemon.dirs.base / "root" / "wal").glob("*-damaged1.wal"))
    data = bytearray(wal.read_bytes())
    assert len(data) > 4 * 32768
    data[2 * 32768 + 100] ^= 0xFF  # a flipped byte in the middle of the third block
    wal.write_bytes(bytes(data))
    # Also forget what the store has, so the whole log is replayed on start.
    import sqlite3

    db = sqlite3.connect(own_daemon.dirs.env["TRACKD_ROOT"] + "/trackd.db")
    db.execute("DELETE FROM history")
    db.execute("UPDATE runs SET ingested_seq = 0, history_rows = 0, last_step = -1")
    db.commit()
    db.close()
    own_daemon.start()
    assert "skipped 1 damaged block(s)" in own_daemon.log_text()
    # No client: once recovered the run is marked crashed; every record is in the store then.
    wait_for(lambda: Api().run("raw/damage/damaged1").state == "crashed", timeout=30)
    values = [r["v"] for r in Api().run("raw/damage/damaged1").scan_history()]
    lost = sorted(set(range(6001)) - set(values))
    # Only the records of the damaged block are gone: those before and after it are back.
    assert values == sorted(values) and values[0] == 0 and values[-1] == 6000
    assert 0 < len(lost) < 3000 and lost == list(range(lost[0], lost[-1] + 1))
    assert f"{len(lost)} record(s) were lost" in own_daemon.log_text()
