"""The SDK's side of logging artifacts, run by hand, beside W&B 0.31.0 offline in the same run:
a directory of 1,000 files (512 MiB), logged, logged again unchanged, then with one file
changed — with the default ``mutable`` policy (files copied into the staging area when added)
and with ``immutable`` (the daemon reads the files where they are).

    python tests/benchmarks/bench_artifacts_sdk.py                       # 1,000 files, 512 MiB
    python tests/benchmarks/bench_artifacts_sdk.py --files 200 --mib 64  # smaller
    python tests/benchmarks/bench_artifacts_sdk.py --rounds 3            # best of 3 per step

Each step is a fresh process (cold imports, page cache warm) timed from before
``Artifact()``/``add_dir`` to the version being committed (trackd: ``wait()`` returned, every
byte stored and fsynced by the daemon) or to ``finish()`` returning (W&B offline: hashed and
staged, nothing stored). trackd's split between ``add_dir`` (stat, checksum cache, staging
copies) and ``log_artifact`` → ``wait()`` (the daemon hashing and storing) is printed too.
The tools alternate step by step so that both see the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.bench_artifacts import WANDB_PYTHON, WANDB_STEP, make_tree, step
from tests.helpers import DaemonDirs, DaemonProcess

SDK_STEP = textwrap.dedent("""
    import json, sys, time
    root, policy = sys.argv[1], sys.argv[2]
    import trackd
    run = trackd.init(project="bench-" + policy, entity="bench")
    t0 = time.perf_counter()
    art = trackd.Artifact("dir", type="dataset")
    art.add_dir(root, policy=policy)
    t1 = time.perf_counter()
    run.log_artifact(art)
    t2 = time.perf_counter()
    art.wait()
    t3 = time.perf_counter()
    run.finish()
    print(json.dumps({"seconds": t3 - t0, "add_dir": t1 - t0, "log_artifact": t2 - t1,
                      "wait": t3 - t2, "version": art.version,
                      "dedup": art._save_job.deduplicated,
                      "bytes_new": art._save_job.progress.bytes_new}))
""")

STEPS = ("first log", "unchanged", "one file changed")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=1, help="repeat; the best of each is kept")
    ap.add_argument("--tools", default="wandb,mutable,immutable")
    args = ap.parse_args()
    tools = args.tools.split(",")
    best: dict[str, dict[str, dict[str, object]]] = {t: {} for t in tools}
    for rnd in range(args.rounds):
        work = Path(tempfile.mkdtemp(prefix="bench-sdk-art-"))
        daemons: dict[str, tuple[DaemonDirs, DaemonProcess]] = {}
        try:
            trees = {}
            for tool in tools:  # each tool its own copy: the one-file change hits each once
                trees[tool] = work / f"tree-{tool}"
                make_tree(trees[tool], args.files, args.mib)
            os.sync()
            envs = {}
            for tool in tools:
                if tool == "wandb":
                    if not WANDB_PYTHON.exists():
                        print("wandb: no venv at .bench/wandb-venv (run run_bench.py once)")
                        continue
                    envs[tool] = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
                                  "WANDB_DIR": str(work / "w"), "WANDB_CACHE_DIR": str(work / "wc"),
                                  "WANDB_DATA_DIR": str(work / "wd"),
                                  "WANDB_CONFIG_DIR": str(work / "wcfg")}
                    for d in ("w", "wc", "wd", "wcfg"):
                        (work / d).mkdir(exist_ok=True)
                    continue
                dirs = DaemonDirs.make()
                daemon = DaemonProcess(dirs)
                daemon.start()
                daemons[tool] = (dirs, daemon)
                envs[tool] = {**os.environ, **dirs.env, "TRACKD_SILENT": "true",
                              "TRACKD_DIR": str(work / f"runs-{tool}"),
                              "TRACKD_CACHE_DIR": str(work / f"cache-{tool}")}
            for label in STEPS:
                for tool, env in envs.items():
                    tree = trees[tool]
                    if label == "one file changed":
                        victim = min(tree.rglob("*.bin"))
                        victim.write_bytes(os.urandom(victim.stat().st_size))
                    os.sync()
                    if tool == "wandb":
                        r = step(str(WANDB_PYTHON), WANDB_STEP, [str(tree)], env)
                    else:
                        r = step(sys.executable, SDK_STEP, [str(tree), tool], env)
                    print(f"  round {rnd + 1} {tool:9s} {label:17s} {float(r['seconds']):7.3f} s  "
                          f"{json.dumps(r)}", flush=True)
                    old = best[tool].get(label)
                    if old is None or float(r["seconds"]) < float(old["seconds"]):  # type: ignore[arg-type]
                        best[tool][label] = r
        finally:
            for dirs, daemon in daemons.values():
                daemon.stop()
                dirs.cleanup()
            shutil.rmtree(work, ignore_errors=True)
    shown = [t for t in tools if best[t]]
    print(f"\ncores: {len(os.sched_getaffinity(0))}; {args.files} files, {args.mib} MiB; best of "
          f"{args.rounds}\n")
    print(f"| step | {' | '.join(shown)} |\n|---|{'---|' * len(shown)}")
    for label in STEPS:
        cells = []
        for t in shown:
            r = best[t][label]
            s = float(r["seconds"])  # type: ignore[arg-type]
            cell = f"{s:.3f} s" + (f" ({args.mib / s:.0f} MiB/s)" if label == "first log" else "")
            if t != "wandb":
                cell += f" [add_dir {float(r['add_dir']):.3f} + wait {float(r['wait']):.3f}]"  # type: ignore[arg-type]
            cells.append(cell)
        print(f"| {label} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
