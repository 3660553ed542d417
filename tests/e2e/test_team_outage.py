"""The team database goes away for 30 s while three daemons (separate root, state and runtime
directories, standing for three machines; one PostgreSQL database) are being logged to. The
daemons keep acknowledging records (they are in each daemon's write-ahead log), each says so
once in its log, and each stores what it held when the database is back: every run then has
every row once, read back through ``trackd.Api()`` on every daemon."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess
from tests.postgres import PostgresServer, start_server
from trackd import Api

#: Rows each writer logs, and the seconds it spreads them over (the outage falls inside).
ROWS, SECONDS = 3000, 45.0
OUTAGE = 30.0

WRITER = textwrap.dedent("""
    import json, sys, time
    import trackd
    project, rows, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    run = trackd.init(project=project, config={"writer": True})
    print(json.dumps({"path": run.path}), flush=True)
    start = time.monotonic()
    slowest = 0.0
    for step in range(rows):
        t = time.monotonic()
        run.log({"loss": 1.0 / (step + 1), "step_sq": step * step})
        slowest = max(slowest, time.monotonic() - t)
        wait = start + seconds * (step + 1) / rows - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    logged = time.monotonic() - start
    run.finish()
    print(json.dumps({"logged_s": logged, "slowest_log_s": slowest}), flush=True)
""")


#: About 75 s here (the 30 s outage within a 45 s logging window), more on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped and started again."""
    s = start_server()
    yield s
    s.stop()


def _sdk_env(d: DaemonProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WANDB_MODE", "TRACKD_MODE", "WANDB_PROJECT", "WANDB_RUN_ID",
                        "WANDB_ENTITY")}
    env.update(d.dirs.env)
    env["TRACKD_CACHE_DIR"] = str(d.dirs.base / "cache")
    env["TRACKD_DATA_DIR"] = str(d.dirs.base / "data")
    return env


def test_the_database_stopped_for_30s_while_three_daemons_log(
        server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.create_database("outage")
    project = f"outage-{os.getpid()}"
    daemons: list[DaemonProcess] = []
    writers: list[subprocess.Popen[str]] = []
    try:
        for _ in range(3):
            dirs = DaemonDirs.make()
            dirs.env["TRACKD_STORE_URL"] = url
            d = DaemonProcess(dirs)
            d.start()
            daemons.append(d)
        script = tmp_path / "writer.py"
        script.write_text(WRITER)
        # Two writers per daemon, each its own run.
        for d in daemons:
            for _ in range(2):
                writers.append(subprocess.Popen(
                    [sys.executable, str(script), project, str(ROWS), str(SECONDS)],
                    env=_sdk_env(d), cwd=tmp_path, stdout=subprocess.PIPE, text=True))
        paths = [json.loads(w.stdout.readline())["path"] for w in writers]  # type: ignore[union-attr]
        time.sleep(4.0)  # rows are flowing into the database
        server.halt()
        time.sleep(OUTAGE)
        server.resume()
        results = []
        for w in writers:
            out, _ = w.communicate(timeout=180)
            assert w.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    try:
        # The writers were never held up by the outage: logging kept its pace.
        for r in results:
            assert r["logged_s"] < SECONDS + 5, r
        for d in daemons:
            text = d.log_text()
            # One warning of the outage (not one per record or round) and one of the return.
            assert text.count("records are still accepted") == 1, text[-3000:]
            assert text.count("the store is back after") == 1, text[-3000:]
            # Thousands of records (two writers' 30 s) were taken while it was away.
            held = int(re.search(r"storing the (\d+) record", text).group(1))  # type: ignore[union-attr]
            assert held >= 1000, held
        for d in daemons:
            trackd.teardown()
            for k, v in _sdk_env(d).items():
                monkeypatch.setenv(k, v)
            api = Api()
            listed = {"/".join(r.path) for r in api.runs(project)}
            assert listed == set(paths)
            for path in paths:
                run = api.run(path)
                assert run.state == "finished"
                steps = [row["_step"] for row in run.scan_history(keys=["loss"])]
                assert steps == list(range(ROWS))
                assert run.summary["loss"] == 1.0 / ROWS
        with psycopg.connect(url) as conn:  # counted once, stored once
            counts = conn.execute(
                "SELECT r.history_rows, (SELECT COUNT(*) FROM history h WHERE h.run = r.id)"
                " FROM runs r").fetchall()
        assert counts == [(ROWS, ROWS)] * len(paths)
    finally:
        trackd.teardown()
        for d in daemons:
            d.stop()
            d.dirs.cleanup()
