"""What logging media costs a training loop, trackd against W&B (a by-hand benchmark, not a test).

    python tests/benchmarks/bench_media.py [--steps 500] [--rounds 1] [--wandb-python PATH]

Each case runs in a fresh process per tool, the tools alternating:

* ``images``: ``run.log({"examples": [Image(a) for a in batch]})`` with 16 new random
  256×256×3 uint8 images per step;
* ``histogram``: ``run.log({"h": Histogram(values)})`` with 1,000,000 new random floats per
  step (64 bins).

Figures per tool: the caller's time per step (the ``Image``/``Histogram`` constructors and
``log()``: what the training loop pays), the time from the first step to ``finish()``
returning (everything stored: for trackd, in its daemon; for W&B 0.31.0, offline, in its run
directory), items stored per second over that time, and the training process's CPU time (user
+ system; the daemon / ``wandb-core`` are other processes). The inputs are made outside the
timed calls. W&B runs from its own venv (``.bench/wandb-venv``, made by ``run_bench.py``,
or ``--wandb-python``); trackd from this interpreter against a daemon of its own in
temporary directories.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WORKER = """
import json, os, resource, sys, time
import numpy as np
import {module} as tool

steps, case = {steps}, {case!r}
run = tool.init(project="bench-media", {init})
rng = np.random.default_rng(0)
costs = []
start = time.perf_counter()
for step in range(steps):
    if case == "images":
        batch = rng.integers(0, 256, (16, 256, 256, 3), dtype=np.uint8)
        t = time.perf_counter()
        run.log({{"examples": [tool.Image(a) for a in batch]}})
    else:
        values = rng.standard_normal(1_000_000)
        t = time.perf_counter()
        run.log({{"h": tool.Histogram(values)}})
    costs.append(time.perf_counter() - t)
run.finish()
end = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({{"costs": costs, "wall": end - start,
                               "cpu": usage.ru_utime + usage.ru_stime}}))
"""

TOOLS = {
    "wandb": {"module": "wandb", "init": 'mode="offline", settings=tool.Settings(silent=True)'},
    "trackd": {"module": "trackd", "init": 'settings={"silent": True}'},
}


def run_case(tool: str, python: str, case: str, steps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-media-{tool}-") as tmp:
        env = dict(os.environ, WANDB_DIR=tmp, WANDB_SILENT="true", WANDB_MODE="offline",
                   TRACKD_ROOT=f"{tmp}/root", TRACKD_STATE_DIR=f"{tmp}/state",
                   TRACKD_RUNTIME_DIR=tempfile.mkdtemp(prefix="tdb", dir="/tmp"),
                   TRACKD_UI_PORT="0", TRACKD_DIR=tmp)
        env.pop("TRACKD_ADDRESS", None)
        code = textwrap.dedent(WORKER.format(steps=steps, case=case, **TOOLS[tool]))
        if tool == "trackd":  # start the daemon before the timed part, and stop it after
            code = "import trackd; trackd.setup()\n" + code + "trackd.teardown()\n"
        out = subprocess.run([python, "-c", code], cwd=tmp, env=env, capture_output=True,
                             text=True, timeout=3600)
        line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"{tool} {case} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        data = json.loads(line[7:])
    costs = data["costs"]
    items = steps * (16 if case == "images" else 1)
    return {"step_ms": statistics.mean(costs) * 1e3, "median_ms": statistics.median(costs) * 1e3,
            "wall_s": data["wall"], "per_s": items / data["wall"], "cpu_s": data["cpu"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--cases", default="images,histogram")
    ap.add_argument("--wandb-python", default=str(REPO / ".bench/wandb-venv/bin/python"))
    args = ap.parse_args()
    pythons = {"wandb": args.wandb_python, "trackd": sys.executable}
    for case in args.cases.split(","):
        results: dict[str, list[dict[str, float]]] = {"wandb": [], "trackd": []}
        for _ in range(args.rounds):
            for tool in ("wandb", "trackd"):
                results[tool].append(run_case(tool, pythons[tool], case, args.steps))
        print(f"\n## {case}: {args.steps} steps"
              f" ({'16 images of 256x256x3 uint8' if case == 'images' else '1,000,000 floats, 64 bins'}"
              " per step)\n")
        print("| figure | W&B 0.31.0 | trackd | W&B / trackd |")
        print("|---|---|---|---|")
        unit = "images" if case == "images" else "histograms"
        for key, label in (("step_ms", "caller ms/step (mean)"), ("median_ms", "caller ms/step (median)"),
                           ("wall_s", "first step to finish (s)"), ("per_s", f"{unit} stored per s"),
                           ("cpu_s", "training process CPU (s)")):
            w = min(r[key] for r in results["wandb"]) if key != "per_s" else max(r[key] for r in results["wandb"])
            t = min(r[key] for r in results["trackd"]) if key != "per_s" else max(r[key] for r in results["trackd"])
            ratio = (t / w) if key == "per_s" else (w / t)
            print(f"| {label} | {w:.2f} | {t:.2f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
