"""Artifact benchmark, run by hand: logging a directory of 1,000 files (512 MiB in all), then
logging it again unchanged, then with one file changed; trackd beside W&B 0.31.0 offline.

    python tests/benchmarks/bench_artifacts.py                       # 1,000 files, 512 MiB
    python tests/benchmarks/bench_artifacts.py --files 200 --mib 64  # smaller
    python tests/benchmarks/bench_artifacts.py --tools daemon        # one side only

Sides (each in a fresh process, against the same directory; the page cache is warm for all):

- ``daemon``: raw gRPC to a fresh daemon: LogArtifact with local paths (no digests: the daemon
  hashes and copies every file, on every core, and fsyncs it) until WatchArtifact reports the
  version committed; then the unchanged directory again (a new process: digests come from the
  daemon's file-stamp cache), then with one file changed.
- ``sdk``: ``trackd.init``, ``Artifact.add_dir``, ``log_artifact``, ``wait()`` (the SDK's own
  digests and staging policy), against a fresh daemon, the same three steps.
- ``wandb``: wandb 0.31.0 offline (``.bench/wandb-venv``, made by ``run_bench.py``):
  ``Artifact.add_dir`` + ``log_artifact`` + ``finish``, the same three steps. Offline, W&B only
  hashes the files (into its staging area for the mutable policy) and stores nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers import DaemonDirs, DaemonProcess

WANDB_PYTHON = REPO / ".bench" / "wandb-venv" / "bin" / "python"

DAEMON_STEP = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import grpc
    from trackd._transport.connection import make_stub
    from trackd.v1 import artifact_pb2 as apb, artifact_service_pb2 as pb
    root, socket = Path(sys.argv[1]), sys.argv[2]
    t0 = time.perf_counter()
    stub = make_stub(grpc.insecure_channel(f"unix:{socket}"), pb, "ArtifactService")
    entries = [apb.ManifestEntry(path=p.relative_to(root).as_posix(), local_path=str(p))
               for p in sorted(root.rglob("*")) if p.is_file()]
    resp = stub.LogArtifact(pb.LogArtifactRequest(entity="bench", project="artifacts",
                                                  name="dir", type="dataset", entries=entries))
    art, new = resp.artifact, 0
    if art.state != apb.ARTIFACT_STATE_COMMITTED:
        for msg in stub.WatchArtifact(pb.WatchArtifactRequest(id=art.id), timeout=600):
            new = msg.progress.bytes_new
            if msg.done:
                art = msg.artifact
    print(json.dumps({"seconds": time.perf_counter() - t0, "version": art.version,
                      "dedup": resp.deduplicated, "bytes_new": new}))
""")

SDK_STEP = textwrap.dedent("""
    import json, sys, time
    root = sys.argv[1]
    t0 = time.perf_counter()
    import trackd
    run = trackd.init(project="artifacts-sdk", entity="bench")
    t1 = time.perf_counter()
    art = trackd.Artifact("dir", type="dataset")
    art.add_dir(root)
    run.log_artifact(art)
    art.wait()
    t2 = time.perf_counter()
    run.finish()
    print(json.dumps({"seconds": t2 - t1, "version": art.version, "total": time.perf_counter() - t0}))
""")

WANDB_STEP = textwrap.dedent("""
    import json, sys, time
    root = sys.argv[1]
    t0 = time.perf_counter()
    import wandb
    run = wandb.init(project="artifacts", mode="offline")
    t1 = time.perf_counter()
    art = wandb.Artifact("dir", type="dataset")
    art.add_dir(root)
    run.log_artifact(art)
    run.finish()
    t2 = time.perf_counter()
    print(json.dumps({"seconds": t2 - t1, "digest": art.digest, "total": t2 - t0}))
""")


