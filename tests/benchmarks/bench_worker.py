"""One measurement of the trackd-vs-W&B benchmark, run in a fresh interpreter.

Started by ``run_bench.py`` -- not meant to be run by hand, and not a pytest
module (pytest only collects ``test_*.py``). Usage::

    python bench_worker.py TOOL CASE PARAMS_JSON

TOOL is ``wandb`` or ``trackd``; the SDK is imported as ``sdk`` with the same
calls for both (``init``/``log``/``finish``). The result is a single line on
stdout starting with ``RESULT_MARK``, followed by JSON; everything else the SDK
prints is ignored by the runner.

The worker imports nothing from the SDK at module level so that the
``import`` case measures a cold import and ``spawn`` children stay cheap.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time

RESULT_MARK = "@@BENCH-RESULT@@ "
PROJECT = "bench"


# --------------------------------------------------------------------------- helpers


def _proc_status_kib(field: str, pid: int | str = "self") -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM), or None off Linux."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss_kib() -> int | None:
    return _proc_status_kib("VmRSS")


def _maxrss_kib() -> int:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r // 1024 if sys.platform == "darwin" else r


def _emit(result: dict) -> None:
    sys.stdout.flush()
    sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


def _import_sdk(tool: str):
    if tool == "wandb":
        import wandb as sdk
    elif tool == "trackd":
        import trackd as sdk
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    return sdk


def _init(sdk, tool: str, **kw):
    if tool == "wandb":
        # Offline is also forced through WANDB_MODE by the runner.
        return sdk.init(project=PROJECT, mode="offline", **kw)
    return sdk.init(project=PROJECT, **kw)


def _run_path(run) -> str | None:
    path = getattr(run, "path", None)
    if isinstance(path, str):
        return path
    try:
        return f"{run.entity}/{run.project}/{run.id}"
    except Exception:  # noqa: BLE001 - the path is informative only
        return None


def _keys(n: int) -> list[str]:
    return [f"m{j:04d}" for j in range(n)]


def _log_loop(fn, keys: list[str], n_rows: int) -> float:
    """Call ``fn(row)`` n_rows times with a fresh dict of len(keys) floats.

    Returns the seconds the loop took. The row is built inside the loop as a
    training script would; the same loop with a no-op ``fn`` gives the
    baseline that is subtracted to get the cost of ``log()`` alone.
    """
    perf = time.perf_counter
    t0 = perf()
    for i in range(n_rows):
        x = i * 1e-3
        fn({k: x + j for j, k in enumerate(keys)})
    return perf() - t0


def _noop(_row) -> None:
    return None


# --------------------------------------------------------------------------- cases


def case_probe(tool: str, p: dict) -> dict:
    sdk = _import_sdk(tool)
    return {"version": getattr(sdk, "__version__", "?"), "python": sys.version.split()[0]}


def case_import(tool: str, p: dict) -> dict:
    rss0 = _rss_kib()
    t0 = time.perf_counter()
    _import_sdk(tool)
    dt = time.perf_counter() - t0
    rss1 = _rss_kib()
    return {"import_s": dt, "import_rss_kib": (rss1 - rss0) if rss0 and rss1 else None}


def case_init(tool: str, p: dict) -> dict:
    """init()+finish() of empty runs, cycles times in this one process."""
    sdk = _import_sdk(tool)
    perf = time.perf_counter
    init_s, finish_s, paths = [], [], []
    for _ in range(p["cycles"]):
        t0 = perf()
        run = _init(sdk, tool)
        t1 = perf()
        paths.append(_run_path(run))
        run.finish()
        t2 = perf()
        init_s.append(t1 - t0)
        finish_s.append(t2 - t1)
    # log() in disabled mode: what tracking costs when it is switched off.
    run = sdk.init(project=PROJECT, mode="disabled")
    row = {"loss": 0.5, "acc": 0.9}
    n = 200_000
    t0 = perf()
    for _ in range(n):
        run.log(row)
    disabled_log_us = (perf() - t0) / n * 1e6
    run.finish()
    return {
        "init_s": init_s,
        "finish_s": finish_s,
        "paths": paths,
        "disabled_log_us": disabled_log_us,
    }


def case_rows(tool: str, p: dict) -> dict:
    """n_rows x n_keys floats into one run: log() cost, wall to finish, memory."""
    n_rows, keys = p["rows"], _keys(p["keys"])
    # Baseline first, before the SDK is imported, so it does not disturb RSS figures.
    baseline_s = _log_loop(_noop, keys, n_rows) if p.get("baseline", True) else 0.0
    rss_before_import = _rss_kib()
    sdk = _import_sdk(tool)
    rss_after_import = _rss_kib()
    run = _init(sdk, tool)
    path = _run_path(run)
    rss_after_init = _rss_kib()

    perf = time.perf_counter
    t0 = perf()
    loop_s = _log_loop(run.log, keys, n_rows)
    t1 = perf()
    rss_after_log = _rss_kib()
    run.finish()
    t2 = perf()
    rss_after_finish = _rss_kib()
    return {
        "path": path,
        "rows": n_rows,
        "keys": len(keys),
        "baseline_loop_s": baseline_s,
        "log_loop_s": loop_s,
        "log_us": (loop_s - baseline_s) / n_rows * 1e6,
        "log_us_gross": loop_s / n_rows * 1e6,
        "finish_s": t2 - t1,
        "wall_s": t2 - t0,
        "rss_before_import_kib": rss_before_import,
        "rss_after_import_kib": rss_after_import,
        "rss_after_init_kib": rss_after_init,
        "rss_after_log_kib": rss_after_log,
        "rss_after_finish_kib": rss_after_finish,
        "maxrss_kib": _maxrss_kib(),
    }


def _mp_child(tool: str, n_rows: int, n_keys: int, queue) -> None:
    try:
        sdk = _import_sdk(tool)
        run = _init(sdk, tool)
        path = _run_path(run)
        t0 = time.perf_counter()
        _log_loop(run.log, _keys(n_keys), n_rows)
        run.finish()
        queue.put({"ok": True, "path": path, "rows": n_rows, "child_s": time.perf_counter() - t0})
    except BaseException as e:  # report and let the parent count it
        queue.put({"ok": False, "error": f"{type(e).__name__}: {e}"})
        raise


def case_multiproc(tool: str, p: dict) -> dict:
    """p['procs'] spawned processes, each its own run of p['rows'] rows."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_mp_child, args=(tool, p["rows"], p["keys"], queue))
        for _ in range(p["procs"])
    ]
    t0 = time.perf_counter()
    for pr in procs:
        pr.start()
    results = [queue.get(timeout=p.get("timeout", 600)) for _ in procs]
    for pr in procs:
        pr.join()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "children": results,
        "exitcodes": [pr.exitcode for pr in procs],
        "ok": all(r.get("ok") for r in results) and all(pr.exitcode == 0 for pr in procs),
    }


