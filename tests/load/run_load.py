"""Load and soak generator for the trackd daemon (run by hand; prints figures).

    python tests/load/run_load.py                       # 64 clients, 1,000 runs, 2-minute soak
    python tests/load/run_load.py --clients 64 --runs 1000 --soak 600

It starts a daemon of its own in temporary directories, then:

1. **burst**: ``--clients`` processes create ``--runs`` runs between them as fast as they can
   (each run logs ``--rows`` rows and finishes), recording every ``init()`` latency;
2. **soak**: the same processes log continuously for ``--soak`` seconds at ``--rate`` rows per
   second each, while the daemon's RSS and its mailbox statistics (GetDaemonInfo) are sampled
   every second.

It prints init() latency percentiles, runs per minute, rows per second held, the daemon's RSS
at the start and end of the soak and its peak, and the largest mailbox fill seen; with
``--json`` it also writes them to a file. Every run's row count is checked at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _client(index: int, runs: int, rows: int, soak: float, rate: float, start: float,
            out: mp.Queue) -> None:  # type: ignore[type-arg]
    import trackd

    latencies, paths = [], []
    for r in range(runs):
        t0 = time.perf_counter()
        run = trackd.init(project="load", id=f"c{index}r{r}", reinit="create_new",
                          settings=trackd.Settings(silent=True))
        latencies.append(time.perf_counter() - t0)
        for i in range(rows):
            run.log({"i": i, "loss": 1.0 / (i + 1)})
        run.finish()
        paths.append(run.path)
    burst_done = time.time()
    soaked = 0
    if soak > 0:
        while time.time() < start:
            time.sleep(0.01)
        run = trackd.init(project="soak", id=f"soak{index}", settings=trackd.Settings(silent=True))
        end = time.time() + soak
        interval = 1.0 / rate
        next_at = time.time()
        while time.time() < end:
            run.log({"i": soaked, "x": soaked * 0.5})
            soaked += 1
            next_at += interval
            delay = next_at - time.time()
            if delay > 0:
                time.sleep(delay)
        run.finish()
        paths.append(run.path)
    out.put({"latencies": latencies, "paths": paths, "soaked": soaked, "rows": rows,
             "burst_done": burst_done})
    trackd.teardown()


def _pct(values: list[float], q: float) -> float | None:
    """The q-quantile of sorted seconds, in ms."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, int(len(values) * q + 0.5) - 1))] * 1e3


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--runs", type=int, default=1000, help="runs created in the burst, in all")
    ap.add_argument("--rows", type=int, default=20, help="rows logged to each burst run")
    ap.add_argument("--soak", type=float, default=120.0, help="seconds of continuous logging")
    ap.add_argument("--rate", type=float, default=50.0, help="rows per second per client")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="trackd-load-"))
    runtime = Path(tempfile.mkdtemp(prefix="tdl", dir="/tmp"))
    env = {"TRACKD_ROOT": str(base / "root"), "TRACKD_STATE_DIR": str(base / "state"),
           "TRACKD_RUNTIME_DIR": str(runtime), "TRACKD_ADDRESS": f"unix:{runtime}/trackd.sock"}
    os.environ.update(env)
    daemon = subprocess.Popen([sys.executable, "-m", "trackd_daemon"], env={**os.environ},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from trackd._daemon import reachable

    while not reachable(env["TRACKD_ADDRESS"]):
        time.sleep(0.05)
    samples: list[tuple[float, int, int]] = []  # (time, rss KiB, largest mailbox fill)
    stop = threading.Event()

    def sample() -> None:
        from trackd._connection import get_connection
        from trackd.v1 import daemon_service_pb2

        conn = get_connection(env["TRACKD_ADDRESS"])
        while not stop.is_set():
            info = conn.unary(conn.daemon.GetDaemonInfo, daemon_service_pb2.GetDaemonInfoRequest(),
                              timeout=10)
            fill = max((q.used for q in info.queues), default=0)
            samples.append((time.time(), _rss_kib(daemon.pid), fill))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    per_client = [args.runs // args.clients + (i < args.runs % args.clients)
                  for i in range(args.clients)]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    t0 = time.time()
    # The soak starts for everyone at once, after the burst (clients wait for this moment).
    soak_start = t0 + 10 + args.runs * 0.05 + args.clients * 0.5
    procs = [ctx.Process(target=_client, args=(i, per_client[i], args.rows, args.soak,
                                                args.rate, soak_start, out))
             for i in range(args.clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=args.soak + 900) for _ in procs]
    for p in procs:
        p.join(60)
    stop.set()
    sampler.join(5)

    latencies = sorted(x for r in results for x in r["latencies"])
    # Steady state: without each process's first init() (it imports gRPC and connects).
    steady = sorted(x for r in results for x in r["latencies"][1:])
    burst_end = max(r["burst_done"] for r in results)
    soak_samples = [s for s in samples if s[0] >= soak_start]
    import trackd

    api = trackd.Api()
    missing = 0
    for r in results:
        for path in r["paths"]:
            stored = api.run(path)
            want = r["soaked"] if "/soak/" in path else r["rows"]
            missing += abs(stored.history_rows - want)
    figures = {
        "clients": args.clients,
        "runs": len(latencies),
        "runs_per_minute": len(latencies) / max(1e-9, burst_end - t0) * 60,
        "init_p50_ms": statistics.median(latencies) * 1e3 if latencies else None,
        "init_p99_ms": _pct(latencies, 0.99),
        "init_p99_ms_steady": _pct(steady, 0.99),
        "init_p50_ms_steady": _pct(steady, 0.50),
        "soak_seconds": args.soak,
        "soak_rows_per_second": sum(r["soaked"] for r in results) / args.soak if args.soak else 0,
        "daemon_rss_soak_start_mib": soak_samples[0][1] / 1024 if soak_samples else None,
        "daemon_rss_soak_end_mib": soak_samples[-1][1] / 1024 if soak_samples else None,
        "daemon_rss_peak_mib": max(s[1] for s in samples) / 1024 if samples else None,
        "largest_mailbox_fill": max(s[2] for s in samples) if samples else None,
        "rows_lost": missing,
    }
    trackd.teardown()
    daemon.terminate()
    daemon.wait(60)
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(runtime, ignore_errors=True)
    for k, v in figures.items():
        print(f"{k:28} {v:.1f}" if isinstance(v, float) else f"{k:28} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
