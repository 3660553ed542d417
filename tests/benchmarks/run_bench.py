#!/usr/bin/env python3
"""trackd vs W&B (wandb==0.31.0, offline) side-by-side performance benchmark.

Run by hand from the repository root (see README.md in this folder)::

    python tests/benchmarks/run_bench.py                 # full run, both tools
    python tests/benchmarks/run_bench.py --quick         # scaled-down smoke run
    python tests/benchmarks/run_bench.py --tools wandb --only rows --json out.json

Every measurement runs in a fresh worker process (``bench_worker.py``) so that
imports are cold and runs do not disturb each other. trackd runs under
``--trackd-python`` (default: this interpreter); W&B runs under
``--wandb-python``, a venv created on first use with ``wandb==0.31.0``.

Both tools get a long-lived local service for everything except the import
case: trackd's daemon started by ``trackd.setup()`` (held open by a helper
process), W&B's shared ``wandb-core`` started by ``wandb beta core start`` and
handed to workers through ``WANDB_SERVICE``. Each case group gets a fresh
service so that the service's peak RSS (VmHWM) belongs to that case alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKER = HERE / "bench_worker.py"
RESULT_MARK = "@@BENCH-RESULT@@ "
DONE_MARK = "@@BENCH-DONE@@ "
WANDB_VERSION = "0.31.0"
TOOLS = ("wandb", "trackd")
CASES = ("import", "init", "log", "rows", "multiproc", "wide", "memory")

FULL = {
    "import_runs": 5,
    "init_cycles": 20,  # plus the first one, reported separately
    "rows": 100_000,
    "mp_procs": 8,
    "mp_rows": 20_000,
    "wide_rows": 2_000,
    "wide_keys": 1_000,
}
QUICK = {
    "import_runs": 2,
    "init_cycles": 5,
    "rows": 10_000,
    "mp_procs": 4,
    "mp_rows": 2_000,
    "wide_rows": 200,
    "wide_keys": 1_000,
}


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- /proc helpers


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return None


def proc_status_kib(pid: int, field: str) -> int | None:
    text = _read(f"/proc/{pid}/status")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def proc_alive(pid: int) -> bool:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        try:
            os.kill(pid, 0)  # non-Linux fallback
            return True
        except OSError:
            return False
    state = text.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def proc_ppid(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return int(text.rsplit(")", 1)[-1].split()[1])


def find_service_pids(
    patterns: tuple[str, ...], marker: str | None, root_pid: int | None
) -> list[int]:
    """Live processes whose command line contains one of `patterns`.

    Preference: those whose environment or command line mentions `marker`
    (the case's private temp dir), else descendants of `root_pid`; with neither
    given, all of them.
    """
    if not os.path.isdir("/proc"):
        return []
    me = os.getpid()
    matches = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in (me, root_pid):
            continue
        cmd = _read(f"/proc/{pid}/cmdline")
        if not cmd:
            continue
        cmd = cmd.replace("\0", " ")
        if "bench_worker.py" in cmd or not any(p in cmd for p in patterns):
            continue
        if not proc_alive(pid):
            continue
        matches.append((pid, cmd))
    if marker:
        marked = [
            pid
            for pid, cmd in matches
            if marker in cmd or marker in (_read(f"/proc/{pid}/environ") or "")
        ]
        if marked:
            return marked
    if root_pid:
        out = []
        for pid, _ in matches:
            p, hops = pid, 0
            while p and p > 1 and hops < 32:
                p = proc_ppid(p)
                hops += 1
                if p == root_pid:
                    out.append(pid)
                    break
        return out
    return [] if marker else [pid for pid, _ in matches]


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


# --------------------------------------------------------------------------- environment


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
            )
        env.update(extra or {})
        return env

    def cleanup(self) -> None:
        for d in self.runtime_dirs:
            shutil.rmtree(d, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a worker this benchmark started, with the processes in its session."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


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
            _kill_group(proc)
            raise BenchError(f"{tool.name}/{case}: timed out after {timeout:.0f}s") from None
        except BaseException:  # Ctrl-C / SIGTERM: do not leave the worker behind
            _kill_group(proc)
            raise
    text = out_path.read_text(errors="replace")
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_MARK):
            if rc != 0:
                log(f"{tool.name}/{case}: worker exited {rc} after reporting a result")
            return json.loads(line[len(RESULT_MARK) :])
    tail = (err_path.read_text(errors="replace") + text)[-2000:]
    raise BenchError(f"{tool.name}/{case}: worker exited {rc} without a result:\n{tail}")


# --------------------------------------------------------------------------- services


def proc_children_rss_kib(root: int) -> int:
    """Summed VmRSS of all live descendants of `root` (not root itself)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pp = proc_ppid(int(entry))
            if pp:
                kids.setdefault(pp, []).append(int(entry))
    total, todo = 0, list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        total += proc_status_kib(pid, "VmRSS") or 0
        todo.extend(kids.get(pid, []))
    return total


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
            if f"--pid {owner_pid} " in (_read(f"/proc/{p}/cmdline") or "").replace("\0", " ") + " "
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
        for line in out_path.read_text(errors="replace").splitlines():
            if line.startswith(RESULT_MARK):
                info = json.loads(line[len(RESULT_MARK) :])
        if info or holder.poll() is not None:
            break
        time.sleep(0.05)
    if not info:
        _kill_group(holder)
        out.close(), err.close()
        tail = (err_path.read_text(errors="replace") + out_path.read_text(errors="replace"))[-2000:]
        raise BenchError(f"trackd.setup() did not come up:\n{tail}")
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
            _kill_group(holder)
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


# --------------------------------------------------------------------------- cases


def bench_import(tool: Tool, sc: dict, timeout: float) -> dict:
    d = tool.case_dir("import")
    env = tool.env(d)
    run_worker(tool, "import", {}, env, d, timeout)  # warm-up: page cache, .pyc files
    times = [
        run_worker(tool, "import", {}, env, d, timeout)["import_s"]
        for _ in range(sc["import_runs"])
    ]
    return {"import_s": times, "median_s": statistics.median(times)}


def bench_init(tool: Tool, sc: dict, timeout: float) -> dict:
    d = tool.case_dir("init")
    with service_for(tool, d) as svc:
        env = _worker_env(tool, d, svc)
        r = run_worker(tool, "init", {"cycles": sc["init_cycles"] + 1}, env, d, timeout)
    r["service"] = svc.note
    r["init_first_s"] = r["init_s"][0]
    r["init_median_s"] = statistics.median(r["init_s"][1:])
    r["finish_median_s"] = statistics.median(r["finish_s"][1:])
    r["finish_first_s"] = r["finish_s"][0]
    return r


def _worker_env(tool: Tool, d: Path, svc: Service) -> dict:
    if tool.name == "wandb":
        return tool.env(d, svc.env)
    return dict(svc.env_full, **svc.env)  # type: ignore[attr-defined]


def _service_memory(r: dict, svc: Service) -> None:
    """Service peak RSS: its own VmHWM plus the sampled peak of its child processes."""
    own, kids = svc.peak_rss_kib(), svc.children_peak_rss_kib()
    r["service_own_peak_rss_kib"] = own
    r["service_children_peak_rss_kib"] = kids
    r["service_peak_rss_kib"] = None if own is None else own + (kids or 0)


def bench_rows(tool: Tool, case: str, rows: int, keys: int, timeout: float) -> dict:
    d = tool.case_dir(case)
    with service_for(tool, d) as svc:
        env = _worker_env(tool, d, svc)
        r = run_worker(tool, "rows", {"rows": rows, "keys": keys}, env, d, timeout)
        # The service's high-water mark, read before any read-back touches it.
        _service_memory(r, svc)
        r["service"] = svc.note
        if tool.name == "trackd":
            rb = run_worker(tool, "readback", {"paths": [r["path"]], "keys": keys}, env, d, timeout)
            r["readback"] = rb
            got = rb["runs"][0]["rows"]
            r["verified"] = got == rows and rb["runs"][0]["keys_ok"]
            if not r["verified"]:
                log(
                    f"trackd/{case}: READ BACK {got} rows (keys ok: {rb['runs'][0]['keys_ok']}), "
                    f"expected {rows}"
                )
    return r


def bench_multiproc(tool: Tool, sc: dict, timeout: float, mode: str) -> dict:
    d = tool.case_dir(f"multiproc-{mode}")
    params = {"procs": sc["mp_procs"], "rows": sc["mp_rows"], "keys": 10, "timeout": timeout}
    with service_for(tool, d, mode) as svc:
        env = _worker_env(tool, d, svc)
        r = run_worker(tool, "multiproc", params, env, d, timeout)
        _service_memory(r, svc)
        r["service"] = svc.note
        if tool.name == "trackd":
            paths = [c["path"] for c in r["children"] if c.get("ok")]
            rb = run_worker(tool, "readback", {"paths": paths, "keys": 10}, env, d, timeout)
            r["readback"] = rb
            total = sum(x["rows"] for x in rb["runs"])
            want = sc["mp_procs"] * sc["mp_rows"]
            r["verified"] = r["ok"] and len(paths) == sc["mp_procs"] and total == want
            r["rows_read_back"] = total
            if not r["verified"]:
                log(
                    f"trackd/multiproc: READ BACK {total} rows from {len(paths)} runs, "
                    f"expected {want}"
                )
    return r


# --------------------------------------------------------------------------- report


def _ms(s):
    return None if s is None else s * 1e3


def _mib(kib):
    return None if kib is None else kib / 1024


def build_figures(res: dict, sc: dict) -> list[dict]:
    """Turn raw results into table rows: value per tool, ratio W&B/trackd, target."""
    w, t = res.get("wandb", {}), res.get("trackd", {})

    def get(d, *path):
        for p in path:
            if not isinstance(d, dict) or p not in d:
                return None
            d = d[p]
        return d

    figs = []

    def add(key, label, unit, fw, ft, target=None, check=None, ratio_w=None, note=None):
        vw, vt = fw(w) if w else None, ft(t) if t else None
        rw = ratio_w(w) if (ratio_w and w) else vw
        ratio = rw / vt if (rw is not None and vt not in (None, 0)) else None
        met = check(vt, ratio) if (check and vt is not None) else None
        figs.append(
            {
                "key": key,
                "figure": label,
                "unit": unit,
                "wandb": vw,
                "trackd": vt,
                "ratio": ratio,
                "target": target,
                "target_met": met,
                "note": note,
            }
        )

    R, MP, WR = sc["rows"], sc["mp_procs"], sc["wide_rows"]
    add(
        "import_ms",
        f"`import` (median of {sc['import_runs']} fresh processes)",
        "ms",
        lambda d: _ms(get(d, "import", "median_s")),
        lambda d: _ms(get(d, "import", "median_s")),
        "trackd <= 150 ms",
        lambda v, r: v <= 150,
    )
    add(
        "init_first_ms",
        "`init()` first in process, service running",
        "ms",
        lambda d: _ms(get(d, "init", "init_first_s")),
        lambda d: _ms(get(d, "init", "init_first_s")),
    )
    add(
        "init_median_ms",
        f"`init()` median of {sc['init_cycles']}, service running",
        "ms",
        lambda d: _ms(get(d, "init", "init_median_s")),
        lambda d: _ms(get(d, "init", "init_median_s")),
        "trackd <= 50 ms",
        lambda v, r: v <= 50,
    )
    add(
        "finish_empty_ms",
        "`finish()` of an empty run, median",
        "ms",
        lambda d: _ms(get(d, "init", "finish_median_s")),
        lambda d: _ms(get(d, "init", "finish_median_s")),
        "trackd <= 50 ms",
        lambda v, r: v <= 50,
    )
    add(
        "log_us",
        f"`log({{10 floats}})` caller cost, mean of {R:,} calls",
        "µs",
        lambda d: get(d, "rows", "log_us"),
        lambda d: get(d, "rows", "log_us"),
        ">= 10x lower",
        lambda v, r: r is not None and r >= 10,
    )
    add(
        "rows_s",
        f"{R:,} rows x 10 floats, first log -> finish returned",
        "s",
        lambda d: get(d, "rows", "wall_s"),
        lambda d: get(d, "rows", "wall_s"),
        ">= 4x faster",
        lambda v, r: r is not None and r >= 4,
    )
    add(
        "rows_finish_s",
        f"  of which `finish()` after {R:,} rows",
        "s",
        lambda d: get(d, "rows", "finish_s"),
        lambda d: get(d, "rows", "finish_s"),
    )
    add(
        "rows_readback_s",
        f"  read back {R:,} rows via Api().run().scan_history() (not in the figure)",
        "s",
        lambda d: None,
        lambda d: get(d, "rows", "readback", "total_s"),
        "all rows back",
        lambda v, r: bool(get(t, "rows", "verified")),
    )

    def mp_fast(d):
        vals = [get(d, "multiproc_shared", "wall_s"), get(d, "multiproc_own", "wall_s")]
        vals = [v for v in vals if v is not None]
        return min(vals) if vals else None

    add(
        "multiproc_s",
        f"{MP} processes x {sc['mp_rows']:,} rows, one shared service (spawn)",
        "s",
        lambda d: get(d, "multiproc_shared", "wall_s"),
        lambda d: get(d, "multiproc_shared", "wall_s"),
        ">= 4x faster (vs W&B's faster mode)",
        lambda v, r: r is not None and r >= 4 and bool(get(t, "multiproc_shared", "verified")),
        ratio_w=mp_fast,
        note="ratio against the faster W&B mode",
    )
    if get(w, "multiproc_own"):
        add(
            "multiproc_own_s",
            f"  W&B with a service per process ({MP} wandb-core)",
            "s",
            lambda d: get(d, "multiproc_own", "wall_s"),
            lambda d: None,
        )
    add(
        "wide_s",
        f"{WR:,} rows x {sc['wide_keys']:,} keys, first log -> finish returned",
        "s",
        lambda d: get(d, "wide", "wall_s"),
        lambda d: get(d, "wide", "wall_s"),
        ">= 3x faster",
        lambda v, r: r is not None and r >= 3,
    )
    add(
        "train_peak_rss_mib",
        f"training process peak RSS ({R:,}-row run)",
        "MiB",
        lambda d: _mib(get(d, "memory", "maxrss_kib")),
        lambda d: _mib(get(d, "memory", "maxrss_kib")),
        "report",
    )

    def sdk_added(d):
        a, b = get(d, "memory", "rss_after_log_kib"), get(d, "memory", "rss_before_import_kib")
        return _mib(a - b) if a is not None and b is not None else None

    add(
        "sdk_added_rss_mib",
        "SDK-added RSS (after init+logging - before import)",
        "MiB",
        sdk_added,
        sdk_added,
        "report",
    )
    add(
        "service_peak_rss_mib",
        f"service/daemon peak RSS, incl. its child processes ({R:,}-row run)",
        "MiB",
        lambda d: _mib(get(d, "memory", "service_peak_rss_kib")),
        lambda d: _mib(get(d, "memory", "service_peak_rss_kib")),
        "report",
    )
    add(
        "service_peak_rss_mp_mib",
        f"service/daemon peak RSS, incl. its child processes ({MP}-process run)",
        "MiB",
        lambda d: _mib(get(d, "multiproc_shared", "service_peak_rss_kib")),
        lambda d: _mib(get(d, "multiproc_shared", "service_peak_rss_kib")),
        "report",
    )
    add(
        "service_peak_rss_wide_mib",
        f"service/daemon peak RSS, incl. its child processes ({WR:,} x {sc['wide_keys']:,} run)",
        "MiB",
        lambda d: _mib(get(d, "wide", "service_peak_rss_kib")),
        lambda d: _mib(get(d, "wide", "service_peak_rss_kib")),
        "report",
    )
    return [f for f in figs if f["wandb"] is not None or f["trackd"] is not None]


def _fmt(v, unit):
    if v is None:
        return "n/a"
    if unit in ("ms", "MiB"):
        return f"{v:,.1f} {unit}"
    if unit == "s" and v < 10:
        return f"{v:,.3f} {unit}"
    return f"{v:,.2f} {unit}"


def render_table(figs: list[dict]) -> str:
    lines = [
        (
            f"| figure | W&B {WANDB_VERSION} offline | trackd "
            "| ratio (W&B/trackd, higher is better for trackd) | target |"
        ),
        "|---|---|---|---|---|",
    ]
    for f in figs:
        ratio = f"{f['ratio']:.2f}x" if f["ratio"] is not None else "n/a"
        if f.get("note") and f["ratio"] is not None:
            ratio += f" ({f['note']})"
        tgt = f["target"] or ""
        if f["target_met"] is not None and tgt and tgt != "report":
            tgt += " — met" if f["target_met"] else " — MISSED"
        lines.append(
            f"| {f['figure']} | {_fmt(f['wandb'], f['unit'])} | {_fmt(f['trackd'], f['unit'])} "
            f"| {ratio} | {tgt} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- setup


def ensure_wandb_venv(python: Path) -> None:
    if python.exists():
        return
    venv = python.parent.parent
    log(f"creating the W&B venv at {venv} (wandb=={WANDB_VERSION})")
    subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    subprocess.check_call([str(python), "-m", "pip", "install", "-q", f"wandb=={WANDB_VERSION}"])


def probe(tool: Tool) -> None:
    d = tool.case_dir("probe")
    try:
        r = run_worker(tool, "probe", {}, tool.env(d), d, 120)
        tool.version = r["version"]
    except BenchError as e:
        tool.error = str(e).splitlines()[-1] if str(e) else "probe failed"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tools", default="wandb,trackd", help="comma-separated: wandb,trackd")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        help=f"run only these cases (repeat or comma-separate): {', '.join(CASES)}",
    )
    ap.add_argument("--quick", action="store_true", help="scaled-down counts, for smoke testing")
    ap.add_argument("--json", help="also write figures and raw results as JSON here")
    ap.add_argument(
        "--wandb-python",
        default=str(REPO / ".bench/wandb-venv/bin/python"),
        help=f"python of the W&B venv (created with wandb=={WANDB_VERSION} when missing)",
    )
    ap.add_argument(
        "--trackd-python", default=sys.executable, help="python where trackd is installed"
    )
    ap.add_argument(
        "--skip-wandb-own",
        action="store_true",
        help="skip W&B's multiprocess run with a service per process",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp data dirs (path is printed)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="per-worker timeout in seconds (default 600, 180 with --quick)",
    )
    args = ap.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [t for t in args.tools if t not in TOOLS]
    if bad:
        ap.error(f"unknown tool(s) {bad}; choose from {TOOLS}")
    only = [c.strip() for o in args.only for c in o.split(",") if c.strip()]
    bad = [c for c in only if c not in CASES]
    if bad:
        ap.error(f"unknown case(s) {bad}; choose from {CASES}")
    args.cases = only or list(CASES)
    return args


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C so services and workers get stopped.
    signal.signal(signal.SIGTERM, _sigterm)
    if args.timeout is None:
        args.timeout = 180.0 if args.quick else 600.0
    sc = QUICK if args.quick else FULL
    wandb_py = Path(args.wandb_python)
    if not wandb_py.is_absolute():
        wandb_py = REPO / wandb_py
    if "wandb" in args.tools:
        ensure_wandb_venv(wandb_py)

    workroot = Path(tempfile.mkdtemp(prefix="trackd-bench-"))
    tools = [
        Tool(n, str(wandb_py) if n == "wandb" else args.trackd_python, workroot) for n in args.tools
    ]
    try:
        return run_all(args, sc, workroot, tools)
    finally:
        for t in tools:
            t.cleanup()  # sockets and scratch only; logs and data live in workroot
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)


