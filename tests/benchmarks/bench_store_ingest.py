"""History ingestion on the PostgreSQL store beside the SQLite store, run by hand: the same
rows (``--rows`` of ``--width`` floats) through a daemon, logged by one process and by
``--procs`` processes at once, timed from the first ``log`` to every row stored (the runs'
``history_rows`` as ``Api()`` reads them); beside them W&B 0.31.0 offline, the same rows by
the same processes, timed from their start to every ``finish()`` returned (the rows written to
the runs' ``.wandb`` files; each process with its own ``wandb-core``, W&B's default), in the venv
``run_bench.py`` makes (``--wandb-python``; ``--no-wandb`` leaves the column out); and
``--store-only``: the stores alone, the same rows applied in rounds of ``--round`` rows (no
daemon, no SDK), which is what the backend changes.

    python tests/benchmarks/bench_store_ingest.py                     # 100,000 rows × 10
    python tests/benchmarks/bench_store_ingest.py --rows 20000 --procs 8 --proc-rows 20000

PostgreSQL is a throwaway server (``tests/postgres.py``) on a Unix socket, started with
``fsync=off`` like the tests' (say so when quoting figures), or the one ``--url`` names.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))  # the side-by-side benchmark's modules (run_bench, workers)

from run_bench import ensure_wandb_venv  # noqa: E402 (after sys.path)
from workers import Tool  # noqa: E402

from tests.helpers import DaemonDirs, DaemonProcess  # noqa: E402
from tests.postgres import start_server  # noqa: E402

LOGGER = textwrap.dedent("""
    import sys, time, trackd
    project, rows, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    run = trackd.init(project=project)
    t = time.perf_counter()
    for i in range(rows):
        run.log({f"m{k}": i * 0.5 + k for k in range(width)})
    run.finish()
    print(run.path, time.perf_counter() - t)
""")


WANDB_LOGGER = textwrap.dedent("""
    import sys, time, wandb
    project, rows, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    run = wandb.init(project=project, mode="offline")
    for i in range(rows):
        run.log({f"m{k}": i * 0.5 + k for k in range(width)})
    run.finish()
""")


def _measure_wandb(python: Path, procs: int, rows: int, width: int) -> float:
    """Seconds from starting ``procs`` W&B offline loggers to all of them having finished."""
    import shutil
    import tempfile

    tool = Tool("wandb", str(python), Path(tempfile.mkdtemp(prefix="bench-wandb-")))
    try:
        case = tool.case_dir(f"ingest-{procs}")
        env = tool.env(case)
        t = time.perf_counter()
        workers = [subprocess.Popen([str(python), "-c", WANDB_LOGGER, "bench", str(rows),
                                     str(width)], env=env, cwd=case, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
                   for _ in range(procs)]
        for w in workers:
            _, err = w.communicate()
            assert w.returncode == 0, err[-2000:]
        return time.perf_counter() - t
    finally:
        tool.cleanup()
        shutil.rmtree(tool.workroot, ignore_errors=True)


def _measure(env: dict[str, str], procs: int, rows: int, width: int, tag: str) -> float:
    """Seconds from starting ``procs`` loggers to all their rows being stored."""
    import os

    dirs = DaemonDirs.make()
    dirs.env.update(env)
    daemon = DaemonProcess(dirs)
    daemon.start()
    try:
        child_env = {**os.environ, **dirs.env}
        project = f"bench-{tag}-{int(time.time())}"
        t = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, "-c", LOGGER, project, str(rows),
                                     str(width)], env=child_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
                   for _ in range(procs)]
        paths = []
        for w in workers:
            out, _ = w.communicate()
            assert w.returncode == 0, out
            paths.append(out.split()[0])
        os.environ.update(dirs.env)
        import trackd

        api = trackd.Api()
        while True:
            stored = sum(api.run(p).history_rows for p in paths)
            if stored >= procs * rows:
                return time.perf_counter() - t
            time.sleep(0.05)
    finally:
        import trackd

        trackd.teardown()  # the next measurement's daemon is another one
        daemon.stop()
        dirs.cleanup()


def _measure_store(url: str, rows: int, width: int, round_rows: int) -> float:
    """Seconds to apply ``rows`` rows to one run of a fresh store, ``round_rows`` at a time."""
    import anyio

    from trackd_daemon.store import open_store
    from trackd_daemon.store.models import NewRun, RunChanges, RunKey

    async def go() -> float:
        store = await open_store(url)
        try:
            run = await store.create_run(NewRun(RunKey("bench", "store", f"r{time.time_ns()}")))
            t = time.perf_counter()
            for lo in range(0, rows, round_rows):
                batch = [(i, {f"m{k}": i * 0.5 + k for k in range(width)})
                         for i in range(lo, min(lo + round_rows, rows))]
                await store.apply([RunChanges(pk=run.pk, ingested_seq=lo, rows=batch)])
            return time.perf_counter() - t
        finally:
            await store.aclose()

    return anyio.run(go)


def _report(label: str, figures: tuple[float, float], args: argparse.Namespace) -> None:
    one, many = figures
    print(f"{label:>10}: {args.rows:,} rows × {args.width} in {one:.2f} s "
          f"({args.rows / one:,.0f} rows/s); {args.procs} procs × {args.proc_rows:,} "
          f"rows in {many:.2f} s ({args.procs * args.proc_rows / many:,.0f} rows/s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--proc-rows", type=int, default=20_000)
    parser.add_argument("--url", default="", help="a PostgreSQL database (default: a new server)")
    parser.add_argument("--store-only", action="store_true")
    parser.add_argument("--round", type=int, default=500, help="rows per round (--store-only)")
    parser.add_argument("--wandb-python", default=str(REPO / ".bench/wandb-venv/bin/python"),
                        help="python of the W&B venv (made as run_bench.py makes it if missing)")
    parser.add_argument("--no-wandb", action="store_true", help="leave out the W&B column")
    args = parser.parse_args()
    server = None
    url = args.url
    if not url:
        server = start_server()
        url = server.create_database("bench")
    try:
        if args.store_only:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                for label, store_url in (("sqlite", f"sqlite:///{tmp}/bench.db"),
                                         ("postgresql", url)):
                    s = _measure_store(store_url, args.rows, args.width, args.round)
                    print(f"{label:>10}: {args.rows:,} rows × {args.width} in rounds of "
                          f"{args.round} in {s:.2f} s ({args.rows / s:,.0f} rows/s)", flush=True)
            return 0
        figures: dict[str, tuple[float, float]] = {}
        for label, env in (("sqlite", {}), ("postgresql", {"TRACKD_STORE_URL": url})):
            figures[label] = (_measure(env, 1, args.rows, args.width, label),
                              _measure(env, args.procs, args.proc_rows, args.width, label))
            _report(label, figures[label], args)
        if not args.no_wandb:
            python = Path(args.wandb_python)
            ensure_wandb_venv(python)
            figures["wandb"] = (_measure_wandb(python, 1, args.rows, args.width),
                                _measure_wandb(python, args.procs, args.proc_rows, args.width))
            _report("wandb", figures["wandb"], args)
        base = figures["sqlite"]
        for label, (one, many) in figures.items():
            print(f"{label:>10}: {one / base[0]:.2f}× and {many / base[1]:.2f}× SQLite's time",
                  flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
