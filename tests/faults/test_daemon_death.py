"""The daemon dies (SIGKILL) while several processes log: nothing is lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.helpers import wait_for
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


def test_sigkill_while_four_processes_log(own_daemon, tmp_path):
    env = os.environ.copy()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"death{k}", str(ROWS)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(4)]
    try:
        for w in writers:
            assert w.stdout.readline().strip() == "STARTED"
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
