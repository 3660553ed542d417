"""The tools under test and their worker processes.

A `Tool` is one SDK (W&B or trackd) with its interpreter, its private per-case data
dirs and environment; `run_worker` runs one ``bench_worker.py`` measurement in a fresh
process under that environment and returns the JSON result it reports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "bench_worker.py"
RESULT_MARK = "@@BENCH-RESULT@@ "
WANDB_VERSION = "0.31.0"
TOOLS = ("wandb", "trackd")


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def short_tmpdir(prefix: str) -> str:
    """A temp dir with a short path (unix socket paths must stay < ~100 chars)."""
    base = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    return tempfile.mkdtemp(prefix=prefix, dir=base)


class Tool:
    def __init__(self, name: str, python: str, workroot: Path) -> None:
        self.name = name
        self.python = python
        self.workroot = workroot
        self.version = "?"
        self.error: str | None = None
        self.runtime_dirs: list[str] = []  # short temp dirs outside workroot
        self.seq = 0

    def case_dir(self, case: str) -> Path:
        self.seq += 1
        d = self.workroot / f"{self.name}-{self.seq:02d}-{case}"
        d.mkdir(parents=True)
        return d

    def env(self, case_dir: Path, extra: dict | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TRACKD_"))}
        for xdg in ("CONFIG", "CACHE", "DATA", "STATE"):
            env[f"XDG_{xdg}_HOME"] = str(case_dir / f"xdg-{xdg.lower()}")
        # Sockets and scratch files (W&B puts its service sockets in $TMPDIR) stay in a
        # short private dir that is removed at the end.
        tmp = short_tmpdir("bt")
        self.runtime_dirs.append(tmp)
        env["TMPDIR"] = tmp
        if self.name == "wandb":
            env.update(
                WANDB_MODE="offline",
                WANDB_DIR=str(case_dir),
                WANDB_SILENT="true",
                WANDB_CONFIG_DIR=str(case_dir / "wandb-config"),
                WANDB_CACHE_DIR=str(case_dir / "wandb-cache"),
                WANDB_DATA_DIR=str(case_dir / "wandb-data"),
            )
        else:
            rt = short_tmpdir("tdb")
            self.runtime_dirs.append(rt)
            env.update(
                TRACKD_ROOT=str(case_dir / "root"),
                TRACKD_STATE_DIR=str(case_dir / "state"),
                TRACKD_RUNTIME_DIR=rt,
                TRACKD_LINGER="0",  # the daemon a worker started stops with it
            )
        env.update(extra or {})
        return env

    def cleanup(self) -> None:
        for d in self.runtime_dirs:
            shutil.rmtree(d, ignore_errors=True)


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a worker this benchmark started, with the processes in its session."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def last_result(stdout_text: str) -> dict | None:
    """The JSON of the last RESULT line a worker printed, or None when there is none."""
    for line in reversed(stdout_text.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    return None


def output_tail(out_path: Path, err_path: Path) -> str:
    """The end of a process's stderr + stdout, for an error message."""
    return (err_path.read_text(errors="replace") + out_path.read_text(errors="replace"))[-2000:]


def run_worker(
    tool: Tool, case: str, params: dict, env: dict, case_dir: Path, timeout: float
) -> dict:
    """Run bench_worker.py in a fresh process and return its RESULT json."""
    tag = f"{case}-{time.monotonic_ns()}"
    out_path, err_path = case_dir / f"{tag}.out", case_dir / f"{tag}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [tool.python, str(WORKER), tool.name, case, json.dumps(params)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=str(case_dir),
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise BenchError(f"{tool.name}/{case}: timed out after {timeout:.0f}s") from None
        except BaseException:  # Ctrl-C / SIGTERM: do not leave the worker behind
            kill_group(proc)
            raise
    result = last_result(out_path.read_text(errors="replace"))
    if result is not None:
        if rc != 0:
            log(f"{tool.name}/{case}: worker exited {rc} after reporting a result")
        return result
    tail = output_tail(out_path, err_path)
    raise BenchError(f"{tool.name}/{case}: worker exited {rc} without a result:\n{tail}")
