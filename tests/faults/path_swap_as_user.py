"""The symlink-swap race against a shared daemon, as another user (for test_path_swap.py).

    python path_swap_as_user.py UID ATTACK SECONDS LINK DECOY     (started as root)

Drops to ``UID`` (no supplementary groups), then, for SECONDS, keeps swapping the symlink LINK
between DECOY (a file of the attacker's own) and the target already named by LINK's companion
``LINK.target`` (a file only the daemon may read), while it asks the daemon to read LINK, many
copies per request, in one of four ways (ATTACK):

- ``save``: SaveFiles of a run of its own (policy now, and live);
- ``reference``: ResolveReference of ``file://LINK`` with checksums;
- ``artifact``: LogArtifact with entries naming LINK as their local path;
- ``staged``: PrepareStagedFiles of LINK, then LogArtifact with staged entries.

A daemon that checks the path as the caller and then opens it again by name reads the target
in some of those requests. Prints one JSON line: what the daemon answered (``digests`` and
``sizes`` it reported, ``answers`` by outcome).
"""

from __future__ import annotations

import configparser  # noqa: F401 - imported lazily by the SDK
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from typing import Any

import grpc
from sdk_modules import import_sdk_modules  # beside this script (sys.path[0])

import trackd
from trackd._transport.connection import make_stub
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as apbs
from trackd.v1 import file_service_pb2 as fpb
from trackd.v1 import run_pb2

# Python and the project may live where the attacker cannot read (root's home): everything the
# SDK imports lazily is imported before dropping to the attacker's uid.
import_sdk_modules()

#: Copies of the link per request: each is one more chance that the swap lands between the
#: daemon's check and its read.
COPIES = 100


def swap(link: str, decoy: str, target: str, stop: threading.Event) -> None:
    """Point ``link`` at the decoy and the target in turn, each for a random while (from no
    time at all to a few milliseconds): short swaps land between a check and an open, longer
    ones outlast a check-copy-check of the same file."""
    tmp = link + ".tmp"
    rng = random.Random(0)
    while not stop.is_set():
        for dest in (decoy, target):
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            os.symlink(dest, tmp)
            os.replace(tmp, link)
            if rng.random() < 0.5:
                time.sleep(rng.random() * 0.004)


def attack(kind: str, seconds: float, link: str, decoy: str,
           channel: grpc.Channel) -> dict[str, Any]:
    art = make_stub(channel, apbs, "ArtifactService")
    answers: Counter[str] = Counter()
    digests: set[str] = set()
    sizes: set[int] = set()
    run = None
    if kind == "save":  # a run of its own, kept alive by the SDK's record stream
        run = trackd.init(entity="mallory", project="swap", settings=trackd.Settings(silent=True))
        run_ref = run_pb2.RunRef(entity=run.entity, project=run.project, run_id=run.id)
        files = make_stub(channel, fpb, "FileService")
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            if kind == "save":
                resp = files.SaveFiles(fpb.SaveFilesRequest(run=run_ref, files=[
                    fpb.SaveFile(name=f"n{n}/f{i}", path=link,
                                 policy=fpb.FILE_POLICY_NOW if i % 2 else fpb.FILE_POLICY_LIVE)
                    for i in range(COPIES)]), timeout=60)
                answers.update("unreadable" if r.unreadable else "stored" for r in resp.results)
            elif kind == "reference":
                resp = art.ResolveReference(apbs.ResolveReferenceRequest(
                    uri=f"file://{link}", checksum=True), timeout=60)
                for e in resp.entries:
                    digests.add(e.digest)
                    sizes.add(e.size)
                answers["resolved"] += 1
            else:
                # A decoy that looks new each time: the daemon's cache of file stamps would
                # otherwise take it for the decoy it stored before and read nothing.
                os.utime(decoy, ns=(time.time_ns(), time.time_ns()))
                staged = kind == "staged"
                if staged:
                    art.PrepareStagedFiles(apbs.PrepareStagedFilesRequest(
                        local_paths=[link]), timeout=60)
                resp = art.LogArtifact(apbs.LogArtifactRequest(
                    entity="mallory", project="swap", name=f"a{n}", type="dataset",
                    entries=[apb.ManifestEntry(path=f"f{i}", local_path=link, staged=staged)
                             for i in range(COPIES)]), timeout=60)
                for w in art.WatchArtifact(apbs.WatchArtifactRequest(id=resp.artifact.id),
                                           timeout=60):
                    if w.done:
                        break
                answers["logged"] += 1
        except grpc.RpcError as exc:
            answers[exc.code().name] += 1
    if run is not None:
        run.finish()
    return {"answers": dict(answers), "digests": sorted(digests), "sizes": sorted(sizes)}


def main() -> None:
    uid, kind, seconds, link, decoy = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                       sys.argv[4], sys.argv[5])
    target = os.readlink(link + ".target")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    os.chdir(os.environ["HOME"])
    stop = threading.Event()
    swapper = threading.Thread(target=swap, args=(link, decoy, target, stop), daemon=True)
    swapper.start()
    with grpc.insecure_channel(os.environ["TRACKD_ADDRESS"]) as channel:
        try:
            out = attack(kind, seconds, link, decoy, channel)
        finally:
            stop.set()
            swapper.join()
    print(json.dumps(out), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
