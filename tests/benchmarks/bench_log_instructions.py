"""What ``log({10 floats})`` costs the caller in CPU instructions, counted under valgrind, run
by hand.

Timings on a shared 2-core machine swing by a third from one round to the next; the number of
instructions a call executes does not (two counts agree within 1 %), so this is how a change
to the caller's path is compared. Each figure is counted in fresh processes under valgrind's
``cachegrind`` (no cache simulation), with and without ``--rows`` calls, and divided by the
rows:

* the loop's own work: a fresh dict of ten floats a step, handed to a function that does
  nothing (the side-by-side benchmark's loop);
* ``pack_row`` on each dict (the row's checks and packing);
* ``run.log`` on each dict, in an offline run whose sender is held (its loop thread waits
  on an event) so that only the caller's thread works; the process ends without
  ``finish()``.

Needs valgrind (Debian's ``valgrind`` package)::

    python tests/benchmarks/bench_log_instructions.py
    python tests/benchmarks/bench_log_instructions.py --rows 50000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

KEYS = [f"metric_{i}" for i in range(10)]  # the side-by-side benchmark's keys


def _loop(fn: Callable[[dict[str, float]], Any], rows: int) -> None:
    for i in range(rows):
        x = i * 1e-3
        fn({k: x + j for j, k in enumerate(KEYS)})


def _child(what: str, rows: int) -> None:
    """Run ``rows`` calls of ``what`` (in the process valgrind counts)."""
    if what == "loop":
        _loop(lambda row: None, rows)
        return
    if what == "pack_row":
        from trackd._shared.row_packing import pack_row

        pack_row({k: 0.5 for k in KEYS})  # its float layout learnt, as in a run
        _loop(pack_row, rows)
        return
    import trackd
    from trackd._transport.connection import get_loop_thread

    run = trackd.init(project="bench-instructions", mode="offline")
    run.log({k: 0.5 for k in KEYS})
    held = threading.Event()
    get_loop_thread().loop.call_soon_threadsafe(held.wait)  # the sender takes nothing
    _loop(run.log, rows)
    sys.stdout.flush()
    os._exit(0)  # no finish(): its work is not the caller's


def _count(what: str, rows: int, env: dict[str, str]) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--child", what, "--rows", str(rows)],
        capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000, help="calls counted (under 100,000)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.rows)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "TRACKD_DIR": home, "TRACKD_SILENT": "true"}
        per: dict[str, float] = {}
        for what in ("loop", "pack_row", "log"):
            per[what] = (_count(what, args.rows, env) - _count(what, 0, env)) / args.rows
    loop = per["loop"]
    print(f"CPU instructions a call, {args.rows:,} calls of ten floats (valgrind):")
    print(f"  the loop's own dict:      {loop:8,.0f}")
    print(f"  pack_row(row):            {per['pack_row'] - loop:8,.0f}")
    print(f"  run.log(row):             {per['log'] - loop:8,.0f}")
    print(f"    of which past pack_row: {per['log'] - per['pack_row']:8,.0f}"
          " (log()'s checks, the timestamp, put_row)")


if __name__ == "__main__":
    main()
