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

Collected when the run starts, so ``init()`` does not wait for it; ``finish()`` waits for it
to end. What takes time to read, the installed distributions and the machine, is read by a
process of its own at the lowest CPU priority (nice 19: it takes what the training process and
the daemon leave idle), once per interpreter and import path on a machine since it booted, and
kept for the runs after (:func:`record_apart`): importing ``importlib.metadata``, psutil and
NVML and reading every distribution's metadata cost some 40 ms of CPU, which a thread of the
training process would take from the training loop's interpreter. Measured with 100,000 rows
of ten floats logged from the run's first step, each in a fresh process: ``log()`` cost 2.9 µs
a row with a thread reading them, 2.0 with a process (1.9 with ``disable_meta``), medians of 7;
with the process at nice 19, 100,000 rows 2.76 against 2.94 and 20,000 rows 2.34 against 2.85
(2.33 with ``disable_meta``), and from the first ``log()`` to ``finish()`` returned 0.43 s
against 0.50 for 100,000 rows but 0.18 against 0.14 for 20,000 (the idle moment the process
waited for was ``finish()``'s).
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import hashlib
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
#: Seconds the process that records the environment may take: git's commands have
#: ``GIT_TIMEOUT`` each, and there are five at most.
RECORD_TIMEOUT = 6 * GIT_TIMEOUT
#: What the shared facts of a machine's Python environments are kept as, at most, in the
#: cache directory (:func:`record_apart`): one file each (a few KiB), the oldest removed.
CACHED_ENVIRONMENTS = 32
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


#: What this process's runs record alike (:func:`shared_facts`) and what it was read from:
#: each sys.path entry and its mtime. Reading it costs tens of milliseconds of CPU, which a
#: process making runs one after another (a sweep's agent, say) would pay again at each;
#: installing or removing a distribution changes its directory's mtime, and so the key.
_shared: tuple[tuple[tuple[str, int], ...], dict[str, Any]] | None = None


def _path_stamp() -> tuple[tuple[str, int], ...]:
    stamps = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            stamps.append((entry, -1))
    return tuple(stamps)


def shared_facts() -> dict[str, Any]:
    """What every run of this process records alike: ``requirements``, the text of
    requirements.txt, and ``machine``, the OS, Python, CPUs, memory and GPUs of
    wandb-metadata.json (:func:`machine`). Read once, and again when the import path changes.
    """
    stamp = _path_stamp()
    known = _known_shared_facts(stamp, None)
    if known is not None:
        return known
    facts = {"requirements": requirements(), "machine": machine()}
    _keep_shared(stamp, facts)
    return facts


def _known_shared_facts(stamp: tuple[tuple[str, int], ...],
                        cache: Path | None) -> dict[str, Any] | None:
    """:func:`shared_facts` when they were read for this import path (``stamp``), by this
    process or by another one on this machine since it booted (kept in ``cache``), else None.
    """
    cached = _shared
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if cache is None:
        return None
    try:
        facts = json.loads((cache / _cache_name(stamp)).read_bytes())
    except (OSError, ValueError):
        return None  # not read yet (or unreadable: read again)
    if (type(facts) is not dict or type(facts.get("requirements")) is not str
            or type(facts.get("machine")) is not dict):
        return None
    _keep_shared(stamp, facts)
    return facts


def _cache_name(stamp: tuple[tuple[str, int], ...]) -> str:
    """The file the shared facts of this interpreter and import path are kept in: for this
    host since it booted (a home directory shared by a cluster's nodes keeps each node's)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    key = json.dumps([socket.gethostname(), boot, sys.executable, stamp])
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ".json"


def _cache_shared(cache: Path, stamp: tuple[tuple[str, int], ...],
                  facts: Mapping[str, Any]) -> None:
    """Keep ``facts`` in ``cache`` for this machine's next processes (best effort: they read
    them again when they cannot)."""
    target = cache / _cache_name(stamp)
    part = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            json.dump(facts, out)
        os.replace(part, target)
        kept = sorted(cache.glob("*.json"), key=lambda f: f.stat().st_mtime)
        for old in kept[:-CACHED_ENVIRONMENTS]:
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)  # a disk full midway leaves no part behind


def _keep_shared(stamp: tuple[tuple[str, int], ...], facts: dict[str, Any]) -> None:
    global _shared
    _shared = (stamp, facts)  # one tuple: a thread reads both or neither


def requirements() -> str:
    """``name==version`` of every installed distribution, sorted, one per line."""
    from importlib import metadata

    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_version(dist)
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={version}"
    return "".join(line + "\n" for _, line in sorted(seen.items()))


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


def machine() -> dict[str, Any]:
    """The OS, Python, CPUs, memory and NVIDIA GPUs, by wandb-metadata.json's names."""
    doc: dict[str, Any] = {
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu_count_logical": os.cpu_count(),
    }
    try:
        import psutil

        doc["cpu_count"] = psutil.cpu_count(logical=False)
    except Exception:  # noqa: BLE001 - psutil is optional here
        pass
    total = _memory_total()
    if total:
        doc["memory"] = {"total": total}
    doc.update(_gpus())
    return doc


def this_process() -> dict[str, Any]:
    """What the files say of the process that makes the run: its arguments, interpreter and
    working directory, and the import path its distributions are found on."""
    return {"args": list(sys.argv[1:]), "executable": sys.executable, "cwd": os.getcwd(),
            "path": list(sys.path)}


