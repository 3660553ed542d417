"""Multipart vs single-stream artifact downloads, run by hand; prints seconds and MiB/s.

    python tests/benchmarks/bench_multipart_download.py                # 500 MiB, best of 3
    python tests/benchmarks/bench_multipart_download.py --mib 200 --rounds 2
    python tests/benchmarks/bench_multipart_download.py --part-mib 50

One file is logged to a daemon of its own; then it is downloaded with ``skip_cache=True``
(``multipart=False``: one ReadArtifactFile stream; ``multipart=True``: parts of ``--part-mib``
MiB, at most ``ranged.PARTS_IN_FLIGHT`` at once), the two alternating round by round. The
client is told the daemon is on another machine, so the bytes travel over gRPC as they would
from a remote daemon (a daemon on this machine whose blobs this user may read is copied or
hard-linked from, which no split changes). Every download is checked (MD5 against the
manifest) by the SDK itself, and the result is compared with the source here.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402 - after the path is set


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=500, help="file size in MiB")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--part-mib", type=int, default=0, help="part size (default: ranged's)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-multipart-"))
    dirs = DaemonDirs.make()
    daemon = DaemonProcess(dirs)
    daemon.start()
    try:
        os.environ.update({**dirs.env, "TRACKD_SILENT": "true", "TRACKD_DIR": str(work / "runs"),
                           "TRACKD_CACHE_DIR": str(work / "cache"),
                           "TRACKD_DATA_DIR": str(work / "data")})
        import trackd
        from trackd._transport import artifact_client as client
        from trackd.artifacts import ranged

        if args.part_mib:
            ranged.PART_SIZE = args.part_mib << 20
        src = work / "big.bin"
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        want = md5(src)
        with trackd.init(project="bench") as run:
            art = run.log_artifact(str(src), name="big", type="dataset",
                                   ).wait()
        client.is_local = lambda conn: False  # the bytes travel over gRPC
        print(f"file {args.mib} MiB, part {ranged.PART_SIZE >> 20} MiB, "
              f"{ranged.PARTS_IN_FLIGHT} parts in flight, {os.cpu_count()} CPUs")
        best: dict[str, float] = {}
        for rnd in range(args.rounds):
            for label, multipart in (("single stream", False), ("multipart", True)):
                out = work / f"out-{rnd}-{multipart}"
                t0 = time.perf_counter()
                art.download(str(out), skip_cache=True, multipart=multipart)
                s = time.perf_counter() - t0
                assert md5(out / "big.bin") == want, "downloaded bytes differ"
                shutil.rmtree(out)
                best[label] = min(best.get(label, s), s)
                print(f"  round {rnd + 1} {label:13s} {s:7.2f} s  {args.mib / s:7.1f} MiB/s",
                      flush=True)
        single, multi = best["single stream"], best["multipart"]
        print(f"best: single stream {single:.2f} s ({args.mib / single:.1f} MiB/s), "
              f"multipart {multi:.2f} s ({args.mib / multi:.1f} MiB/s), "
              f"speed-up {single / multi:.2f}x")
    finally:
        daemon.stop()
        dirs.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
