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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report
from cases import (
    bench_import,
    bench_ingest,
    bench_init,
    bench_keys,
    bench_multiproc,
    bench_rows,
    bench_train,
)
from workers import HERE, TOOLS, WANDB_VERSION, BenchError, Tool, log, run_worker

REPO = HERE.parents[1]
CASES = ("import", "init", "log", "rows", "multiproc", "wide", "memory", "train", "keys", "ingest")

FULL = {
    "import_runs": 5,
    "init_cycles": 20,  # plus the first one, reported separately
    "rows": 100_000,
    "mp_procs": 8,
    "mp_rows": 20_000,
    "wide_rows": 2_000,
    "wide_keys": 1_000,
    "train_steps": 5_000,  # logged, and as many not logged; of 1.3-2 ms each here
    "train_work": 20_000,
    "train_block": 500,  # 0.6-1 s: several of the SDK's sends (0.1 s apart) fall in each block
    "keys_rows": {10: 20_000, 100: 5_000, 1_000: 1_000, 10_000: 200},
    "ingest_procs": (1, 8, 64),
    "ingest_rows_total": 64_000,
}
QUICK = {
    "import_runs": 2,
    "init_cycles": 5,
    "rows": 10_000,
    "mp_procs": 4,
    "mp_rows": 2_000,
    "wide_rows": 200,
    "wide_keys": 1_000,
    "train_steps": 1_000,
    "train_work": 20_000,
    "train_block": 500,  # 0.6-1 s: several of the SDK's sends (0.1 s apart) fall in each block
    "keys_rows": {10: 5_000, 100: 2_000, 1_000: 300, 10_000: 50},
    "ingest_procs": (1, 8, 64),
    "ingest_rows_total": 8_000,
}


# --------------------------------------------------------------------------- setup


def ensure_wandb_venv(python: Path) -> None:
    if python.exists():
        return
    venv = python.parent.parent
    log(f"creating the W&B venv at {venv} (wandb=={WANDB_VERSION})")
    subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    subprocess.check_call([str(python), "-m", "pip", "install", "-q", f"wandb=={WANDB_VERSION}"])


#: The packages whose bytecode each tool's workers load.
PACKAGES = {"wandb": ("wandb",), "trackd": ("trackd", "trackd_daemon")}


def compile_packages(tool: Tool) -> None:
    """Write the tool's bytecode files, as pip does when it installs a package. An editable
    install has none, and under PYTHONDONTWRITEBYTECODE (set on some machines) every worker
    would compile each module it imports anew: tens of milliseconds a process that a user's
    installed package never pays."""
    code = ("import compileall, importlib, os, sys\n"
            "for name in sys.argv[1:]:\n"
            "    m = importlib.import_module(name)\n"
            "    compileall.compile_dir(os.path.dirname(m.__file__), quiet=2)\n")
    subprocess.run([tool.python, "-c", code, *PACKAGES[tool.name]], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def probe(tool: Tool) -> None:
    compile_packages(tool)
    d = tool.case_dir("probe")
    try:
        r = run_worker(tool, "probe", {}, tool.env(d), d, 120)
        tool.version = r["version"]
    except BenchError as e:
        tool.error = str(e).splitlines()[-1] if str(e) else "probe failed"


# --------------------------------------------------------------------------- CLI


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
                elif case == "train":
                    attempt(tool, "train", bench_train, tool, sc, to)
                elif case == "keys":
                    attempt(tool, "keys", bench_keys, tool, sc, to)
                elif case == "ingest":
                    attempt(tool, "ingest", bench_ingest, tool, sc, to)
                elif case == "wide":
                    attempt(
                        tool, "wide", bench_rows, tool, "wide", sc["wide_rows"], sc["wide_keys"], to
                    )
    except KeyboardInterrupt as e:
        errors["interrupted"] = f"stopped early ({e or 'Ctrl-C'}); figures so far follow"
        log("interrupted; reporting what was measured")

    figs = report.select_figures(report.build_figures(res, sc), cases)
    elapsed = time.monotonic() - t_start
    meta = report.build_meta(args.quick, sc, tools, res, elapsed)
    table = report.render_table(figs)
    report.print_report(meta, tools, table, errors, workroot, args.keep)
    if args.json:
        report.write_json(args.json, meta, figs, res, errors, table)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
