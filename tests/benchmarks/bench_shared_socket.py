"""What the peer-credential relay of a shared socket costs (run by hand; prints figures).

    python tests/benchmarks/bench_shared_socket.py [--rows 50000] [--inits 50] [--repeat 3]

Starts two daemons in temporary directories — one with the default owner-only socket (gRPC
serves it directly) and one with ``TRACKD_SOCKET_MODE=0666`` (every connection relayed with
its SO_PEERCRED) — and times, in a fresh process against each, ``init()`` and logging
``--rows`` rows then ``finish()``. Alternates the two, ``--repeat`` times, and prints the
medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402

CLIENT = """
import json, sys, time
t0 = time.perf_counter()
import trackd
inits = []
for i in range(int(sys.argv[2])):
    s = time.perf_counter()
    run = trackd.init(project="relay", settings=trackd.Settings(silent=True))
    inits.append(time.perf_counter() - s)
    run.finish()
run = trackd.init(project="relay", settings=trackd.Settings(silent=True))
s = time.perf_counter()
for i in range(int(sys.argv[1])):
    run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "step_time": 0.01})
run.finish()
print(json.dumps({"rows_s": time.perf_counter() - s, "init_ms": statistics.median(inits) * 1e3}))
""".replace("import json, sys, time", "import json, statistics, sys, time")


def measure(d: DaemonProcess, rows: int, inits: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKD_")}
    env.update(TRACKD_ADDRESS=f"unix:{d.dirs.socket}", HOME=str(d.dirs.base))
    out = subprocess.run([sys.executable, "-c", CLIENT, str(rows), str(inits)], env=env,
                         capture_output=True, text=True, check=True, cwd=d.dirs.base)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--inits", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    daemons = {}
    for name, mode in (("owner-only", "0600"), ("shared (relayed)", "0666")):
        dirs = DaemonDirs.make()
        dirs.env["TRACKD_SOCKET_MODE"] = mode
        daemons[name] = DaemonProcess(dirs)
        daemons[name].start()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in daemons}
    try:
        for _ in range(args.repeat):
            for name, d in daemons.items():
                results[name].append(measure(d, args.rows, args.inits))
    finally:
        for d in daemons.values():
            d.stop()
            d.dirs.cleanup()
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("rows_s", "init_ms")}
           for name, rs in results.items()}
    print(f"{'socket':<18} {'init() median':>14} {f'{args.rows:,} rows + finish':>22}")
    for name, m in med.items():
        print(f"{name:<18} {m['init_ms']:>11.2f} ms {m['rows_s']:>20.2f} s")
    a, b = med["owner-only"], med["shared (relayed)"]
    print(f"relayed / direct: init {b['init_ms'] / a['init_ms']:.2f}x, "
          f"rows {b['rows_s'] / a['rows_s']:.2f}x")


if __name__ == "__main__":
    main()
