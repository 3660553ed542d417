"""The project workspace in a real browser: a project of 20 runs shows one chart per metric
with 20 lines in 20 colours; hiding a run takes its line off every chart; grouping by a config
key draws group means with bands; the layout survives a reload; named views."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import trackd
from tests.web.dash import Dashboard

RUNS = 20
STEPS = 60
METRICS = ["acc", "loss", "val/loss"]


def make_project() -> tuple[str, list[trackd.Run]]:
    project = f"ws-{uuid.uuid4().hex[:8]}"
    runs = []
    for i in range(RUNS):
        run = trackd.init(project=project, name=f"run-{i:02d}",
                          config={"opt": "adam" if i % 2 else "sgd", "lr": 0.01 * (i + 1)})
        for s in range(STEPS):
            run.log({"loss": (i + 1) / (s + 1), "acc": s / STEPS * (1 - i / 100),
                     "val/loss": 0.5 * (i + 1) / (s + 1)})
        run.finish()
        runs.append(run)
    return project, runs


def drawn(page: Any, key: str) -> list[dict[str, Any]]:
    """The traces of a workspace chart: meta (line, group, band), name, colour, run id."""
    return page.evaluate(
        """key => document.querySelector(`.ws-chart[data-key="${key}"]`).data.map(t => ({
             meta: t.meta, name: t.name, color: t.line && t.line.color, run: t.customdata,
             points: t.x.length}))""", key)


def wait_lines(page: Any, key: str, n: int) -> None:
    page.wait_for_function(
        """([key, n]) => { const c = document.querySelector(`.ws-chart[data-key="${key}"]`);
             return c && c.dataset.drawn === "1" && c.dataset.lines === String(n); }""",
        arg=[key, n])


def saved(page: Any) -> Any:
    """The response of the next save of the layout (the page saves it shortly after a change)."""
    return page.expect_response(lambda r: "/views/" in r.url and r.request.method == "POST")


def test_workspace_of_20_runs(dash: Dashboard, page: Any, shot: Any) -> None:
    project, runs = make_project()
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    keys = page.locator(".ws-chart").evaluate_all("els => els.map(e => e.dataset.key)")
    assert sorted(keys) == sorted(METRICS)  # one chart per metric
    sections = page.locator(".ws-section").evaluate_all("els => els.map(e => e.dataset.section)")
    assert sections == ["", "val"]  # the unnamed section first
    for key in METRICS:
        wait_lines(page, key, RUNS)
        lines = [t for t in drawn(page, key) if t["meta"] == "line"]
        assert len({t["color"] for t in lines}) == RUNS  # 20 distinct colours
        assert {t["run"] for t in lines} == {r.id for r in runs}
        assert all(t["points"] == STEPS for t in lines)
    colour = {t["run"]: t["color"] for t in drawn(page, "loss") if t["meta"] == "line"}
    assert all(colour[t["run"]] == t["color"] for t in drawn(page, "acc") if t["meta"] == "line")
    shot(page, "workspace")

    # The eye of a run's row hides it on every chart, and the layout keeps it.
    hidden = runs[3].id
    with saved(page):
        page.locator(f'tr.run-row[data-id="{hidden}"] button.eye').click()
    for key in METRICS:
        wait_lines(page, key, RUNS - 1)
        assert hidden not in {t["run"] for t in drawn(page, key)}
    page.reload()
    page.wait_for_selector("body[data-workspace=ready]")
    wait_lines(page, "loss", RUNS - 1)
    assert hidden not in {t["run"] for t in drawn(page, "loss")}
    assert page.locator(f'tr.run-row[data-id="{hidden}"] button.eye.off').count() == 1
    with saved(page):
        page.locator(f'tr.run-row[data-id="{hidden}"] button.eye').click()
    wait_lines(page, "loss", RUNS)

    # Show the top 10 only.
    with saved(page):
        page.select_option("#ws-top", "10")
    wait_lines(page, "loss", 10)
    with saved(page):
        page.select_option("#ws-top", "20")
    wait_lines(page, "loss", RUNS)


def test_grouping_by_a_config_key_draws_means_with_bands(dash: Dashboard, page: Any,
                                                         shot: Any) -> None:
    project, runs = make_project()
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    wait_lines(page, "loss", RUNS)
    with saved(page):
        page.select_option("#ws-group", "config.opt")
    wait_lines(page, "loss", 2)
    traces = drawn(page, "loss")
    groups = [t for t in traces if t["meta"] == "group"]
    assert sorted(t["name"] for t in groups) == ["config.opt = adam (10)", "config.opt = sgd (10)"]
    assert len([t for t in traces if t["meta"] == "band"]) == 4  # upper and lower per group
    # The mean of the sgd runs (i = 0, 2, ..., 18) at step 0: the mean of i + 1.
    first = page.evaluate("""() => document.querySelector('.ws-chart[data-key="loss"]').data
        .filter(t => t.meta === "group").map(t => [t.name, t.y[0]])""")
    assert dict(first)["config.opt = sgd (10)"] == sum(i + 1 for i in range(0, 20, 2)) / 10
    shot(page, "workspace-grouped")
    with saved(page):
        page.select_option("#ws-band", "std")
    page.reload()  # the grouping and the band are part of the layout
    page.wait_for_selector("body[data-workspace=ready]")
    wait_lines(page, "loss", 2)
    assert page.locator("#ws-group").input_value() == "config.opt"
    assert page.locator("#ws-band").input_value() == "std"


def test_settings_sections_and_named_views(dash: Dashboard, page: Any) -> None:
    project, runs = make_project()
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    wait_lines(page, "loss", RUNS)
    with saved(page):
        page.locator("#ws-log").check()
    page.wait_for_function("""() => document.querySelector('.ws-chart[data-key="loss"]')
        .layout.yaxis.type === "log" """)
    # A y range for every chart, then one chart's own.
    with saved(page):
        page.locator("#ws-ymin").fill("0.01")
        page.locator("#ws-ymin").press("Tab")
    page.wait_for_function("""() => { const r = document.querySelector(
        '.ws-chart[data-key="loss"]').layout.yaxis.range;
        return r && Math.abs(r[0] + 2) < 1e-9; }""")  # log scale: log10(0.01)
    page.locator('.ws-chart-box[data-key="val/loss"] .ws-gear').click()
    with saved(page):
        page.locator('.ws-chart-box[data-key="val/loss"] [data-setting="ymax"]').fill("1")
        page.locator('.ws-chart-box[data-key="val/loss"] [data-setting="ymax"]').press("Tab")
    page.wait_for_function("""() => { const r = document.querySelector(
        '.ws-chart[data-key="val/loss"]').layout.yaxis.range;
        return r && r[0] === -2 && r[1] === 0; }""")
    with saved(page):
        page.locator("#ws-ymin").fill("")
        page.locator("#ws-ymin").press("Tab")
    # A chart of its own: relative time on the x axis for "acc" only.
    page.locator('.ws-chart-box[data-key="acc"] .ws-gear').click()
    with saved(page):
        page.locator('.ws-chart-box[data-key="acc"] select[data-setting="x"]').select_option(
            "_runtime")
    page.wait_for_function("""() => document.querySelector('.ws-chart[data-key="acc"]')
        .dataset.x === "_runtime" """)
    assert page.locator('.ws-chart[data-key="loss"]').get_attribute("data-x") == "_step"
    # Move the val section up, then collapse it.
    with saved(page):
        page.locator('.ws-section[data-section="val"] .ws-up').click()
    order = page.locator(".ws-section").evaluate_all("els => els.map(e => e.dataset.section)")
    assert order == ["val", ""]
    with saved(page):
        page.locator('.ws-section[data-section="val"] > summary').click()
    # Save it all as a named view, then change the default.
    page.locator("#ws-view-name").fill("log view")
    with saved(page):
        page.locator("#ws-save-as").click()
    page.wait_for_function("() => document.getElementById('ws-view').value === 'log view'")
    with saved(page):  # a change now is the named view's, not the default's
        page.locator("#ws-outliers").check()
    page.reload()  # the view last opened is opened again, with its layout
    page.wait_for_selector("body[data-workspace=ready]")
    assert page.locator("#ws-view").input_value() == "log view"
    assert page.locator("#ws-log").is_checked() and page.locator("#ws-outliers").is_checked()
    assert page.locator('.ws-section[data-section="val"]').evaluate("e => e.open") is False
    order = page.locator(".ws-section").evaluate_all("els => els.map(e => e.dataset.section)")
    assert order == ["val", ""]
    wait_lines(page, "acc", RUNS)
    assert page.locator('.ws-chart[data-key="acc"]').get_attribute("data-x") == "_runtime"
    page.select_option("#ws-view", "default")
    page.wait_for_function("() => !document.getElementById('ws-outliers').checked")
    assert page.locator("#ws-log").is_checked()
    views = page.locator("#ws-view option").evaluate_all("os => os.map(o => o.value)")
    assert views == ["default", "log view"]
    page.select_option("#ws-view", "log view")
    page.wait_for_function("() => document.getElementById('ws-outliers').checked")
    page.once("dialog", lambda d: d.accept())
    page.locator("#ws-delete-view").click()
    page.wait_for_function("""() => [...document.querySelectorAll('#ws-view option')]
        .map(o => o.value).join() === "default" """)


def test_panels_are_added_and_kept_in_the_layout(dash: Dashboard, page: Any) -> None:
    project, runs = make_project()
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    kinds = page.locator("#ws-add-panel option").evaluate_all("os => os.map(o => o.value)")
    assert "scatter" in kinds and "parallel" in kinds  # TDPanels.kinds
    with saved(page):
        page.select_option("#ws-add-panel", "scatter")
    page.wait_for_selector('.ws-panel[data-kind="scatter"] .ws-panel-body[data-drawn="1"]')
    page.reload()
    page.wait_for_selector('.ws-panel[data-kind="scatter"] .ws-panel-body[data-drawn="1"]')
    assert page.locator(".ws-section").first.get_attribute("data-section") == "__panels"
    with saved(page):
        page.locator('.ws-panel[data-kind="scatter"] .chart-title button').click()
    assert page.locator(".ws-panel").count() == 0


def test_delete_selected_runs(dash: Dashboard, page: Any) -> None:
    project, runs = make_project()
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    wait_lines(page, "loss", RUNS)
    gone = [runs[0].id, runs[1].id]
    for rid in gone:
        page.locator(f'tr.run-row[data-id="{rid}"] input.select').check()
    assert page.locator("#delete-button").inner_text() == "Delete selected (2)"
    page.once("dialog", lambda d: d.dismiss())  # asked first: refusing deletes nothing
    page.locator("#delete-button").click()
    assert page.locator("tr.run-row").count() == RUNS
    page.once("dialog", lambda d: d.accept())
    page.locator("#delete-button").click()
    page.wait_for_function(f"() => document.querySelectorAll('tr.run-row').length === {RUNS - 2}")
    wait_lines(page, "loss", RUNS - 2)
    assert not set(gone) & {t["run"] for t in drawn(page, "loss")}
    assert dash.json(f"/api/v1/projects/{runs[0].entity}/{project}/runs")["total"] == RUNS - 2


LIVE_SCRIPT = """
    import os, sys, time
    import trackd
    run = trackd.init(project=sys.argv[2], config={"lr": 0.1})
    print(run.id, flush=True)
    i = 0
    deadline = time.monotonic() + 90
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        row = {"loss": 1.0 / (i + 1)}
        if i >= 20:
            row["late/metric"] = float(i)  # a metric that appears while the page is open
        run.log(row)
        i += 1
        time.sleep(0.05)
    run.finish()
