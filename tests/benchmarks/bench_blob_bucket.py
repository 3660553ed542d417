"""Blob store benchmark, run by hand: logging a directory of 1,000 files (512 MiB in all) as an
artifact into an S3-compatible bucket (``TRACKD_BLOB_URL=s3://...``) beside the local store,
then the same directory unchanged, then downloading it through a second daemon of the bucket.

    python tests/benchmarks/bench_blob_bucket.py                       # 1,000 files, 512 MiB
    python tests/benchmarks/bench_blob_bucket.py --files 200 --mib 64  # smaller
    python tests/benchmarks/bench_blob_bucket.py --floors              # + client floors

The bucket is moto's S3 server (``moto_server``, a Python process of its own on loopback): an
S3 stand-in, far slower per request than a real object store, and sharing this machine's cores
with the daemon; the figures bound what the daemon's side costs, not what S3 would take. Each
log is raw gRPC to a fresh daemon (``bench_artifacts.DAEMON_STEP``: LogArtifact with local
paths until WatchArtifact reports the version committed), as in ``bench_artifacts.py``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.benchmarks.bench_artifacts import DAEMON_STEP, make_tree, step  # noqa: E402
from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_DEFAULT_REGION": "us-east-1"}

DOWNLOAD_STEP = textwrap.dedent("""
    import json, sys, time
    import trackd
    t0 = time.perf_counter()
    art = trackd.Api().artifact("bench/artifacts/dir:v0")
    root = art.download(sys.argv[1])
    print(json.dumps({"seconds": time.perf_counter() - t0, "root": root}))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    log = open(work / "moto.out", "wb")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def client_floors(tree: Path, endpoint: str, bucket: str) -> dict[str, tuple[float, float]]:
    """(seconds, CPU seconds of this process) to PUT every file of the tree straight to the
    bucket, 16 threads, no daemon and no hashing: with obstore (the store's client; measured
    after the boto3 run as well, the first run warming the server) and with boto3 (the client
    it was chosen over); then GET them back with obstore. What the bucket itself allows, and
    what each client costs."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    import obstore
    from obstore.store import S3Store

    paths = sorted(p for p in tree.rglob("*") if p.is_file())
    store = S3Store(bucket, prefix="floor-obstore", config={"endpoint": endpoint,
                                                           "region": "us-east-1",
                                                           "access_key_id": "bench",
                                                           "secret_access_key": "bench"},
                    client_options={"allow_http": True})
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    out = {}
    for name, put in (
            ("obstore, first", lambda p: obstore.put(store, p.name, p)),
            ("boto3", lambda p: s3.upload_file(str(p), bucket, f"floor-boto3/{p.name}")),
            ("obstore", lambda p: obstore.put(store, f"again/{p.name}", p)),
            ("obstore GET", lambda p: obstore.get(store, p.name).bytes())):
        t0, c0 = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, paths))
        out[name] = (time.perf_counter() - t0, time.process_time() - c0)
    return out


def daemon(env: dict[str, str]) -> DaemonProcess:
    dirs = DaemonDirs.make()
    dirs.env.update(env)
    d = DaemonProcess(dirs)
    d.start()
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--floors", action="store_true",
                    help="also PUT the files straight to the bucket with obstore and boto3")
    ap.add_argument("--dir", default="", help="where to make the tree (default: a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bucket-", dir=args.dir or None))
    tree = work / "tree"
    print(f"making {args.files} files, {args.mib} MiB in {tree} ...", flush=True)
    make_tree(tree, args.files, args.mib)
    os.sync()
    print(f"cores: {len(os.sched_getaffinity(0))}; every step is a fresh process; page cache "
          "warm", flush=True)
    daemons: list[DaemonProcess] = []
    results: dict[str, float] = {}
    moto: subprocess.Popen[bytes] | None = None

    def log_twice(side: str, env: dict[str, str]) -> DaemonProcess:
        d = daemon(env)
        daemons.append(d)
        run_env = {**os.environ, **d.dirs.env}
        for label in ("first log", "unchanged"):
            os.sync()
            r = step(sys.executable, DAEMON_STEP, [str(tree), str(d.dirs.socket)], run_env)
            seconds = float(r["seconds"])  # type: ignore[arg-type]
            results[f"{side} {label}"] = seconds
            print(f"  {side:6s} {label:10s} {seconds:7.3f} s ({args.mib / seconds:6.0f} MiB/s)"
                  f"  version {r['version']}, new bytes {r['bytes_new']}", flush=True)
        return d

    def download(side: str, d: DaemonProcess, how: str) -> None:
        dest = work / f"downloaded-{side}"
        run_env = {**os.environ, **d.dirs.env, "TRACKD_CACHE_DIR": str(work / f"cache-{side}"),
                   "TRACKD_DATA_DIR": str(work / f"data-{side}")}
        r = step(sys.executable, DOWNLOAD_STEP, [str(dest)], run_env)
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        print(f"  {side:6s} download   {seconds:7.3f} s ({args.mib / seconds:6.0f} MiB/s)  {how}",
              flush=True)
        got = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        assert got == sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())

    try:
        # The local store first: the S3 server's own files must not be in its flushes.
        download("local", log_twice("local", {}), "(the same daemon: by path)")
        moto, endpoint = start_moto(work)
        import boto3

        bucket = f"bench-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                     aws_secret_access_key="bench",
                     region_name="us-east-1").create_bucket(Bucket=bucket)
        s3_env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint,
                  "TRACKD_BLOB_URL": f"s3://{bucket}/bench"}
        if args.floors:
            for name, (seconds, cpu) in client_floors(tree, endpoint, bucket).items():
                verb = "" if name.endswith("GET") else " PUT"
                print(f"  floor  {name:14s}{verb} x{args.files}, 16 threads, no daemon "
                      f"{seconds:7.3f} s ({args.mib / seconds:6.0f} MiB/s), client CPU "
                      f"{cpu:6.2f} s", flush=True)
        writer = log_twice("bucket", s3_env)
        # Another machine's daemon (same bucket, same metadata database) downloads it.
        db = Path(writer.dirs.env["TRACKD_ROOT"]) / "trackd.db"
        reader = daemon({**s3_env, "TRACKD_STORE_URL": f"sqlite:///{db}"})
        daemons.append(reader)
        download("bucket", reader, "(another daemon: from the bucket, over gRPC)")
        ratio = results["bucket first log"] / results["local first log"]
        print(f"  bucket / local, first log: {ratio:.2f}x", flush=True)
    finally:
        for d in daemons:
            d.stop()
            d.dirs.cleanup()
        if moto is not None:
            moto.terminate()
            moto.wait(10)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
