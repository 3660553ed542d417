"""The dashboard in a real browser: projects, a run's charts, the x axis, comparing runs,
filtering the runs table, and a running run's chart growing while its script logs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import trackd
from tests.web.dash import Dashboard

STEPS = 300


def make_run(project: str, lr: float, name: str) -> trackd.Run:
    run = trackd.init(project=project, name=name, config={"lr": lr, "optimizer": "adam"},
                      tags=["browser"], group="sweep-a")
    run.define_metric("val/*", step_metric="epoch")
    run.define_metric("debug/noise", hidden=True)
    for i in range(STEPS):
        run.log({"loss": lr * 10 / (i + 1), "train/acc": i / STEPS, "debug/noise": i % 3})
        if i % 30 == 29:
            run.log({"val/loss": lr / (i + 1), "epoch": i // 30})
    run.finish()
    return run


def traces(page: Any, key: str) -> list[dict[str, Any]]:
    """The plotly traces drawn in a chart: meta (line/band/raw), name and point count."""
    return page.evaluate(
        """key => document.querySelector(`.chart[data-key="${key}"]`).data.map(
             t => ({meta: t.meta, name: t.name, points: t.x.length, x0: t.x[0]}))""", key)


def lines(page: Any, key: str) -> list[dict[str, Any]]:
    return [t for t in traces(page, key) if t["meta"] == "line"]


def test_projects_then_a_run_with_its_charts(dash: Dashboard, page: Any, shot: Any) -> None:
    run = make_run("browser-demo", 0.1, "first-run")
    page.goto(dash.ticket_url("/"))
    row = page.locator('tr.project-row[data-project="browser-demo"]')
    assert row.locator("td").nth(2).inner_text() == "1"
    shot(page, "projects")
    row.locator("a").click()
    page.wait_for_selector(f'tr.run-row[data-id="{run.id}"]')
    page.locator(f'tr.run-row[data-id="{run.id}"] a').first.click()
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    page.wait_for_selector('.chart[data-key="val/loss"][data-drawn="1"]')
    assert page.locator("#run-state").inner_text() == "finished"
    sections = page.locator("details.section > summary").all_inner_texts()
    assert sections == ["Charts", "train", "val"]
    keys = page.locator(".chart").evaluate_all("els => els.map(e => e.dataset.key)")
    assert keys == ["epoch", "loss", "train/acc", "val/loss"]  # debug/noise is hidden
    assert [(t["name"], t["points"]) for t in lines(page, "loss")] == [("loss", STEPS)]
    assert [t["points"] for t in lines(page, "val/loss")] == [STEPS // 30]
    # val/loss is drawn against its step metric, epoch.
    assert page.locator('.chart[data-key="val/loss"]').get_attribute("data-x") == "epoch"
    assert page.locator("#summary-table tr[data-key='loss']").count() == 1
    shot(page, "run")


def test_x_axis_smoothing_and_log_scale(dash: Dashboard, page: Any) -> None:
    run = make_run("browser-axes", 0.1, "axes-run")
    page.goto(dash.ticket_url(f"/{run.entity}/browser-axes/runs/{run.id}"))
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"][data-x="_step"]')
    assert lines(page, "loss")[0]["x0"] == 0
    page.select_option("#x-axis", "_runtime")
    page.wait_for_selector('.chart[data-key="loss"][data-x="_runtime"]')
    page.wait_for_selector('.chart[data-key="val/loss"][data-x="_runtime"]')
    title = page.evaluate(
        """() => document.querySelector('.chart[data-key="loss"]').layout.xaxis.title.text""")
    assert title == "Relative time (s)"
    assert lines(page, "loss")[0]["points"] == STEPS
    page.select_option("#x-axis", "_timestamp")
    page.wait_for_selector('.chart[data-key="loss"][data-x="_timestamp"]')
    assert page.evaluate(
        """() => document.querySelector('.chart[data-key="loss"]').layout.xaxis.type""") == "date"
    page.locator("#smoothing").fill("0.9")
    page.wait_for_function(
        """() => document.querySelector('.chart[data-key="loss"]').data.some(t => t.meta === "raw")""")
    page.locator("#log-scale").check()
    page.wait_for_function(
        """() => document.querySelector('.chart[data-key="loss"]').layout.yaxis.type === "log" """)


def test_filter_the_runs_table_and_compare_two_runs(dash: Dashboard, page: Any, shot: Any) -> None:
    runs = [make_run("browser-compare", lr, f"lr-{lr}") for lr in (0.3, 0.1, 0.01)]
    page.goto(dash.ticket_url(f"/{runs[0].entity}/browser-compare"))
    page.wait_for_selector("tr.run-row")
    assert page.locator("tr.run-row").count() == 3
    page.locator("#filter-input").fill("lr > 0.05")
    page.locator("#filter-input").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('tr.run-row').length === 2")
    shown = page.locator("tr.run-row").evaluate_all("els => els.map(e => e.dataset.id)")
    assert sorted(shown) == sorted([runs[0].id, runs[1].id])
    assert "filter=lr" in page.url  # the view is in the URL
    page.locator("#search-input").fill("lr-0.3")
    page.wait_for_function("() => document.querySelectorAll('tr.run-row').length === 1")
    page.locator("#search-input").fill("")
    page.wait_for_function("() => document.querySelectorAll('tr.run-row').length === 2")
    shot(page, "runs")
    for run in runs[:2]:
        page.locator(f'tr.run-row[data-id="{run.id}"] input.select').check()
    page.locator("#compare-button").click()
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    assert sorted(t["name"] for t in lines(page, "loss")) == ["lr-0.1", "lr-0.3"]
    assert all(t["points"] == STEPS for t in lines(page, "loss"))
    page.wait_for_selector("#parcoords[data-dimensions]")
    dims = page.evaluate("() => document.getElementById('parcoords').layout.xaxis.ticktext")
    assert dims[:2] == ["lr", "optimizer"] and "loss" in dims
    shot(page, "compare")


LIVE_SCRIPT = """
    import os, sys, time
    import trackd
    run = trackd.init(project="browser-live", config={"lr": 0.1})
    print(run.id, flush=True)
    stop = sys.argv[1]
    i = 0
    deadline = time.monotonic() + 90
    while not os.path.exists(stop) and time.monotonic() < deadline:
        run.log({"loss": 1.0 / (i + 1)})
        i += 1
        time.sleep(0.05)
    run.finish()