"""


def test_a_running_runs_line_grows_and_new_metrics_get_charts(dash: Dashboard, page: Any,
                                                              tmp_path: Path) -> None:
    project = f"ws-live-{uuid.uuid4().hex[:6]}"
    script = tmp_path / "live.py"
    script.write_text(textwrap.dedent(LIVE_SCRIPT))
    stop = tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, str(script), str(stop), project],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.5)  # a few rows before the page opens
        page.goto(dash.ticket_url(f"/{trackd.Api().default_entity}/{project}"))
        page.wait_for_selector('.ws-chart[data-key="loss"][data-drawn="1"]')
        first = drawn(page, "loss")[0]["points"]
        page.wait_for_function(
            """n => { const c = document.querySelector('.ws-chart[data-key="loss"]');
                      return c.data && c.data.length && c.data[0].x.length > n; }""",
            arg=first, timeout=30_000)  # the table looks again every 5 s, the charts follow
        page.wait_for_selector('.ws-chart[data-key="late/metric"][data-drawn="1"]',
                               timeout=30_000)
    finally:
        stop.touch()
        assert proc.wait(60) == 0


def test_system_metrics_come_last_collapsed_against_seconds(dash: Dashboard, page: Any) -> None:
    project = f"ws-sys-{uuid.uuid4().hex[:8]}"
    runs = []
    for i in range(2):
        with trackd.init(project=project, name=f"sys-{i}",
                         settings={"x_stats_sampling_interval": 1}) as run:
            for s in range(3):
                run.log({"loss": (i + 1) / (s + 1)})
                time.sleep(1.1)  # a few system samples
        runs.append(run)
    page.goto(dash.ticket_url(f"/{runs[0].entity}/{project}"))
    page.wait_for_selector("body[data-workspace=ready]")
    order = page.locator(".ws-section").evaluate_all("els => els.map(e => e.dataset.section)")
    assert order == ["", "System"]
    system = page.locator('.ws-section[data-section="System"]')
    assert system.evaluate("e => e.open") is False  # collapsed until opened
    system.locator("> summary").click()
    wait_lines(page, "system.cpu", 2)
    title = page.evaluate("""() => document.querySelector('.ws-chart[data-key="system.cpu"]')
                             .layout.xaxis.title.text""")
    assert "(s)" in title  # a seconds axis says so
