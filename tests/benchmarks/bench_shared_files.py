"""What another user of a shared daemon pays for files the daemon does not open (run by hand,
as root; prints figures).

    python tests/benchmarks/bench_shared_files.py [--mib 256] [--files 8] [--repeat 3]

The daemon opens files by path only for its own user and root; anyone else's bytes are
uploaded (``ArtifactService.UploadFile``). This starts one daemon as root with a shared socket
(``TRACKD_SOCKET_MODE=0666``, as a system-wide install) and times ``log_artifact(dir).wait()``
of ``--files`` new files (``--mib`` MiB in all, fresh random bytes each round, written before
the clock starts) by root (the daemon reads the paths) and by another uid (the SDK uploads the
bytes), alternating, ``--repeat`` times; prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402

OTHER_UID = 61099

CLIENT = """
import configparser, json, os, sys, time
import trackd
from tests.faults.sdk_modules import import_sdk_modules
import_sdk_modules()
uid = int(sys.argv[2])
if uid:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.chdir(os.environ["HOME"])
run = trackd.init(project="shared-files", settings=trackd.Settings(silent=True))
s = time.perf_counter()
run.log_artifact(sys.argv[1], name="data", type="dataset").wait()
took = time.perf_counter() - s
run.finish()
print(json.dumps({"seconds": took}))
"""


def write_tree(root: Path, mib: int, files: int, uid: int) -> None:
    root.mkdir(mode=0o755)
    each = (mib << 20) // files
    for i in range(files):
        p = root / f"f{i}.bin"
        with open(p, "wb") as f:
            for _ in range(each >> 20):
                f.write(os.urandom(1 << 20))
        os.chown(p, uid, uid)
    os.chown(root, uid, uid)
    os.sync()


def measure(d: DaemonProcess, home: Path, tree: Path, uid: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKD_")}
    env.update(TRACKD_ADDRESS=f"unix:{d.dirs.socket}", HOME=str(home),
               PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", CLIENT, str(tree), str(uid)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"the client as uid {uid} failed:\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the other user is a setuid to a test uid")
    dirs = DaemonDirs.make()
    dirs.env.update(TRACKD_SOCKET_MODE="0666")
    work = Path(tempfile.mkdtemp(prefix="trackd-bench-files-"))
    work.chmod(0o755)
    homes = {uid: work / f"home{uid}" for uid in (0, OTHER_UID)}
    for uid, home in homes.items():
        home.mkdir(mode=0o700)
        os.chown(home, uid, uid)
    d = DaemonProcess(dirs)
    d.start()
    times: dict[str, list[float]] = {"daemon's user (by path)": [], "another user (uploaded)": []}
    try:
        n = 0
        for _ in range(args.repeat):
            for name, uid in (("daemon's user (by path)", 0), ("another user (uploaded)",
                                                               OTHER_UID)):
                n += 1
                tree = work / f"tree{n}"
                write_tree(tree, args.mib, args.files, uid or 0)
                times[name].append(measure(d, homes[uid], tree, uid))
    finally:
        d.stop()
        dirs.cleanup()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"log_artifact of {args.files} new files, {args.mib} MiB, on a shared root daemon "
          f"({args.repeat} rounds, medians):")
    for k, v in medians.items():
        print(f"  {k:<26} {v:7.3f} s   {args.mib / v:8.1f} MiB/s   {times[k]}")
    base, other = medians.values()
    print(f"  ratio uploaded / by path: {other / base:.2f}x")


if __name__ == "__main__":
    main()
