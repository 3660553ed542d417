"""The benchmark cases: each runs its worker(s) for one tool and returns the raw result.

Every case except `import` runs against a fresh service (see services.py), so the
service's peak RSS belongs to that case alone. trackd's logged rows are read back
through the same daemon and checked.
"""

from __future__ import annotations

import statistics
from contextlib import contextmanager
from pathlib import Path

from services import Service, service_for
from workers import Tool, log, run_worker


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


@contextmanager
def _logging_run(tool: Tool, d: Path, case: str, params: dict, timeout: float, mode="shared"):
    """Run one logging worker against a fresh service; yield its result and a read-back.

    The result gets the service's memory figures and note before anything is read
    back; `read_back(paths, keys)` runs the read-back worker through the same
    service (still up inside the block) and stores its result under "readback".
    """
    with service_for(tool, d, mode) as svc:
        env = _worker_env(tool, d, svc)
        r = run_worker(tool, case, params, env, d, timeout)
        # The service's high-water mark, read before any read-back touches it.
        _service_memory(r, svc)
        r["service"] = svc.note

        def read_back(paths: list[str], keys: int) -> dict:
            params = {"paths": paths, "keys": keys}
            r["readback"] = run_worker(tool, "readback", params, env, d, timeout)
            return r["readback"]

        yield r, read_back


def bench_rows(tool: Tool, case: str, rows: int, keys: int, timeout: float) -> dict:
    d = tool.case_dir(case)
    params = {"rows": rows, "keys": keys}
    with _logging_run(tool, d, "rows", params, timeout) as (r, read_back):
        if tool.name == "trackd":
            run = read_back([r["path"]], keys)["runs"][0]
            r["verified"] = run["rows"] == rows and run["keys_ok"]
            if not r["verified"]:
                log(
                    f"trackd/{case}: READ BACK {run['rows']} rows (keys ok: {run['keys_ok']}), "
                    f"expected {rows}"
                )
    return r


def bench_multiproc(tool: Tool, sc: dict, timeout: float, mode: str) -> dict:
    d = tool.case_dir(f"multiproc-{mode}")
    params = {"procs": sc["mp_procs"], "rows": sc["mp_rows"], "keys": 10, "timeout": timeout}
    with _logging_run(tool, d, "multiproc", params, timeout, mode) as (r, read_back):
        if tool.name == "trackd":
            paths = [c["path"] for c in r["children"] if c.get("ok")]
            total = sum(x["rows"] for x in read_back(paths, 10)["runs"])
            want = sc["mp_procs"] * sc["mp_rows"]
            r["verified"] = r["ok"] and len(paths) == sc["mp_procs"] and total == want
            r["rows_read_back"] = total
            if not r["verified"]:
                log(
                    f"trackd/multiproc: READ BACK {total} rows from {len(paths)} runs, "
                    f"expected {want}"
                )
    return r


def bench_train(tool: Tool, sc: dict, timeout: float) -> dict:
    d = tool.case_dir("train")
    params = {"steps": sc["train_steps"], "work": sc["train_work"], "block": sc["train_block"]}
    with _logging_run(tool, d, "train", params, timeout) as (r, read_back):
        if tool.name == "trackd":
            run = read_back([r["path"]], 10)["runs"][0]
            r["verified"] = run["rows"] == r["steps"] and run["keys_ok"]
            if not r["verified"]:
                log(f"trackd/train: READ BACK {run['rows']} rows, expected {r['steps']}")
    return r


def bench_keys(tool: Tool, sc: dict, timeout: float) -> dict:
    """log() cost by row width: one run per width, each against a fresh service."""
    return {
        str(keys): bench_rows(tool, f"keys{keys}", rows, keys, timeout)
        for keys, rows in sc["keys_rows"].items()
    }


def bench_ingest(tool: Tool, sc: dict, timeout: float) -> dict:
    """Rows per second through one service with 1, 8 and 64 runs logging at once (one
    process each, the same total rows), each count against a fresh service."""
    out = {}
    for procs in sc["ingest_procs"]:
        d = tool.case_dir(f"ingest{procs}")
        rows = sc["ingest_rows_total"] // procs
        params = {"procs": procs, "rows": rows, "keys": 10, "timeout": timeout}
        with _logging_run(tool, d, "ingest", params, timeout) as (r, read_back):
            if tool.name == "trackd" and r["ok"]:
                paths = [c["path"] for c in r["children"]]
                total = sum(x["rows"] for x in read_back(paths, 10)["runs"])
                r["verified"] = total == procs * rows
                r["rows_read_back"] = total
                if not r["verified"]:
                    log(f"trackd/ingest{procs}: READ BACK {total} rows, expected {procs * rows}")
        out[str(procs)] = r
    return out