def run_all(args, sc: dict, workroot: Path, tools: list[Tool]) -> int:
    for tool in tools:
        probe(tool)
        log(
            f"{tool.name}: "
            + (f"version {tool.version}" if not tool.error else f"UNAVAILABLE: {tool.error}")
        )
    active = [t for t in tools if not t.error]
    res: dict[str, dict] = {t.name: {} for t in tools}
    errors: dict[str, str] = {t.name: t.error for t in tools if t.error}
    t_start = time.monotonic()

    def attempt(tool: Tool, key: str, fn, *a):
        log(f"{tool.name}: {key} ...")
        t0 = time.monotonic()
        try:
            res[tool.name][key] = fn(*a)
        except Exception as e:  # noqa: BLE001 - one failing case must not sink the others
            errors[f"{tool.name}/{key}"] = str(e)
            log(f"{tool.name}: {key} FAILED: {e}")
        else:
            log(f"{tool.name}: {key} done in {time.monotonic() - t0:.1f} s")

    cases = args.cases
    to = args.timeout
    try:
        # Tools interleave case by case so both see the same machine conditions.
        for case in cases:
            for tool in active:
                if case == "import":
                    attempt(tool, "import", bench_import, tool, sc, to)
                elif case == "init":
                    attempt(tool, "init", bench_init, tool, sc, to)
                elif case in ("log", "rows", "memory"):
                    # One 100k-row run gives the log() cost, the wall time and the memory figures.
                    if "rows" not in res[tool.name] and f"{tool.name}/rows" not in errors:
                        attempt(tool, "rows", bench_rows, tool, "rows", sc["rows"], 10, to)
                        if "rows" in res[tool.name]:
                            res[tool.name]["memory"] = res[tool.name]["rows"]
                elif case == "multiproc":
                    attempt(tool, "multiproc_shared", bench_multiproc, tool, sc, to, "shared")
                    if tool.name == "wandb" and not args.skip_wandb_own:
                        attempt(tool, "multiproc_own", bench_multiproc, tool, sc, to, "own")
                elif case == "wide":
                    attempt(
                        tool, "wide", bench_rows, tool, "wide", sc["wide_rows"], sc["wide_keys"], to
                    )
    except KeyboardInterrupt as e:
        errors["interrupted"] = f"stopped early ({e or 'Ctrl-C'}); figures so far follow"
        log("interrupted; reporting what was measured")

    # Figures of cases not asked for are dropped (rows also feeds log and memory).
    figs = build_figures(res, sc)
    wanted = set()
    for c in cases:
        wanted |= {
            "import": {"import_ms"},
            "init": {"init_first_ms", "init_median_ms", "finish_empty_ms"},
            "log": {"log_us"},
            "rows": {"rows_s", "rows_finish_s", "rows_readback_s"},
            "multiproc": {"multiproc_s", "multiproc_own_s", "service_peak_rss_mp_mib"},
            "wide": {"wide_s", "service_peak_rss_wide_mib"},
            "memory": {"train_peak_rss_mib", "sdk_added_rss_mib", "service_peak_rss_mib"},
        }[c]
    figs = [f for f in figs if f["key"] in wanted]

    elapsed = time.monotonic() - t_start
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "scale": "quick" if args.quick else "full",
        "counts": sc,
        "tools": {
            t.name: {"python": t.python, "version": t.version, "error": t.error} for t in tools
        },
        "wandb_service": res.get("wandb", {}).get("init", {}).get("service")
        or res.get("wandb", {}).get("rows", {}).get("service"),
        "elapsed_s": elapsed,
    }
    table = render_table(figs)
    print()
    print(f"trackd benchmark — {meta['scale']} scale, {meta['cpus']} CPUs, {meta['platform']}")
    for t in tools:
        print(
            f"  {t.name}: "
            + (t.version if not t.error else f"unavailable ({t.error})")
            + f"  [{t.python}]"
        )
    if meta["wandb_service"]:
        print(f"  W&B service: {meta['wandb_service']}")
    print()
    print(table)
    if errors:
        print("\nErrors:")
        for k, v in errors.items():
            print(f"  {k}: {v.splitlines()[0] if v else v}")
    kept = " (kept)" if args.keep else " (removed at exit)"
    print(f"\n(benchmark took {elapsed:.0f} s; data in {workroot}{kept})")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": meta,
                    "figures": figs,
                    "raw": res,
                    "errors": errors,
                    "table_markdown": table,
                },
                indent=2,
                default=str,
            )
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