def _train_step(work: int, i: int) -> float:
    """One step of a CPU-bound training loop in pure Python (it holds the GIL throughout, so
    every cycle an SDK's background threads take is a cycle the loop waits for)."""
    acc = 0.0
    for j in range(work):
        acc += ((i ^ j) & 1023) * 1e-6
    return acc


def _train_loop(fn, steps: int, work: int) -> float:
    """``steps`` training steps, each followed by ``fn({10 floats})``; the loop's seconds."""
    keys = _keys(10)
    perf = time.perf_counter
    t0 = perf()
    for i in range(steps):
        v = _train_step(work, i)
        fn({k: v + j for j, k in enumerate(keys)})
    return perf() - t0


def _threads_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's threads by name (a Python thread's name, else the OS
    thread's, e.g. gRPC's own), from /proc/self/task; empty off Linux."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = names.get(int(tid)) or stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _iqr(values: list[float]) -> float:
    """The interquartile range of ``values`` (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q3 - q1


def case_train(tool: str, p: dict) -> dict:
    """A CPU-bound loop in one process with a run open, in blocks of p['block'] steps that
    alternate between logging ``{10 floats}`` every step and not logging (ABBA order, so that
    the load of other processes on the machine falls on both alike); p['steps'] steps of each.
    Wall time and this process's CPU time (every thread's, the SDK's background ones included)
    per kind of block; the slowdown is the median over the rounds of logged / not logged."""
    steps, work, block = p["steps"], p["work"], p["block"]
    _train_loop(_noop, block, work)  # warm-up: the loop's code and caches
    sdk = _import_sdk(tool)
    run = _init(sdk, tool)
    path = _run_path(run)
    wall = {"off": 0.0, "on": 0.0}
    cpu = {"off": 0.0, "on": 0.0}
    main_cpu = {"off": 0.0, "on": 0.0}  # the training thread's own CPU time
    ratios, cpu_ratios = [], []
    for r in range(max(steps // block, 1)):
        round_wall, round_cpu = {}, {}
        for kind in (("off", "on") if r % 2 == 0 else ("on", "off")):
            c0, m0 = time.process_time(), time.thread_time()
            round_wall[kind] = _train_loop(run.log if kind == "on" else _noop, block, work)
            round_cpu[kind] = time.process_time() - c0
            main_cpu[kind] += time.thread_time() - m0
            wall[kind] += round_wall[kind]
            cpu[kind] += round_cpu[kind]
        ratios.append(round_wall["on"] / round_wall["off"])
        cpu_ratios.append(round_cpu["on"] / round_cpu["off"])
    threads_cpu_s = _threads_cpu_s()  # before finish(): the threads of the run's life
    t0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - t0
    logged = max(steps // block, 1) * block
    return {
        "path": path,
        "rows": logged,
        "steps": logged,
        "step_ms": wall["off"] / logged * 1e3,
        "wall_off_s": wall["off"],
        "wall_on_s": wall["on"],
        "cpu_off_s": cpu["off"],
        "cpu_on_s": cpu["on"],
        "finish_s": finish_s,
        "slowdown_pct": (statistics.median(ratios) - 1) * 100,
        # How far the rounds disagree: a target closer to the median than this is within the
        # machine's noise.
        "slowdown_iqr_pct": _iqr(ratios) * 100,
        "slowdown_sum_pct": (wall["on"] / wall["off"] - 1) * 100,
        "slowdown_to_finish_pct": ((wall["on"] + finish_s) / wall["off"] - 1) * 100,
        "cpu_overhead_pct": (statistics.median(cpu_ratios) - 1) * 100,
        "log_cpu_us_per_step": (cpu["on"] - cpu["off"]) / logged * 1e6,
        "threads_cpu_s": threads_cpu_s,
        "log_main_cpu_us_per_step": (main_cpu["on"] - main_cpu["off"]) / logged * 1e6,
        "log_other_cpu_us_per_step": (
            (cpu["on"] - main_cpu["on"]) - (cpu["off"] - main_cpu["off"])) / logged * 1e6,
    }


def _ingest_child(tool: str, n_rows: int, n_keys: int, barrier, queue) -> None:
    try:
        sdk = _import_sdk(tool)
        run = _init(sdk, tool)
        path = _run_path(run)
        barrier.wait()  # every run is open: they all start logging at once
        t0 = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
        _log_loop(run.log, _keys(n_keys), n_rows)
        run.finish()
        t1 = time.monotonic()
        queue.put({"ok": True, "path": path, "rows": n_rows, "t0": t0, "t1": t1})
    except BaseException as e:  # report and let the parent count it
        queue.put({"ok": False, "error": f"{type(e).__name__}: {e}"})
        raise


def case_ingest(tool: str, p: dict) -> dict:
    """p['procs'] spawned processes, each its own run of p['rows'] rows, all open before any
    logs; the window runs from the first log() to the last finish() returning."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(p["procs"] + 1, timeout=p.get("timeout", 600))
    procs = [
        ctx.Process(target=_ingest_child, args=(tool, p["rows"], p["keys"], barrier, queue))
        for _ in range(p["procs"])
    ]
    for pr in procs:
        pr.start()
    barrier.wait()
    results = [queue.get(timeout=p.get("timeout", 600)) for _ in procs]
    for pr in procs:
        pr.join()
    ok = all(r.get("ok") for r in results) and all(pr.exitcode == 0 for pr in procs)
    window = None
    if ok:
        window = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    total = sum(r.get("rows", 0) for r in results if r.get("ok"))
    return {
        "window_s": window,
        "rows_total": total,
        "rows_per_s": total / window if window else None,
        "children": results,
        "exitcodes": [pr.exitcode for pr in procs],
        "ok": ok,
    }


