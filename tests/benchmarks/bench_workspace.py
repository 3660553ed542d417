"""Project workspace benchmark, run by hand: a project of 200 runs x 10 metrics x 100,000 rows;
in Chromium, the time from navigation to the first chart drawn and to every chart in view drawn
(targets: < 1 s and < 3 s), with the workspace showing the top 20 runs (its default) and all
200 runs. It prints figures and asserts no timing.

    python tests/benchmarks/bench_workspace.py                                 # full size
    python tests/benchmarks/bench_workspace.py --runs 200 --rows 10000         # smaller

The data is written straight into a fresh store (SQLite, through the store's own ``apply``,
as the daemon writes it), the runs finished; then a daemon starts on it and indexes the finished
runs' history for charts in the background (as a daemon does at start); the benchmark waits for
that (one request per metric over every run) before it measures. In the browser, a profile of
its own (as a user's browser keeps one) opens the project page ``--opens`` times: the first open
fetches and compiles plotly.js and finds the daemon's cache of downsampled series empty, the
second open (warm) finds both cached; figures are marks the page sets (``td:ws-first-chart``,
``td:ws-all-visible``: ms since navigation start) and the wall time to the last chart in view.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import DaemonDirs, DaemonProcess
from tests.web.dash import Dashboard

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ENTITY, PROJECT = "bench", "workspace"


def metric_names(n: int) -> list[str]:
    """Half in the unnamed section, half in ``train/``."""
    return [f"m{i}" if i < n // 2 else f"train/m{i}" for i in range(n)]


async def populate(db: Path, runs: int, metrics: list[str], rows: int) -> None:
    from trackd_daemon.store.models import FINISHED, NewRun, RunChanges, RunKey
    from trackd_daemon.store.sqlite import SqliteStore

    store = await SqliteStore.open(f"sqlite:///{db}")
    batch = 20_000
    try:
        for r in range(runs):
            info = await store.create_run(NewRun(
                RunKey(ENTITY, PROJECT, f"run{r:04d}"), name=f"run-{r:04d}",
                config={"lr": 10 ** -(1 + r % 4), "opt": ["adam", "sgd"][r % 2], "seed": r},
                group=f"g{r % 5}", created_at=1.7e9 + r, start_time=1.7e9 + r))
            scale = 1 + r / runs
            seq = 1
            for start in range(0, rows, batch):
                chunk = []
                for s in range(start, min(rows, start + batch)):
                    decay = scale / (1 + s / 1000)
                    row = {m: decay * (1 + 0.1 * i) + 0.01 * math.sin(s / 37 + i)
                           for i, m in enumerate(metrics)}
                    row.update(_runtime=s * 0.01, _timestamp=1.7e9 + r + s * 0.01)
                    chunk.append((s, row))
                await store.apply([RunChanges(info.pk, seq, rows=chunk)])
                seq += 1
            await store.apply([RunChanges(info.pk, seq, state=FINISHED,
                                          finished_at=1.7e9 + r + rows * 0.01,
                                          summary={m: 0.0 for m in metrics})])
            if r % 20 == 19:
                print(f"  {r + 1} runs written", flush=True)
    finally:
        await store.aclose()


def wait_indexed(dash: Dashboard, metrics: list[str], runs: int) -> float:
    """Ask one metric of every run once, run by run: the daemon indexes what it has not yet
    (a request each, well within the dashboard's request timeout)."""
    t = time.perf_counter()
    for r in range(runs):
        dash.json(f"/api/v1/runs/{ENTITY}/{PROJECT}/run{r:04d}/series",
                  [("key", metrics[0]), ("buckets", "7")])
        if r % 20 == 19:
            print(f"  {r + 1} runs indexed ({time.perf_counter() - t:.0f} s)", flush=True)
    return time.perf_counter() - t


def api_figures(dash: Dashboard, metrics: list[str], runs: int,
                report: dict[str, str]) -> None:
    ids = ",".join(f"run{r:04d}" for r in range(runs))
    path = f"/api/v1/projects/{ENTITY}/{PROJECT}/series"
    for label, buckets in (("first (downsampled now)", "611"), ("again (daemon's cache)", "611")):
        t = time.perf_counter()
        body = dash.json(path, [("key", metrics[1]), ("runs", ids), ("buckets", buckets)])
        ms = (time.perf_counter() - t) * 1000
        assert len(body["runs"]) == runs
        report[f"API: one chart's series of {runs} runs, {label}"] = f"{ms:.0f} ms"
    t = time.perf_counter()
    dash.json(f"/api/v1/projects/{ENTITY}/{PROJECT}/metrics")
    report[f"API: the project's charts (history keys of {runs} runs)"] = (
        f"{(time.perf_counter() - t) * 1000:.0f} ms")


def set_top(dash: Dashboard, top: int | str) -> None:
    status, _, body = dash.request(
        f"/api/v1/projects/{ENTITY}/{PROJECT}/views/default", method="POST",
        data=json.dumps({"top": top}).encode(), headers={"Content-Type": "application/json"})
    assert status == 200, body


def browser_figures(dash: Dashboard, report: dict[str, str], opens: int, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="bench-ws-profile-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": 1400, "height": 900})
            for top in (20, "all"):
                set_top(dash, top)
                shown = runs if top == "all" else min(runs, top)
                for n in range(1, opens + 1):
                    page = context.new_page()
                    page.set_default_timeout(300_000)
                    t = time.perf_counter()
                    page.goto(dash.ticket_url(f"/{ENTITY}/{PROJECT}"))
                    page.wait_for_function("""() => performance
                        .getEntriesByName("td:ws-all-visible").length > 0""")
                    wall = (time.perf_counter() - t) * 1000
                    marks = page.evaluate("""() => Object.fromEntries(performance
                        .getEntriesByType("mark").map(m => [m.name, Math.round(m.startTime)]))""")
                    drawn = page.evaluate("""() => [...document.querySelectorAll(
                        '.ws-chart[data-drawn="1"]')].map(c => Number(c.dataset.lines))""")
                    assert drawn and all(d == shown for d in drawn), drawn
                    label = f"open {n}" + (" (new profile, daemon's series cache cold)"
                                           if n == 1 and top == 20 else
                                           " (daemon's series cache cold)" if n == 1 else
                                           " (warm)")
                    key = f"browser, top {top}: {shown} runs, {label}"
                    report[f"{key}: first chart"] = f"{marks['td:ws-first-chart']} ms"
                    report[f"{key}: all {len(drawn)} charts in view"] = (
                        f"{marks['td:ws-all-visible']} ms (wall {wall:.0f} ms)")
                    print(f"  {key}: {marks}", flush=True)
                    page.wait_for_timeout(1500)  # idle: Chromium caches compiled code
                    page.close()
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--opens", type=int, default=3, help="opens of the page per setting")
    parser.add_argument("--keep", type=Path, help="a folder for the store, kept: a second "
                        "benchmark with the same folder measures the data the first wrote")
    args = parser.parse_args()
    metrics = metric_names(args.metrics)
    dirs = DaemonDirs.make()
    report: dict[str, str] = {}
    try:
        root = Path(dirs.env["TRACKD_ROOT"])
        root.mkdir(parents=True)
        db = root / "trackd.db"
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            db = args.keep / "trackd.db"
            dirs.env["TRACKD_STORE_URL"] = f"sqlite:///{db}"
        report["data set"] = (f"{args.runs} runs x {args.metrics} metrics x {args.rows:,} rows "
                              f"({args.runs * args.rows:,} history rows)")
        if db.exists():
            print(f"measuring the store in {args.keep} (as written before)", flush=True)
        else:
            t = time.perf_counter()
            asyncio.run(populate(db, args.runs, metrics, args.rows))
            took = time.perf_counter() - t
            report["written through the store in"] = f"{took:.0f} s"
            print(f"wrote {report['data set']} in {took:.0f} s", flush=True)
        os.environ.update(dirs.env)
        daemon = DaemonProcess(dirs)
        daemon.start(timeout=120)
        try:
            dash = Dashboard.of(daemon)
            report["daemon indexed the history for charts in"] = (
                f"{wait_indexed(dash, metrics, args.runs):.0f} s")
            api_figures(dash, metrics, args.runs, report)
            if os.path.exists(CHROMIUM):
                browser_figures(dash, report, args.opens, args.runs)
            else:
                print(f"(no {CHROMIUM}: browser figures skipped)")
        finally:
            daemon.stop()
    finally:
        dirs.cleanup()
    width = max(map(len, report))
    print(f"\n{'figure':<{width}}  value")
    for k, v in report.items():
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
