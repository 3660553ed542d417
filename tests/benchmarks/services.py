"""The long-lived local services the workers log to, one fresh service per case.

W&B: a detached shared ``wandb-core`` (``wandb beta core start``, handed to workers as
``WANDB_SERVICE``). trackd: a helper process that calls ``trackd.setup()`` and, when told
to stop, ``trackd.teardown()``. A `Service` samples the service's memory while it runs;
on exit the service is asked to stop and is killed if it does not.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from procfs import (
    find_service_pids,
    proc_alive,
    proc_children_rss_kib,
    proc_cmdline,
    proc_status_kib,
)
from workers import (
    WORKER,
    BenchError,
    Tool,
    kill_group,
    last_result,
    log,
    output_tail,
)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc_alive(pid):
            return True
        time.sleep(0.05)
    return not proc_alive(pid)


def ensure_stopped(pid: int | None, what: str, timeout: float = 15.0) -> None:
    """Make sure a service process this benchmark started has exited."""
    if not pid or wait_gone(pid, timeout):
        return
    log(f"{what} (pid {pid}) still running {timeout:.0f} s after the stop request; sending SIGTERM")
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    if not wait_gone(pid, 5):
        log(f"{what} (pid {pid}) ignored SIGTERM; sending SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Service:
    """A running shared service: env additions for workers and the service pid.

    The service's own peak comes from its VmHWM. Helper processes it starts
    (wandb-core starts a wandb-symon system-metrics sidecar per run) come and go,
    so a thread samples their summed RSS twice a second.
    """

    SAMPLE_S = 0.5

    def __init__(self, env: dict, pid: int | None, note: str = "") -> None:
        self.env = env
        self.pid = pid
        self.note = note
        self.children_peak_kib = 0
        self._stop = threading.Event()
        self._thread = None
        if pid and os.path.isdir("/proc"):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_S):
            try:
                self.children_peak_kib = max(
                    self.children_peak_kib, proc_children_rss_kib(self.pid)
                )
            except (OSError, ValueError):
                pass

    def peak_rss_kib(self) -> int | None:
        """The service process's peak RSS so far (VmHWM)."""
        return proc_status_kib(self.pid, "VmHWM") if self.pid else None

    def children_peak_rss_kib(self) -> int | None:
        if not self._thread:
            return None
        self.children_peak_kib = max(self.children_peak_kib, proc_children_rss_kib(self.pid))
        return self.children_peak_kib

    def stop_sampling(self) -> None:
        self._stop.set()


@contextmanager
def wandb_service(tool: Tool, case_dir: Path, mode: str):
    """mode 'shared': a detached wandb-core via `wandb beta core start`; 'own': none."""
    if mode == "own":
        yield Service({}, None, "service per process (each worker starts its own wandb-core)")
        return
    env = tool.env(case_dir)
    out_path = case_dir / "core-start.out"
    with open(out_path, "wb") as out, open(case_dir / "core-start.err", "wb") as err:
        rc = subprocess.call(
            [tool.python, "-m", "wandb", "beta", "core", "start", "--idle-timeout", "0"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=120,
        )
    token = None
    for line in out_path.read_text(errors="replace").splitlines():
        if re.fullmatch(r"\d+-\d+-(unix-.+|tcp-localhost-\d+)", line.strip()):
            token = line.strip()
    if rc != 0 or not token:
        log(
            "wandb: `wandb beta core start` unavailable; FALLBACK to a per-process service "
            "(repeated init() in one process reuses the service started by the first init())"
        )
        yield Service({}, None, "fallback: no shared service")
        return
    owner_pid = int(token.split("-")[1])
    pids = find_service_pids(("wandb-core",), str(case_dir), None)
    if not pids:
        pids = [
            p
            for p in find_service_pids(("wandb-core",), None, None)
            if f"--pid {owner_pid} " in proc_cmdline(p) + " "
        ]
    core_pid = pids[0] if len(pids) == 1 else None
    if core_pid is None:
        log(f"wandb: could not identify the wandb-core pid (candidates {pids}); no service RSS")
    svc = Service({"WANDB_SERVICE": token}, core_pid, f"shared wandb-core (WANDB_SERVICE={token})")
    try:
        yield svc
    finally:
        stop_env = dict(env, WANDB_SERVICE=token)
        subprocess.call(
            [tool.python, "-m", "wandb", "beta", "core", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=stop_env,
            timeout=120,
        )
        svc.stop_sampling()
        ensure_stopped(core_pid, "wandb-core")


@contextmanager
def trackd_service(tool: Tool, case_dir: Path):
    """A helper process that calls trackd.setup(), waits, then trackd.teardown()."""
    env = tool.env(case_dir)
    out_path, err_path = case_dir / "serve.out", case_dir / "serve.err"
    out = open(out_path, "wb")  # noqa: SIM115 - handed to the helper, closed in finally
    err = open(err_path, "wb")  # noqa: SIM115
    holder = subprocess.Popen(
        [tool.python, str(WORKER), "trackd", "serve", "{}"],
        stdin=subprocess.PIPE,
        stdout=out,
        stderr=err,
        env=env,
        cwd=str(case_dir),
        start_new_session=True,
    )
    info = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = last_result(out_path.read_text(errors="replace"))
        if info or holder.poll() is not None:
            break
        time.sleep(0.05)
    if not info:
        kill_group(holder)
        out.close(), err.close()
        raise BenchError(f"trackd.setup() did not come up:\n{output_tail(out_path, err_path)}")
    daemon_pid = info.get("daemon_pid")
    if not daemon_pid:
        pids = find_service_pids(
            ("trackd_daemon", "trackd daemon", "trackd-daemon", "trackdd"),
            env["TRACKD_RUNTIME_DIR"],
            holder.pid,
        )
        daemon_pid = pids[0] if len(pids) == 1 else None
        if daemon_pid is None:
            log(f"trackd: could not identify the daemon pid (candidates {pids}); no daemon RSS")
    extra = {k: env[k] for k in ("TRACKD_ROOT", "TRACKD_STATE_DIR", "TRACKD_RUNTIME_DIR")}
    if info.get("address"):
        extra["TRACKD_ADDRESS"] = info["address"]
    svc = Service(extra, daemon_pid, f"trackd daemon (setup {info.get('setup_s', 0) * 1e3:.0f} ms)")
    svc.env_full = env  # type: ignore[attr-defined]
    try:
        yield svc
    finally:
        try:
            holder.stdin.write(b"stop\n")
            holder.stdin.close()
        except OSError:
            pass
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            log("trackd: teardown() did not return in 60 s; killing the helper")
            kill_group(holder)
        out.close(), err.close()
        svc.stop_sampling()
        # teardown() stops a daemon this process started once it is idle; give it 5 s.
        ensure_stopped(daemon_pid, "trackd daemon", 5.0)


@contextmanager
def service_for(tool: Tool, case_dir: Path, mode: str = "shared"):
    if tool.name == "wandb":
        with wandb_service(tool, case_dir, mode) as svc:
            yield svc
    else:
        with trackd_service(tool, case_dir) as svc:
            yield svc
