"""What ``log({10 floats})`` costs the caller by itself, without the daemon beside it, run
by hand.

The side-by-side benchmark times ``log()`` while the daemon ingests the same rows, on the
same cores. This times the same loop both ways, rounds alternated:

* ``log()`` with the daemon ingesting as it goes (what ``run_bench.py`` reports);
* ``log()`` with the daemon stopped (SIGSTOP) for the loop: the rows wait in the SDK's buffer
  (``--rows`` stays under its bound of 100,000 records), the daemon is continued before
  ``finish()``, and every row is checked as stored. What is left is the SDK's own work in
  the caller's thread.

Each figure is the loop's time less the time of the same loop without logging, a row, the
best of ``--rounds`` (the daemon is the benchmark's own, in a temporary directory)::

    python tests/benchmarks/bench_log_alone.py
    python tests/benchmarks/bench_log_alone.py --rows 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))  # the side-by-side benchmark's worker: the same loop

from bench_worker import _keys, _log_loop, _noop

from tests.helpers import DaemonDirs, DaemonProcess

KEYS = _keys(10)


def loop(fn: Callable[[dict[str, float]], Any], rows: int) -> float:
    """The side-by-side benchmark's loop: seconds for ``rows`` fresh rows of ten floats."""
    return _log_loop(fn, KEYS, rows)


def log_cost(trackd: Any, daemon_pid: int, rows: int, stop_daemon: bool) -> float:
    """µs a row that ``log()`` adds to the loop, with the daemon running or stopped."""
    base = loop(_noop, rows)
    run = trackd.init(project="bench-log-alone")
    if stop_daemon:
        os.kill(daemon_pid, signal.SIGSTOP)
    try:
        t = loop(run.log, rows)
    finally:
        if stop_daemon:
            os.kill(daemon_pid, signal.SIGCONT)
    run.finish()
    stored = trackd.Api().run(run.path).history_rows
    if stored != rows:
        raise SystemExit(f"run {run.path}: {stored} rows stored of {rows}")
    return (t - base) / rows * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=90_000,
                    help="rows a loop (under the SDK's buffer bound of 100,000 records)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each; the best is shown")
    args = ap.parse_args()

    print(f"cores: {os.cpu_count()}; {args.rows:,} rows of ten floats a loop")
    dirs = DaemonDirs.make()
    daemon = DaemonProcess(dirs)
    daemon.start()
    os.environ.update(dirs.env)
    os.environ["TRACKD_SILENT"] = "true"
    import trackd

    try:
        assert daemon.proc is not None
        pid = daemon.proc.pid
        running, stopped = [], []
        for _ in range(args.rounds):  # alternated: the machine's noise falls on both
            running.append(log_cost(trackd, pid, args.rows, stop_daemon=False))
            stopped.append(log_cost(trackd, pid, args.rows, stop_daemon=True))
        print(f"log(), the daemon ingesting:       {min(running):6.2f} µs a row "
              f"(rounds: {', '.join(f'{v:.2f}' for v in running)})")
        print(f"log(), the daemon stopped:         {min(stopped):6.2f} µs a row "
              f"(rounds: {', '.join(f'{v:.2f}' for v in stopped)})")
    finally:
        trackd.teardown()
        daemon.stop()
        dirs.cleanup()


if __name__ == "__main__":
    main()