def metadata(program: str, start_time: float, git: dict[str, Any],
             code_path: str | None, overrides: Mapping[str, str] | None = None,
             process: Mapping[str, Any] | None = None,
             machine_facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The contents of ``wandb-metadata.json`` (``overrides``: see :data:`OVERRIDES`;
    ``process``: :func:`this_process`, of the process that makes the run; ``machine_facts``:
    :func:`machine`)."""
    over = dict(overrides or {})
    proc = this_process() if process is None else process
    facts = machine() if machine_facts is None else machine_facts
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    doc: dict[str, Any] = {
        "os": facts["os"],
        "python": facts["python"],
        "startedAt": datetime.datetime.fromtimestamp(start_time, datetime.UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "args": list(proc["args"]),
        "program": program,
        "host": socket.gethostname(),
        "username": user,
        "executable": proc["executable"],
        "cwd": proc["cwd"],
        "cpu_count_logical": facts["cpu_count_logical"],
    }
    if code_path:
        doc["codePath"] = code_path
    if git:
        doc["git"] = {k: git[k] for k in ("remote", "commit", "branch", "dirty") if k in git}
        doc["root"] = git.get("root")
    doc.update((k, v) for k, v in facts.items()
               if k not in ("os", "python", "cpu_count_logical"))
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
           save_code: bool, overrides: Mapping[str, str] | None = None,
           process: Mapping[str, Any] | None = None,
           shared: Mapping[str, Any] | None = None) -> list[str]:
    """Write the environment files into ``files_dir``; returns their names. ``overrides``
    (see :data:`OVERRIDES`) replace what the process and git say; ``process`` is
    :func:`this_process` of the process that makes the run, ``shared`` its
    :func:`shared_facts` (read here when not given)."""
    over = dict(overrides or {})
    proc = this_process() if process is None else process
    facts = shared_facts() if shared is None else shared
    names = []
    info, diff = (git_state(proc["cwd"], over.get("git_remote", "origin")) if git
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
    (files_dir / REQUIREMENTS).write_text(facts["requirements"])
    names.append(REQUIREMENTS)
    doc = metadata(program, start_time, info, rel, over, proc, facts["machine"])
    (files_dir / METADATA).write_text(json.dumps(doc, indent=2, default=str))
    names.append(METADATA)
    return names


def record_apart(files_dir: Path, program: str, start_time: float, *, git: bool,
                 save_code: bool, overrides: Mapping[str, str] | None = None,
                 cache: Path | None = None) -> list[str]:
    """:func:`record`, for a run of this process, without taking this interpreter's time
    (see the module doc). The :func:`shared_facts` of this interpreter and import path are
    read once on a machine: by a new process of this interpreter, given this process's facts
    (:func:`this_process`: it finds the distributions on this import path), which writes the
    files and sends them back; they are kept for this process's next runs and, in ``cache``
    (a directory), for other processes on this machine until it reboots. A run whose shared
    facts are known writes its files here: git's commands and the files are all that is left
    (0.7 ms of CPU outside a git repository, 2 ms inside one, measured). Here too when there
    is no interpreter to start (an embedded or frozen one, or this module is not a file).

    :raises RuntimeError: the process failed (its last line of errors says why).
    :raises subprocess.TimeoutExpired: it took more than ``RECORD_TIMEOUT``.
    """
    process = this_process()
    stamp = _path_stamp()
    known = _known_shared_facts(stamp, cache)
    executable = sys.executable
    if (known is not None or not executable or getattr(sys, "frozen", False)
            or not os.path.isfile(__file__)
            or not Path(executable).name.lower().startswith("python")):
        return record(files_dir, program, start_time, git=git, save_code=save_code,
                      overrides=overrides, process=process, shared=known)
    job = {"files_dir": str(files_dir), "program": program, "start_time": start_time,
           "git": git, "save_code": save_code, "overrides": dict(overrides or {}),
           "process": process}
    try:
        # -I -S: nothing of this process's environment variables, user site or working
        # directory on its path; the job gives it this process's path. A session of its own:
        # an interrupt at the terminal stops the training process, not this short job.
        done = subprocess.run([executable, "-I", "-S", __file__], input=json.dumps(job).encode(),
                              capture_output=True, cwd=process["cwd"], timeout=RECORD_TIMEOUT,
                              start_new_session=True, check=False)
    except OSError:  # no such interpreter after all, or the working directory is gone
        return record(files_dir, program, start_time, git=git, save_code=save_code,
                      overrides=overrides, process=process)
    if done.returncode != 0:
        errors = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(errors[-1] if errors else f"its process exited {done.returncode}")
    answer = json.loads(done.stdout)
    _keep_shared(stamp, answer["shared"])
    if cache is not None:
        _cache_shared(cache, stamp, answer["shared"])
    names: list[str] = answer["names"]
    return names


def main() -> None:
    """The process :func:`record_apart` starts: its job (JSON) on stdin; the names of the
    files it wrote and the :func:`shared_facts` it read (JSON) on stdout."""
    with contextlib.suppress(OSError):
        os.nice(19)  # only what the training process and the daemon leave idle
    job = json.loads(sys.stdin.buffer.read())
    sys.path[:] = job["process"]["path"]  # the distributions, psutil and NVML of the run's
    shared = shared_facts()
    names = record(Path(job["files_dir"]), job["program"], job["start_time"], git=job["git"],
                   save_code=job["save_code"], overrides=job["overrides"],
                   process=job["process"], shared=shared)
    sys.stdout.write(json.dumps({"names": names, "shared": shared}))


if __name__ == "__main__":
    main()