def case_readback(tool: str, p: dict) -> dict:
    """trackd only: read every row of the given runs back through the Api."""
    if tool != "trackd":
        raise SystemExit("readback is a trackd-only case")
    sdk = _import_sdk(tool)
    api = sdk.Api()
    out = []
    t0 = time.perf_counter()
    for path in p["paths"]:
        t = time.perf_counter()
        run = api.run(path)
        n = 0
        keys_ok = True
        want = p.get("keys")
        for row in run.scan_history():
            if n == 0 and want:
                keys_ok = all(k in row for k in _keys(want))
            n += 1
        seconds = time.perf_counter() - t
        try:
            state = str(run.state)
        except Exception as e:  # noqa: BLE001 - the state is informative only
            state = f"? ({type(e).__name__})"
        out.append(
            {"path": path, "rows": n, "keys_ok": keys_ok, "state": state, "seconds": seconds}
        )
    return {"runs": out, "total_s": time.perf_counter() - t0}


def case_serve(tool: str, p: dict) -> dict:
    """trackd only: hold trackd.setup() open until the runner says stop on stdin.

    Prints the RESULT line as soon as the daemon is up (with TRACKD_ADDRESS and,
    if the SDK exposes it, the daemon pid), then waits; returns after teardown.
    """
    if tool != "trackd":
        raise SystemExit("serve is a trackd-only case")
    sdk = _import_sdk(tool)
    t0 = time.perf_counter()
    handle = sdk.setup()
    up_s = time.perf_counter() - t0
    pid = None
    # setup() returns the process state; the pid of a daemon it started is on it.
    for attr in ("owned_daemon_pid", "daemon_pid"):
        val = handle.get(attr) if isinstance(handle, dict) else getattr(handle, attr, None)
        if isinstance(val, int) and val != os.getpid():
            pid = val
            break
    _emit(
        {
            "address": os.environ.get("TRACKD_ADDRESS"),
            "daemon_pid": pid,
            "setup_s": up_s,
            "pid": os.getpid(),
        }
    )
    sys.stdin.readline()  # "stop\n" or EOF
    t0 = time.perf_counter()
    sdk.teardown()
    return {"teardown_s": time.perf_counter() - t0}


CASES = {
    "probe": case_probe,
    "import": case_import,
    "init": case_init,
    "rows": case_rows,
    "multiproc": case_multiproc,
    "train": case_train,
    "ingest": case_ingest,
    "readback": case_readback,
    "serve": case_serve,
}


def main(argv: list[str]) -> None:
    tool, case = argv[1], argv[2]
    params = json.loads(argv[3]) if len(argv) > 3 else {}
    result = CASES[case](tool, params)
    if case == "serve":
        # The first RESULT line was the address; this one reports teardown.
        sys.stdout.write("@@BENCH-DONE@@ " + json.dumps(result) + "\n")
        sys.stdout.flush()
        return
    _emit(result)


if __name__ == "__main__":
    main(sys.argv)
