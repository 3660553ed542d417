"""Where the time of storing a directory goes, run by hand: the disk, the hashes, copies and
flushes, and the daemon's own blob store (no gRPC, no metadata store), on every core.

    python tests/benchmarks/bench_artifact_floors.py                  # 1,000 files, 512 MiB
    python tests/benchmarks/bench_artifact_floors.py 200 64 /tmp/x     # files, MiB, work dir

Each line is one way of handling the whole tree, timed (the tree is in the page cache):
W&B's work (copy and MD5, no flush), the same made durable (one ``syncfs``), and the blob
store's ``prepare`` (copy, key hash and MD5) then ``publish`` in batches, twice with each key
hash (BLAKE3, the default; SHA-256, kept by stores made before BLAKE3 keys), taking turns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.bench_artifacts import make_tree
from trackd_daemon.actors.artifacts import RECORD_BATCH, WORKERS
from trackd_daemon.blobs.flush import sync_filesystem
from trackd_daemon.blobs.keys import KEY_HASHES
from trackd_daemon.blobs.local import LocalBlobStore


def main() -> int:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    base = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/trackd-artifact-floors")
    shutil.rmtree(base, ignore_errors=True)
    tree = base / "tree"
    make_tree(tree, files, mib)
    os.sync()
    paths = sorted(p for p in tree.rglob("*") if p.is_file())
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, {WORKERS} daemon workers, {files} files, {mib} MiB")

    def timed(label: str, fn: Callable[[], object]) -> None:
        os.sync()
        t = time.perf_counter()
        fn()
        s = time.perf_counter() - t
        print(f"{label:52s} {s:6.3f} s  {mib / s:7.0f} MiB/s", flush=True)

    def one_file_durable() -> None:
        with open(base / "one", "wb") as f:
            chunk = os.urandom(1 << 20)
            f.writelines(chunk for _ in range(mib))
            f.flush()
            os.fdatasync(f.fileno())

    def hash_all(threads: int, algos: list[str]) -> None:
        def one(p: Path) -> None:
            hs = [KEY_HASHES[a]() if a in KEY_HASHES else hashlib.new(a) for a in algos]
            with open(p, "rb") as f:
                while b := f.read(1 << 20):
                    for h in hs:
                        h.update(b)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, paths))

    def copy_md5(dst: Path, flush: bool) -> None:
        dst.mkdir()

        def one(i_p: tuple[int, Path]) -> None:
            h = hashlib.md5()
            with open(i_p[1], "rb") as f, open(dst / str(i_p[0]), "wb") as out:
                while b := f.read(1 << 20):
                    h.update(b)
                    out.write(b)
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(one, enumerate(paths)))
        if flush:
            sync_filesystem(dst)

    timed("one file written, then fdatasync", one_file_durable)
    timed("MD5, 1 thread", lambda: hash_all(1, ["md5"]))
    timed(f"MD5, {cores} threads", lambda: hash_all(cores, ["md5"]))
    timed(f"MD5 + SHA-256, {cores} threads", lambda: hash_all(cores, ["md5", "sha256"]))
    timed(f"MD5 + BLAKE3, {cores} threads", lambda: hash_all(cores, ["md5", "blake3"]))
    timed(f"copy + MD5 (W&B's work), {cores} threads", lambda: copy_md5(base / "c1", False))
    timed(f"copy + MD5, {cores} threads, then syncfs", lambda: copy_md5(base / "c2", True))
    for n, key_hash in enumerate(("blake3", "sha256", "blake3", "sha256")):
        (base / f"blobs{n}" / key_hash).mkdir(parents=True)  # sha256/: a store made before BLAKE3
        store = LocalBlobStore(base / f"blobs{n}")
        assert store.key_hash == key_hash
        os.sync()
        t = time.perf_counter()
        with ThreadPoolExecutor(WORKERS) as pool:
            pending = list(pool.map(store.prepare, paths))
        prepared = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(0, len(pending), RECORD_BATCH):
            store.publish(pending[i:i + RECORD_BATCH])
        published = time.perf_counter() - t
        total = prepared + published
        print(f"blob store, {key_hash} keys: prepare (copy, key, MD5) {prepared:.3f} s, publish "
              f"in batches of "
              f"{RECORD_BATCH} {published:.3f} s; {total:.3f} s ({mib / total:.0f} MiB/s)",
              flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
