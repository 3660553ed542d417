"""Importing trackd is cheap: no heavy module, thread or socket (checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = ["grpc", "google.protobuf", "anyio", "aiohttp", "uvloop", "numpy", "yaml", "trackd_daemon",
         "torch"]

PROBE = textwrap.dedent(
    """
    import json, os, sys, threading

    def sockets():
        out = set()
        try:
            names = os.listdir("/proc/self/fd")
        except OSError:
            return None
        for fd in names:
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue  # the fd of the listing itself, already closed
            if target.startswith("socket:"):
                out.add(target)
        return out

    heavy = json.loads(sys.argv[1])
    before = sockets()
    import MODULE
    after = sockets()
    loaded = sorted(
        m for m in sys.modules
        if any(m == h or m.startswith(h + ".") for h in heavy)
    )
    new_sockets = None if before is None else sorted(after - before)
    print(json.dumps({
        "loaded": loaded,
        "threads": threading.active_count(),
        "thread_names": [t.name for t in threading.enumerate()],
        "new_sockets": new_sockets,
    }))
    """
)


def _probe(module: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKD_"))}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.replace("MODULE", module), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_import_trackd_loads_nothing_heavy_and_starts_nothing() -> None:
    r = _probe("trackd")
    assert r["loaded"] == []
    assert r["threads"] == 1, r["thread_names"]
    if r["new_sockets"] is None:
        pytest.skip("no /proc/self/fd to look for sockets")
    assert r["new_sockets"] == []


def test_import_cli_main_loads_no_grpc_anyio_or_daemon() -> None:
    r = _probe("trackd._cli.main")
    loaded = r["loaded"]
    assert isinstance(loaded, list)
    forbidden = ("grpc", "anyio", "trackd_daemon")
    assert [m for m in loaded if m.split(".")[0] in forbidden] == []
    assert r["threads"] == 1, r["thread_names"]
    if r["new_sockets"] is not None:
        assert r["new_sockets"] == []
