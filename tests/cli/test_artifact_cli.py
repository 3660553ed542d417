"""``trackd artifact put|ls|get`` and ``trackd artifact cache cleanup``, in subprocesses against
the session daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.artifact_helpers import (
    project,
    read_tree,
    write_tree,
)

CLI = [sys.executable, "-m", "trackd._cli.main"]


def trackd_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env=dict(os.environ), check=False)


def test_put_ls_get_and_cache_cleanup(art_sdk: Path) -> None:
    proj = project()
    files = {"a.txt": b"a", "nested/b.bin": os.urandom(3000)}
    write_tree(art_sdk / "data", files)
    put = trackd_cli("artifact", "put", "data", "--name", f"{proj}/ds", "--type", "dataset",
                     "--alias", "first", cwd=art_sdk)
    assert put.returncode == 0, put.stderr
    assert put.stdout.startswith("stored ") and f"/{proj}/ds:v0" in put.stdout
    again = trackd_cli("artifact", "put", "data", "--name", f"{proj}/ds", "--type", "dataset",
                       cwd=art_sdk)
    assert again.returncode == 0 and "unchanged" in again.stdout and "ds:v0" in again.stdout
    (art_sdk / "data" / "a.txt").write_bytes(b"changed")
    third = trackd_cli("artifact", "put", "data/a.txt", "--name", f"{proj}/single", "--type",
                       "model", cwd=art_sdk)
    assert third.returncode == 0, third.stderr

    ls = trackd_cli("artifact", "ls", proj, cwd=art_sdk)
    assert ls.returncode == 0, ls.stderr
    lines = ls.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "TYPE", "ALIASES"]
    assert any(line.startswith("ds:v0") and "first" in line and "dataset" in line for line in lines)
    assert any(line.startswith("single:v0") and "model" in line for line in lines)
    only = trackd_cli("artifact", "ls", proj, "--type", "model", cwd=art_sdk)
    assert [line.split()[0] for line in only.stdout.splitlines()[1:]] == ["single:v0"]
    empty = trackd_cli("artifact", "ls", f"{proj}-none", cwd=art_sdk)
    assert empty.returncode == 0 and "no artifacts" in empty.stderr

    get = trackd_cli("artifact", "get", f"{proj}/ds:first", "--root", "out", cwd=art_sdk)
    assert get.returncode == 0, get.stderr
    assert get.stdout.strip() == "out" and read_tree(art_sdk / "out") == files
    default = trackd_cli("artifact", "get", f"{proj}/ds", cwd=art_sdk)
    assert default.returncode == 0 and read_tree(art_sdk / "artifacts" / "ds:v0") == files
    missing = trackd_cli("artifact", "get", f"{proj}/ds:v7", cwd=art_sdk)
    assert missing.returncode == 1 and missing.stderr.startswith("trackd: ")

    cache = art_sdk / "cache" / "artifacts" / "obj"
    assert any(p.is_file() for p in cache.rglob("*"))
    bad = trackd_cli("artifact", "cache", "cleanup", "--max-size", "lots", cwd=art_sdk)
    assert bad.returncode == 1 and "invalid cache size" in bad.stderr
    clean = trackd_cli("artifact", "cache", "cleanup", "--max-size", "0", cwd=art_sdk)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("freed ") and "holds 0B" in clean.stdout
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_put_errors(art_sdk: Path) -> None:
    nothing = trackd_cli("artifact", "put", "missing", "--name", "x", "--type", "t", cwd=art_sdk)
    assert nothing.returncode == 1 and "no such file or directory" in nothing.stderr
    (art_sdk / "f").write_bytes(b"f")
    bad = trackd_cli("artifact", "put", "f", "--name", "bad name", "--type", "t", cwd=art_sdk)
    assert bad.returncode == 1 and bad.stderr.startswith("trackd: Artifact name may only")
    alias = trackd_cli("artifact", "put", "f", "--name", "x", "--type", "t", "--alias", "a:b",
                       cwd=art_sdk)
    assert alias.returncode == 1 and "Aliases must not contain" in alias.stderr
    usage = trackd_cli("artifact", "put", "f", cwd=art_sdk)
    assert usage.returncode == 2 and "--name" in usage.stderr
