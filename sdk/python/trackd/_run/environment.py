"""The environment a run records once, in its files (W&B's names):

* ``wandb-metadata.json``: Python and OS, host, user, program, args, working directory, git
  remote, branch and commit, CPU and memory, GPU inventory (NVML, when a driver is present),
  start time;
* ``requirements.txt``: the installed distributions (``importlib.metadata``), ``name==version``;
* ``diff.patch``: the uncommitted changes of the git repository the program runs in
  (``git diff HEAD``), when there are any;
* ``code/<path>``: the main script, with ``save_code`` (not with ``disable_code``).

The settings ``git_commit``, ``git_remote`` (the remote whose URL is read), ``git_remote_url``,
``git_root``, ``program``, ``program_abspath``, ``program_relpath``, ``code_dir``, ``host``,
``username``, ``email``, ``docker`` and ``notebook_name`` replace what the process and git say
(:data:`OVERRIDES`).

Collected in a background thread when the run starts (git may take a moment), so ``init()``
does not wait for it; ``finish()`` waits for it to end.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METADATA = "wandb-metadata.json"
REQUIREMENTS = "requirements.txt"
DIFF = "diff.patch"
#: Seconds one git command may take (a huge repository should not hold a run's files back).
GIT_TIMEOUT = 10.0
#: A diff larger than this is not kept (a generated file committed by mistake, say).
MAX_DIFF_BYTES = 100 << 20
#: The settings that replace what the environment says.
OVERRIDES = ("git_commit", "git_remote", "git_remote_url", "git_root", "program",
             "program_abspath", "program_relpath", "code_dir", "host", "username", "email",
             "docker", "notebook_name")


def overrides_from(settings: Any) -> dict[str, str]:
    """The :data:`OVERRIDES` ``settings`` sets."""
    return {k: getattr(settings, k) for k in OVERRIDES if getattr(settings, k, None) is not None}


def _git(cwd: str, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace")


def _clean_remote(url: str) -> str:
    """A remote URL without the credentials some URLs carry (https://user:token@host/...)."""
    return re.sub(r"^(\w+://)[^/@]+@", r"\1", url.strip())


def git_state(cwd: str, remote_name: str = "origin") -> tuple[dict[str, Any], bytes | None]:
    """The repository around ``cwd``: (remote, commit, branch, root, dirty) and the diff of
    uncommitted changes against HEAD (None when clean or not a repository); ``remote`` is the
    URL of the remote ``remote_name``."""
    root = _git(cwd, "rev-parse", "--show-toplevel")
    if root is None or shutil.which("git") is None:
        return {}, None
    info: dict[str, Any] = {"root": root.strip()}
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit:
        info["commit"] = commit.strip()
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch.strip() != "HEAD":
        info["branch"] = branch.strip()
    remote = _git(cwd, "remote", "get-url", remote_name)
    if remote:
        info["remote"] = _clean_remote(remote)
    diff = None
    if commit:
        raw = _git(cwd, "diff", "HEAD", "--submodule=diff", "--no-color", "--no-ext-diff")
        if raw:
            encoded = raw.encode("utf-8", "surrogateescape")
            if len(encoded) <= MAX_DIFF_BYTES:
                diff = encoded
    info["dirty"] = diff is not None
    return info, diff


#: The last requirements() and what it was read from: each sys.path entry and its mtime.
#: Reading every distribution's metadata costs tens of milliseconds of CPU, which a process
#: making runs one after another would pay again at each; installing or removing a
#: distribution changes its directory's mtime, and so the key.
_requirements: tuple[tuple[tuple[str, int], ...], str] | None = None


def _path_stamp() -> tuple[tuple[str, int], ...]:
    stamps = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            stamps.append((entry, -1))
    return tuple(stamps)


def requirements() -> str:
    """``name==version`` of every installed distribution, sorted, one per line."""
    global _requirements
    from importlib import metadata

    stamp = _path_stamp()
    cached = _requirements
    if cached is not None and cached[0] == stamp:
        return cached[1]
    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_version(dist)
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={version}"
    text = "".join(line + "\n" for _, line in sorted(seen.items()))
    _requirements = (stamp, text)
    return text


def _name_version(dist: Any) -> tuple[str | None, str | None]:
    """A distribution's ``Name`` and ``Version`` from the headers of its metadata file, read
    line by line: ``dist.metadata`` runs the e-mail parser over the whole file (descriptions
    included), and ``dist.version`` does it again, which made listing a hundred packages cost
    tens of milliseconds of CPU at every process's first run."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.splitlines():
        if not line:
            break  # the end of the headers
        if name is None and line.startswith("Name:"):
            name = line[5:].strip()
        elif version is None and line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            break
    return name, version


def _gpus() -> dict[str, Any]:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no library, driver or GPU: no inventory
        return {}
    try:
        devices = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            devices.append({"name": name.decode() if isinstance(name, bytes) else name,
                            "memory_total": int(pynvml.nvmlDeviceGetMemoryInfo(h).total)})
        out: dict[str, Any] = {"gpu_count": len(devices), "gpu_nvidia": devices}
        if devices:
            out["gpu"] = devices[0]["name"]
        try:
            v = pynvml.nvmlSystemGetCudaDriverVersion()
            out["cudaVersion"] = f"{v // 1000}.{v % 1000 // 10}"
        except Exception:  # noqa: BLE001
            pass
        return out
    except Exception:  # noqa: BLE001
        return {}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _memory_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def metadata(program: str, start_time: float, git: dict[str, Any],
             code_path: str | None, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The contents of ``wandb-metadata.json`` (``overrides``: see :data:`OVERRIDES`)."""
    over = dict(overrides or {})
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    doc: dict[str, Any] = {
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "startedAt": datetime.datetime.fromtimestamp(start_time, datetime.UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "args": list(sys.argv[1:]),
        "program": program,
        "host": socket.gethostname(),
        "username": user,
        "executable": sys.executable,
        "cwd": os.getcwd(),
        "cpu_count_logical": os.cpu_count(),
    }
    if code_path:
        doc["codePath"] = code_path
    if git:
        doc["git"] = {k: git[k] for k in ("remote", "commit", "branch", "dirty") if k in git}
        doc["root"] = git.get("root")
    try:
        import psutil

        doc["cpu_count"] = psutil.cpu_count(logical=False)
    except Exception:  # noqa: BLE001 - psutil is optional here
        pass
    total = _memory_total()
    if total:
        doc["memory"] = {"total": total}
    doc.update(_gpus())
    for key in ("host", "username", "email", "docker"):
        if key in over:
            doc[key] = over[key]
    if "program_abspath" in over:
        doc["programAbspath"] = over["program_abspath"]
    if "notebook_name" in over:
        doc["notebook"] = over["notebook_name"]
    return doc


def code_relpath(program: str, git_root: str | None) -> str | None:
    """The program's path relative to the repository root (else the working directory), or
    None when it is not a file below it."""
    if not program or not os.path.isfile(program):
        return None
    base = Path(git_root or os.getcwd()).resolve()
    try:
        return Path(program).resolve().relative_to(base).as_posix()
    except ValueError:
        return Path(program).name


def record(files_dir: Path, program: str, start_time: float, *, git: bool,
           save_code: bool, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Write the environment files into ``files_dir``; returns their names. ``overrides``
    (see :data:`OVERRIDES`) replace what the process and git say."""
    over = dict(overrides or {})
    names = []
    info, diff = (git_state(os.getcwd(), over.get("git_remote", "origin")) if git
                  else ({}, None))
    if git:
        for key, field in (("commit", "git_commit"), ("remote", "git_remote_url"),
                           ("root", "git_root")):
            if field in over:
                info[key] = over[field]
    program = over.get("program", program)
    source = over.get("program_abspath", program)
    rel = over.get("program_relpath") or code_relpath(source, over.get("code_dir")
                                                      or info.get("root"))
    if save_code and rel and os.path.isfile(source):
        target = files_dir / "code" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        names.append(f"code/{rel}")
    if diff is not None:
        (files_dir / DIFF).write_bytes(diff)
        names.append(DIFF)
    (files_dir / REQUIREMENTS).write_text(requirements())
    names.append(REQUIREMENTS)
    doc = metadata(program, start_time, info, rel, over)
    (files_dir / METADATA).write_text(json.dumps(doc, indent=2, default=str))
    names.append(METADATA)
    return names
