"""The SDK's side of logging artifacts, run by hand, beside W&B 0.31.0 offline in the same run:
a directory of 1,000 files (512 MiB), logged, logged again unchanged, then with one file
changed — with the default ``mutable`` policy (files copied into the staging area when added)
and with ``immutable`` (the daemon reads the files where they are).

    python tests/benchmarks/bench_artifacts_sdk.py                       # 1,000 files, 512 MiB
    python tests/benchmarks/bench_artifacts_sdk.py --files 200 --mib 64  # smaller
    python tests/benchmarks/bench_artifacts_sdk.py --rounds 3            # best of 3 per step
    python tests/benchmarks/bench_artifacts_sdk.py --tools wandb,mutable,mutable+sha256

Each step is a fresh process (cold imports, page cache warm) timed from before
``Artifact()``/``add_dir`` to the version being committed (trackd: ``wait()`` returned, every
byte stored and fsynced by the daemon) or to ``finish()`` returning (W&B offline: hashed and
staged, nothing stored). trackd's split between ``add_dir`` (stat, checksum cache, staging
copies) and ``log_artifact`` → ``wait()`` (the daemon hashing and storing) is printed too.
The tools alternate step by step so that both see the same machine; each line shows its ratio
to W&B's time for the same step of the same round (the machine's speed drifts between rounds).
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
    ap.add_argument("--tools", default="wandb,mutable,immutable",
                    help="of wandb, mutable, immutable; a policy + '+sha256' logs into a blob "
                         "store made before BLAKE3 keys (SHA-256 keys)")
    args = ap.parse_args()
    tools = args.tools.split(",")
    best: dict[str, dict[str, dict[str, object]]] = {t: {} for t in tools}
    for rnd in range(args.rounds):
        one_round(args, tools, rnd, best)
    print_table(args, tools, best)
    return 0


def drop_caches() -> bool:
    """Flush and empty the page cache (root only), before every step: each step then starts
    from the same state whatever ran before it. W&B deletes its thousand staging copies when
    its process exits; ext4 without a journal (this machine's) then skips inodes freed within
    the last minute when it makes a file, while their inode blocks are cached, which made the
    next step's staging copies or blobs 0.3-0.8 s slower to create."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def warm(tree: Path) -> None:
    """Read every file of ``tree`` (into the page cache, where each step expects its files):
    a machine that reclaims cold pages on its own (DAMON's pageout here) may have dropped
    some since the tree was written, and a step would then read them from the disk."""
    for p in tree.rglob("*"):
        if p.is_file():
            with open(p, "rb", buffering=0) as f:
                while f.read(1 << 20):
                    pass


def one_round(args: argparse.Namespace, tools: list[str], rnd: int,
              best: dict[str, dict[str, dict[str, object]]]) -> None:
    """Each tool logs its own fresh tree, three steps, taking turns; the best is kept."""
    if not drop_caches() and rnd == 0:
        print("(not root: the page cache is not emptied before each step)")
    work = Path(tempfile.mkdtemp(prefix="bench-sdk-art-"))
    daemons: list[tuple[DaemonDirs, DaemonProcess]] = []
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
            if tool.endswith("+sha256"):  # a blob store made before BLAKE3 keys
                (Path(dirs.env["TRACKD_ROOT"]) / "blobs" / "sha256").mkdir(parents=True)
            daemon = DaemonProcess(dirs)
            daemon.start()
            daemons.append((dirs, daemon))
            envs[tool] = {**os.environ, **dirs.env, "TRACKD_SILENT": "true",
                          "TRACKD_DIR": str(work / f"runs-{tool}"),
                          "TRACKD_CACHE_DIR": str(work / f"cache-{tool}")}
        for label in STEPS:
            wandb_s = 0.0
            for tool, env in envs.items():
                tree = trees[tool]
                if label == "one file changed":
                    victim = min(tree.rglob("*.bin"))
                    victim.write_bytes(os.urandom(victim.stat().st_size))
                drop_caches()
                warm(tree)
                if tool == "wandb":
                    r = step(str(WANDB_PYTHON), WANDB_STEP, [str(tree)], env)
                else:
                    r = step(sys.executable, SDK_STEP, [str(tree), tool.split("+")[0]], env)
                s = float(r["seconds"])  # type: ignore[arg-type]
                if tool == "wandb":
                    wandb_s = s
                ratio = f"{s / wandb_s:5.2f}x W&B" if wandb_s and tool != "wandb" else " " * 10
                print(f"  round {rnd + 1} {tool:14s} {label:17s} {s:7.3f} s {ratio}  "
                      f"{json.dumps(r)}", flush=True)
                old = best[tool].get(label)
                if old is None or float(r["seconds"]) < float(old["seconds"]):  # type: ignore[arg-type]
                    best[tool][label] = r
    finally:
        for dirs, daemon in daemons:
            daemon.stop()
            dirs.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def print_table(args: argparse.Namespace, tools: list[str],
                best: dict[str, dict[str, dict[str, object]]]) -> None:
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
