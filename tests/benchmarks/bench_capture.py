"""What console capture and system-metrics sampling cost (a by-hand benchmark, not a test).

    python tests/benchmarks/bench_capture.py [--lines 20000] [--seconds 10] [--rounds 3]

Starts a daemon of its own in temporary directories and measures, each in a fresh process:

1. console capture: the time of ``print()`` per line and of a tqdm loop (default redraw rate)
   with ``console`` off, wrap_raw (the default), wrap_emu and redirect;
2. sampling: the time of a fixed CPU-bound training loop with system metrics off and sampled
   every second (the sampling runs in the daemon, so the two should match), the daemon's CPU
   time per sample, and the cost of one sample taken in-process (machine + process tree).

Each figure is the best of ``--rounds`` runs, the cases alternating, so that other load on the
machine disturbs the comparison as little as it can.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CONSOLE = """
import io, json, sys, time
import trackd
from tqdm import tqdm

run = trackd.init(project="bench", settings={{"console": {mode!r}, "x_disable_stats": True}})
t = time.perf_counter()
for i in range({lines}):
    print(f"step {{i}} loss {{1.0 / (i + 1):.6f}}")
lines = time.perf_counter() - t
t = time.perf_counter()
for _ in tqdm(range(200_000)):
    pass
bar = time.perf_counter() - t
t = time.perf_counter()
run.finish(quiet=True)
finish = time.perf_counter() - t
print(json.dumps({{"lines": lines, "bar": bar, "finish": finish}}), file=sys.__stderr__)
"""

TRAIN = """
import json, sys, time
import trackd

run = trackd.init(project="bench", settings={settings!r})
time.sleep(1.5)
t = time.perf_counter()
end = t + {seconds}
steps = 0
while time.perf_counter() < end:
    sum(i * i for i in range(20_000))
    steps += 1
elapsed = time.perf_counter() - t
run.finish(quiet=True)
print(json.dumps({{"steps_per_s": steps / elapsed, "path": run.path}}), file=sys.__stderr__)
"""


def _script(code: str, cwd: Path) -> dict[str, float]:
    path = cwd / "bench_script.py"
    path.write_text(textwrap.dedent(code))
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.decode())
    return json.loads(proc.stderr.decode().strip().splitlines()[-1])


def _cpu_seconds(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from tests.helpers import DaemonDirs, DaemonProcess

    dirs = DaemonDirs.make()
    os.environ.update(dirs.env)
    daemon = DaemonProcess(dirs)
    daemon.start()
    work = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    try:
        print(f"console capture, {args.lines} print() lines and a 200,000-step tqdm loop "
              f"(best of {args.rounds}):")
        modes = ("off", "wrap_raw", "wrap_emu", "redirect")
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for mode in modes:
                got = _script(CONSOLE.format(mode=mode, lines=args.lines), work)
                prev = best.setdefault(mode, got)
                best[mode] = {k: min(prev[k], got[k]) for k in got}
        base = best["off"]
        for mode in modes:
            got = best[mode]
            per_line = got["lines"] / args.lines * 1e6
            print(f"  {mode:<9} print {per_line:6.2f} µs/line ({got['lines'] / base['lines']:.2f}x)"
                  f"  tqdm loop {got['bar']:.2f} s ({got['bar'] / base['bar']:.2f}x)"
                  f"  finish {got['finish']:.2f} s")

        print(f"system metrics, a CPU-bound loop for {args.seconds:.0f} s (best of "
              f"{args.rounds}):")
        rate = {"off": 0.0, "on": 0.0}
        daemon_ms = []
        samples = 0
        import trackd

        for _ in range(args.rounds):
            off = _script(TRAIN.format(settings={"x_disable_stats": True},
                                       seconds=args.seconds), work)
            rate["off"] = max(rate["off"], off["steps_per_s"])
            before = _cpu_seconds(daemon.pid)
            on = _script(TRAIN.format(settings={"x_stats_sampling_interval": 1},
                                      seconds=args.seconds), work)
            daemon_cpu = _cpu_seconds(daemon.pid) - before
            rate["on"] = max(rate["on"], on["steps_per_s"])
            samples = len(trackd.Api().run(on["path"]).history(stream="system", samples=0,
                                                                      pandas=False))
            daemon_ms.append(daemon_cpu / max(samples, 1) * 1000)
        print(f"  off       {rate['off']:.1f} steps/s")
        print(f"  every 1 s {rate['on']:.1f} steps/s ({rate['on'] / rate['off']:.3f}x), "
              f"{samples} samples a run")
        print(f"  daemon CPU per sample, with the run's own ingest: {min(daemon_ms):.1f} ms")

        from trackd_daemon.sysmetrics.sampler import MachineSampler, TreeSampler

        machine = MachineSampler()
        tree = TreeSampler(daemon.pid, machine.read())
        n = 50
        t = time.perf_counter()
        for _ in range(n):
            tree.sample(machine.read())
        print(f"  one sample in-process (machine + a process tree): "
              f"{(time.perf_counter() - t) / n * 1000:.2f} ms")
        trackd.teardown()
    finally:
        daemon.stop()
        dirs.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