def floors(tree: Path, work: Path) -> dict[str, float]:
    """Seconds of the two bounds: MD5 of every file on one core (all W&B offline does), and
    copying every file with an fsync each, 6 threads, no hashing (what storing durably costs
    this disk)."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    paths = sorted(p for p in tree.rglob("*") if p.is_file())
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb") as f:
            hashlib.file_digest(f, "md5")
    md5 = time.perf_counter() - t0
    dst = work / "floor"
    dst.mkdir()

    def copy(i_p: tuple[int, Path]) -> None:
        with open(i_p[1], "rb") as src, open(dst / str(i_p[0]), "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())

    os.sync()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(copy, enumerate(paths)))
    copied = time.perf_counter() - t0
    shutil.rmtree(dst)
    return {"md5, one core": md5, "copy + fsync": copied}


def make_tree(root: Path, files: int, mib: int) -> None:
    size = (mib << 20) // files
    for i in range(files):
        p = root / f"d{i % 10}" / f"f{i:04d}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))


def step(python: str, code: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run([python, "-c", code, *args], env=env, capture_output=True, text=True,
                         timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def three_steps(name: str, python: str, code: str, args: list[str], env: dict[str, str],
                tree: Path) -> list[dict[str, object]]:
    results = []
    for label in ("first log", "unchanged", "one file changed"):
        if label == "one file changed":
            victim = next(iter(sorted(tree.rglob("*.bin"))))
            victim.write_bytes(os.urandom(victim.stat().st_size))
        os.sync()
        r = step(python, code, args, env)
        r["step"] = label
        print(f"  {name:7s} {label:17s} {r['seconds']:7.3f} s   {json.dumps(r)}", flush=True)
        results.append(r)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--tools", default="daemon,sdk,wandb")
    ap.add_argument("--dir", default="", help="where to make the tree (default: a temp dir)")
    args = ap.parse_args()
    tools = args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-art-", dir=args.dir or None))
    tree = work / "tree"
    print(f"making {args.files} files, {args.mib} MiB in {tree} ...", flush=True)
    make_tree(tree, args.files, args.mib)
    os.sync()  # the tree's own writeback must not slow down whichever side runs first
    print(f"cores: {len(os.sched_getaffinity(0))}; every step is a fresh process; page cache "
          "warm", flush=True)
    bounds = floors(tree, work)
    for label, seconds in bounds.items():
        print(f"  floor   {label:17s} {seconds:7.3f} s ({args.mib / seconds:.0f} MiB/s)",
              flush=True)
    summary: dict[str, list[dict[str, object]]] = {}
    try:
        for tool in tools:
            if tool == "wandb":
                if not WANDB_PYTHON.exists():
                    print("  wandb: no venv at .bench/wandb-venv (run run_bench.py once)")
                    continue
                env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
                       "WANDB_DIR": str(work / "wandb"), "WANDB_CACHE_DIR": str(work / "wcache"),
                       "WANDB_DATA_DIR": str(work / "wdata"),
                       "WANDB_CONFIG_DIR": str(work / "wconfig")}
                for d in ("wandb", "wcache", "wdata", "wconfig"):
                    (work / d).mkdir(exist_ok=True)
                summary[tool] = three_steps(tool, str(WANDB_PYTHON), WANDB_STEP, [str(tree)],
                                            env, tree)
                continue
            dirs = DaemonDirs.make()
            daemon = DaemonProcess(dirs)
            daemon.start()
            try:
                env = {**os.environ, **dirs.env}
                if tool == "daemon":
                    summary[tool] = three_steps(tool, sys.executable, DAEMON_STEP,
                                                [str(tree), str(dirs.socket)], env, tree)
                else:
                    env["TRACKD_SILENT"] = "true"
                    env["TRACKD_DIR"] = str(work / "sdk-runs")
                    summary[tool] = three_steps(tool, sys.executable, SDK_STEP, [str(tree)],
                                                env, tree)
            finally:
                daemon.stop()
                dirs.cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mib = args.mib
    print(f"\n| step | {' | '.join(summary)} |\n|---|{'---|' * len(summary)}")
    for i, label in enumerate(("first log", "unchanged", "one file changed")):
        cells = []
        for results in summary.values():
            s = float(results[i]["seconds"])  # type: ignore[arg-type]
            cells.append(f"{s:.3f} s ({mib / s:.0f} MiB/s)" if i == 0 else f"{s:.3f} s")
        print(f"| {label} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
