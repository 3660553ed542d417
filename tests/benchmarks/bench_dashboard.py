"""Dashboard benchmark, run by hand: time to first chart for a run of 1,000,000 rows x 10
metrics (target < 1 s) and the runs table's first page for a project of 10,000 runs (target
< 500 ms).

    python tests/benchmarks/bench_dashboard.py                # full size (a few minutes)
    python tests/benchmarks/bench_dashboard.py --rows 100000 --runs 1000   # smaller
    python tests/benchmarks/bench_dashboard.py --postgres     # on a PostgreSQL store

It writes the data straight into a fresh store (SQLite, as the daemon would have; with
``--postgres``, a database on a throwaway PostgreSQL server, see ``tests/postgres.py``), starts a
daemon on it, and measures through the dashboard's HTTP API and, when Debian's Chromium is
installed, in a headless browser (Playwright) from navigation to the first chart drawn or the
first table row shown. Through the API the first chart is measured *cold*, the first time
anyone opens the run, when the daemon indexes its history for charts (a run that finished while
the daemon was running is indexed at finish, in the background), and *warm*, every later open.
In the browser (a profile of its own, kept across opens as a user's browser keeps one) the run
page is opened ``--opens`` times: the first open fetches and compiles plotly.js, the second
compiles it again, later opens use the compiled code Chromium cached.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import DaemonDirs, DaemonProcess
from tests.web.dash import Dashboard

METRICS = [f"m{i}" for i in range(10)]
CHROMIUM = "/usr/bin/chromium"
#: How long each run page stays open after its first chart, as a user reading it (Chromium
#: stores a script's compiled code once the page is idle; a page closed at once leaves none).
READ_MS = 1500
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


async def populate(url: str, rows: int, runs: int) -> None:
    from trackd_daemon.store import open_store
    from trackd_daemon.store.models import FINISHED, NewRun, RunChanges, RunKey

    store = await open_store(url)
    try:
        big = await store.create_run(NewRun(RunKey("bench", "charts", "big"), name="big",
                                            config={"lr": 0.001}, start_time=1.7e9))
        batch = 50_000
        for start in range(0, rows, batch):
            chunk = []
            for s in range(start, min(rows, start + batch)):
                row = {m: math.sin(s / (1000 + 97 * i)) + (5.0 if s == rows // 3 else 0.0)
                       for i, m in enumerate(METRICS)}
                row.update(_step=s, _runtime=s * 0.01, _timestamp=1.7e9 + s * 0.01)
                chunk.append((s, row))
            await store.apply([RunChanges(big.pk, start + 1, rows=chunk)])
        last = {m: 0.0 for m in METRICS}
        await store.apply([RunChanges(big.pk, rows + 1, state=FINISHED, finished_at=1.7e9 + rows,
                                      summary=last)])
        for start in range(0, runs, 1000):
            changes = []
            for i in range(start, min(runs, start + 1000)):
                info = await store.create_run(NewRun(
                    RunKey("bench", "table", f"run{i:05d}"), config={
                        "lr": 10 ** -(1 + i % 4), "batch": 32 << (i % 3), "opt": ["adam", "sgd"][i % 2],
                        "layers": i % 7, "seed": i}, tags=[f"t{i % 5}"], group=f"g{i % 20}",
                    created_at=1.7e9 + i))
                changes.append(RunChanges(info.pk, 1, state=FINISHED, finished_at=1.7e9 + i + 60,
                                          summary={"loss": 1 / (i + 1), "acc": (i % 100) / 100,
                                                   "epoch": i % 10, "f1": 0.5, "_runtime": 60.0}))
            await store.apply(changes)
    finally:
        await store.aclose()


def timed(fn, repeat: int = 1) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def api_first_chart(dash: Dashboard) -> None:
    layout = dash.json("/api/v1/runs/bench/charts/big/metrics")
    keys = [c["key"] for s in layout["sections"] for c in s["charts"]]
    got = dash.json("/api/v1/runs/bench/charts/big/series",
                    [("key", k) for k in keys] + [("buckets", "1500")])
    s = got["series"]["m0"]
    assert s["total"] > 0 and len(s["x"]) <= 1500, s["total"]


def browser_figures(dash: Dashboard, report: dict[str, str], opens: int) -> None:
    """In a browser profile of its own, as a user's browser keeps one: plotly.js is fetched on
    the first open, and Chromium keeps its compiled code from an open after the first onwards
    (V8's code cache: made when a script runs a second time, used from the third), so the
    first open, the second and later opens are reported apart."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="bench-dash-profile-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": 1400, "height": 900})
            later = []
            for n in range(1, opens + 1):
                page = context.new_page()
                page.set_default_timeout(120_000)
                t = time.perf_counter()
                page.goto(dash.ticket_url("/bench/charts/runs/big"))
                page.wait_for_selector('.chart[data-drawn="1"]')
                ms = (time.perf_counter() - t) * 1000
                marks = page.evaluate("""() => Object.fromEntries(performance
                    .getEntriesByType("mark").map(m => [m.name, Math.round(m.startTime)]))""")
                split = ", ".join(f"{k.removeprefix('td:')} {v}" for k, v in marks.items())
                print(f"  open {n}: first chart {ms:.0f} ms ({split})", flush=True)
                if n <= 2:
                    label = "first open (new profile: plotly.js fetched and compiled)" if n == 1 \
                        else "second open (plotly.js cached, compiled again)"
                    report[f"first chart: browser, {label}"] = f"{ms:.0f} ms"
                    report[f"  of which, ms since navigation start (open {n})"] = split
                else:
                    later.append(ms)
                page.wait_for_timeout(READ_MS)
                page.close()
            if later:
                report[f"first chart: browser, later opens (median of {len(later)}; compiled "
                       "code cached)"] = f"{statistics.median(later):.0f} ms"
            page = context.new_page()
            times = []
            for _ in range(3):
                t = time.perf_counter()
                page.goto(dash.ticket_url("/bench/table"))
                page.wait_for_selector("tr.run-row")
                times.append(time.perf_counter() - t)
            report["runs table: browser, navigation to first row (median of 3)"] = (
                f"{statistics.median(times) * 1000:.0f} ms")
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--opens", type=int, default=5, help="opens of the run page in the browser")
    parser.add_argument("--postgres", action="store_true", help="a PostgreSQL store")
    parser.add_argument("--no-browser", action="store_true", help="the API figures only")
    args = parser.parse_args()
    dirs = DaemonDirs.make()
    report: dict[str, str] = {}
    server = None
    try:
        root = Path(dirs.env["TRACKD_ROOT"])
        root.mkdir(parents=True)
        url = f"sqlite:///{root / 'trackd.db'}"
        if args.postgres:
            from tests.postgres import start_server

            server = start_server()
            url = dirs.env["TRACKD_STORE_URL"] = server.create_database("dash")
        t = time.perf_counter()
        asyncio.run(populate(url, args.rows, args.runs))
        print(f"wrote {args.rows:,} rows x {len(METRICS)} metrics and {args.runs:,} runs in "
              f"{time.perf_counter() - t:.1f}s", flush=True)
        os.environ.update(dirs.env)
        daemon = DaemonProcess(dirs)
        daemon.start()
        try:
            dash = Dashboard.of(daemon)
            cold = timed(lambda: api_first_chart(dash))[0]
            warm = timed(lambda: api_first_chart(dash), 5)
            report[f"first chart: API, cold (first open: indexes {args.rows:,} rows)"] = (
                f"{cold * 1000:.0f} ms")
            report["first chart: API, warm (median of 5; metrics + 10 series, 1,500 buckets)"] = (
                f"{statistics.median(warm) * 1000:.0f} ms")
            table = timed(lambda: dash.json("/api/v1/projects/bench/table/runs"), 6)
            report[f"runs table: API first page of {args.runs:,} runs, first request"] = (
                f"{table[0] * 1000:.0f} ms")
            report["runs table: API first page, later requests (median of 5)"] = (
                f"{statistics.median(table[1:]) * 1000:.0f} ms")
            filtered = timed(lambda: dash.json("/api/v1/projects/bench/table/runs", {
                "filter": "lr > 0.005", "sort": "-summary.acc", "group_by": "group"}), 5)
            report["runs table: API filtered, sorted, grouped (median of 5)"] = (
                f"{statistics.median(filtered) * 1000:.0f} ms")
            page = timed(lambda: dash.request("/bench/table"), 5)
            report["runs table: HTML page with its first page (median of 5)"] = (
                f"{statistics.median(page) * 1000:.0f} ms")
            if args.no_browser:
                pass
            elif os.path.exists(CHROMIUM):
                browser_figures(dash, report, args.opens)
            else:
                print(f"(no {CHROMIUM}: browser figures skipped)")
        finally:
            daemon.stop()
    finally:
        dirs.cleanup()
        if server is not None:
            server.stop()
    width = max(map(len, report))
    print(f"\n{'figure':<{width}}  value")
    for k, v in report.items():
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
