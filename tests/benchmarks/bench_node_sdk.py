"""The Node SDK beside the Python SDK, by hand: ``log()`` of 10 floats per call (the caller's
cost) and 100,000 rows end to end (first ``log()`` to ``finish()`` returning), each SDK in
fresh processes against one daemon of the benchmark's own, alternating, best of ``--repeat``.

    python tests/benchmarks/bench_node_sdk.py [--rows 100000] [--keys 10] [--repeat 3]

Needs ``sdk/node`` built (``cd sdk/node && npm ci && npm run build``). Not a pytest test.

The Node figure of ``log()`` is taken twice: with the default buffer (10,000 records), where a
loop that logs faster than the sender sends awaits the promise ``log()`` returns when the
buffer is full, so the loop's time includes sending (one thread does both); and with a buffer
as large as the run ("enqueue only"), the caller's own cost. Python's sender has a thread of
its own, so its ``log()`` cost is the caller's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402


def python_worker(rows: int, nkeys: int) -> None:
    """One Python measurement (this file with --worker), printed as JSON."""
    keys = [f"m{j:04d}" for j in range(nkeys)]
    perf = time.perf_counter

    def loop(fn) -> float:  # type: ignore[no-untyped-def]
        t0 = perf()
        for i in range(rows):
            x = i * 1e-3
            fn({k: x + j for j, k in enumerate(keys)})
        return perf() - t0

    baseline = loop(lambda _row: None)
    t0 = perf()
    import trackd

    run = trackd.init(project="bench-node", settings=trackd.Settings(
        console="off", x_disable_stats=True, silent=True))
    init_s = perf() - t0
    t1 = perf()
    loop_s = loop(run.log)
    t2 = perf()
    run.finish()
    t3 = perf()
    api_run = trackd.Api().run(run.path)
    print(json.dumps({
        "sdk": "python", "rows": rows, "keys": nkeys, "path": run.path, "init_s": init_s,
        "baseline_loop_s": baseline, "log_loop_s": loop_s,
        "log_us": (loop_s - baseline) / rows * 1e6, "finish_s": t3 - t2, "wall_s": t3 - t1,
        "history_rows": api_run.history_rows, "state": api_run.state,
    }))


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", choices=["python"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        python_worker(args.rows, args.keys)
        return 0
    node_entry = ROOT / "sdk" / "node" / "dist" / "index.js"
    if not node_entry.exists():
        raise SystemExit("build the Node SDK first: cd sdk/node && npm ci && npm run build")
    dirs = DaemonDirs.make(crash_grace=30)
    daemon = DaemonProcess(dirs)
    daemon.start()
    env = {**os.environ, **dirs.env, "TRACKD_ENTITY": "bench"}
    node = ["node", str(HERE / "bench_node_sdk.mjs"), str(args.rows), str(args.keys)]
    workers = {
        "python": [sys.executable, str(Path(__file__)), "--worker", "python",
                   "--rows", str(args.rows), "--keys", str(args.keys)],
        "node": node,
        "node (enqueue only)": [*node, str(args.rows + 1)],
    }
    results: dict[str, list[dict]] = {name: [] for name in workers}
    try:
        for _ in range(args.repeat):
            for name, cmd in workers.items():
                r = measure(cmd, env)
                if r["history_rows"] != args.rows or r["state"] != "finished":
                    raise SystemExit(f"{name}: stored {r['history_rows']} rows, {r['state']}")
                results[name].append(r)
    finally:
        daemon.stop()
        dirs.cleanup()

    def best(name: str, key: str) -> float:
        return min(r[key] for r in results[name])

    print(f"\n{args.rows:,} rows x {args.keys} floats per log() call, best of {args.repeat}, "
          f"one daemon ({os.cpu_count()} CPUs)\n")
    print("| SDK | log() µs/call | loop s | finish s | first log() to finished, s | rows/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in workers:
        wall = best(name, "wall_s")
        print(f"| {name} | {best(name, 'log_us'):.2f} | {best(name, 'log_loop_s'):.2f} | "
              f"{best(name, 'finish_s'):.2f} | {wall:.2f} | {args.rows / wall:,.0f} |")
    py_wall, node_wall = best("python", "wall_s"), best("node", "wall_s")
    py_log, node_log = best("python", "log_us"), best("node (enqueue only)", "log_us")
    print(f"\nnode / python: end to end {node_wall / py_wall:.2f}x, log() caller cost "
          f"{node_log / py_log:.2f}x (target: within 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
