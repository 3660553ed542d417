"""By-hand benchmark: how long a sweep agent waits between asking the daemon for a run and the
run starting, with several agents on one sweep (W&B's agents poll their server every 5 s, so
there a run starts 0-5 s after the agent is ready for it).

Two measurements against a private daemon, each with ``--agents`` agent processes at once:

1. ``NextRun`` alone: each process asks for runs back to back through SweepService (the
   daemon runs the search, records the proposal, answers); the time of each call.
2. The SDK agent: each process runs ``trackd.agent(sweep_id, function=f)``; ``f`` calls
   ``trackd.init()`` and finishes at once. Measured: from the moment the agent is ready for its
   next run (the previous run's function returned, or the agent started) to ``trackd.init()``
   returning in the next one. That is asking, the proposal, the parameter files and the run's
   creation in the daemon: everything between two runs of a sweep.

Run it from the repository root::

    python tests/benchmarks/bench_sweep_latency.py                    # 8 agents, random search
    python tests/benchmarks/bench_sweep_latency.py --method bayes --runs 10

It is not a pytest test (pytest collects no ``bench_*.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402

PARAMETERS = {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
              "layers": {"values": [1, 2, 3, 4]}, "dropout": {"min": 0.0, "max": 0.5}}

NEXT_RUN = textwrap.dedent("""
    import json, sys, time, uuid
    import grpc
    from trackd._transport.connection import make_stub
    from trackd.v1 import sweep_service_pb2 as pb
    socket, sweep_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    stub = make_stub(grpc.insecure_channel(f"unix:{socket}"), pb, "SweepService")
    ref = pb.SweepRef(entity="bench", project="latency", sweep_id=sweep_id)
    agent, times = uuid.uuid4().hex, []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = stub.NextRun(pb.NextRunRequest(ref=ref, agent_id=agent,
                                              request_id=uuid.uuid4().hex, wait_seconds=30))
        times.append(time.perf_counter() - t0)
        assert resp.run_id, resp
    print(json.dumps(times))
""")

AGENT = textwrap.dedent("""
    import json, sys, time
    import trackd
    sweep_id, n = sys.argv[1], int(sys.argv[2])
    gaps, ready = [], [time.perf_counter()]
    def train():
        run = trackd.init()
        gaps.append(time.perf_counter() - ready[0])
        run.log({"loss": run.config["dropout"]})
        run.finish()
        ready[0] = time.perf_counter()
    trackd.agent(sweep_id, function=train, count=n)
    print("GAPS " + json.dumps(gaps))
""")


def _stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return (f"n={len(ms)}  median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  "
            f"max {ms[-1]:7.1f} ms")


def _create(daemon: DaemonProcess, method: str, cap: int) -> str:
    import grpc

    from trackd._transport.connection import make_stub
    from trackd.v1 import sweep_service_pb2 as pb

    config = {"method": method, "metric": {"name": "loss", "goal": "minimize"},
              "parameters": PARAMETERS, "run_cap": cap}
    with grpc.insecure_channel(f"unix:{daemon.dirs.socket}") as channel:
        stub = make_stub(channel, pb, "SweepService")
        return str(stub.CreateSweep(pb.CreateSweepRequest(
            entity="bench", project="latency", config_json=json.dumps(config))).sweep.ref.sweep_id)


def _processes(script: str, args: list[list[str]], env: dict[str, str], cwd: str) -> list[str]:
    procs = [subprocess.Popen([sys.executable, "-c", script, *a], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for a in args]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"a benchmark process failed:\n{err[-3000:]}")
        outs.append(out)
    return outs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--runs", type=int, default=25, help="runs per agent")
    parser.add_argument("--method", default="random", choices=("random", "bayes", "grid"))
    args = parser.parse_args()
    dirs = DaemonDirs.make()
    daemon = DaemonProcess(dirs)
    daemon.start()
    env = {**os.environ, **dirs.env, "TRACKD_SILENT": "true"}
    try:
        sweep_id = _create(daemon, args.method, args.agents * args.runs)
        outs = _processes(NEXT_RUN, [[str(dirs.socket), sweep_id, str(args.runs)]] * args.agents,
                          env, str(dirs.base))
        calls = [t for out in outs for t in json.loads(out)]
        sweep_id = _create(daemon, args.method, args.agents * args.runs)
        outs = _processes(AGENT, [[sweep_id, str(args.runs)]] * args.agents, env,
                          str(dirs.base))
        gaps = [g for out in outs for line in out.splitlines() if line.startswith("GAPS ")
                for g in json.loads(line[5:])]
        first = [g for out in outs for line in out.splitlines() if line.startswith("GAPS ")
                 for g in json.loads(line[5:])[:1]]
        later = [g for out in outs for line in out.splitlines() if line.startswith("GAPS ")
                 for g in json.loads(line[5:])[1:]]
    finally:
        daemon.stop()
        dirs.cleanup()
    print(f"{args.agents} agents, {args.runs} runs each, method {args.method}")
    print(f"  NextRun (ask -> proposal):                      {_stats(calls)}")
    print(f"  SDK agent, ready -> init() returned (all runs):  {_stats(gaps)}")
    print(f"    its first run (agent start included):         {_stats(first)}")
    print(f"    later runs:                                    {_stats(later)}")
    print("  W&B's agent polls every 5 s: 0-5000 ms (2500 on average) before a run starts")


if __name__ == "__main__":
    main()