"""


def test_a_running_runs_chart_grows_while_it_logs(dash: Dashboard, page: Any, shot: Any,
                                                  tmp_path: Path) -> None:
    script = tmp_path / "live.py"
    script.write_text(textwrap.dedent(LIVE_SCRIPT))
    stop = tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, str(script), str(stop)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        entity = trackd.Api().default_entity
        page.goto(dash.ticket_url(f"/{entity}/browser-live/runs/{run_id}"))
        page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]', timeout=30_000)
        assert page.locator("#run-state").inner_text() == "running"
        seen = [lines(page, "loss")[0]["points"]]
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            page.wait_for_function(
                """n => document.querySelector('.chart[data-key="loss"]').data.find(
                       t => t.meta === "line").x.length > n""", arg=seen[-1], timeout=15_000)
            seen.append(lines(page, "loss")[0]["points"])
        assert len(seen) == 3 and seen == sorted(set(seen)), seen  # grew twice, no reload
        shot(page, "live")
        stop.touch()
        assert proc.wait(60) == 0
        page.wait_for_function("() => document.getElementById('run-state').textContent === 'finished'",
                               timeout=30_000)
        total = trackd.Api().run(f"{entity}/browser-live/{run_id}").history_rows
        page.wait_for_function(
            """n => document.querySelector('.chart[data-key="loss"]').data.find(
                   t => t.meta === "line").x.length === n""", arg=total, timeout=15_000)
    finally:
        stop.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_run_page_system_charts_files_and_logs(dash: Dashboard, page: Any, shot: Any,
                                               tmp_path: Path, monkeypatch: Any) -> None:
    """A run with console output, a saved file and system metrics: the System section charts
    the samples, the Files tab lists and serves the files, the Logs tab shows the output."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("saved file\n")
    run = trackd.init(project="browser-files", name="files-run",
                      settings={"console": "wrap", "x_stats_sampling_interval": 1})
    run.save("notes.txt", policy="now")
    for i in range(5):
        print(f"epoch {i} done")
        run.log({"loss": 1.0 / (i + 1)})
        time.sleep(0.6)
    run.finish()
    page.goto(dash.ticket_url(f"/{run.entity}/browser-files/runs/{run.id}"))
    page.wait_for_selector('.chart[data-key="system.cpu"][data-drawn="1"]')
    assert page.locator('details.section[data-section="System"] .chart').count() >= 5
    assert "Python" in page.locator("#overview").inner_text()
    # System metrics have no step: with the step picked for every chart they stay on the
    # run's time, and their axis says so.
    page.select_option("#x-axis", "_step")
    page.wait_for_selector('.chart[data-key="system.cpu"][data-x="_step"]')
    assert page.evaluate("""() => document.querySelector('.chart[data-key="system.cpu"]')
                                 .layout.xaxis.title.text""") == "Relative time (s)"
    for chart in page.locator('details.section[data-section="System"] .chart').all():
        chart.scroll_into_view_if_needed()  # charts draw as they come into view
    page.wait_for_selector('.chart[data-key="system.proc.memory.rssMB"][data-drawn="1"]')
    shot(page, "run-system")
    page.locator('#run-tabs .tab[data-tab="files-tab"]').click()
    page.wait_for_selector('#files-table tr[data-name="notes.txt"]')
    names = page.locator("#files-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.name)")
    assert {"notes.txt", "output.log", "requirements.txt", "wandb-metadata.json"} <= set(names)
    shot(page, "run-files")
    page.locator('#run-tabs .tab[data-tab="logs-tab"]').click()
    page.wait_for_selector("#logs .line")
    text = page.locator("#logs").inner_text()
    assert "epoch 0 done" in text and "epoch 4 done" in text
    shot(page, "run-logs")
    page.locator('#run-tabs .tab[data-tab="charts-area"]').click()
    assert page.locator("#charts-area").is_visible()
