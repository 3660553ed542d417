"""The sweep page in a real browser: a sweep of the daemon with runs made by ``trackd.init``
under its id; its state, runs, the three charts (metric by run with the best so far, parallel
coordinates, parameter importance), the controls acting through the daemon, and the links to
the page from the project page and the runs table."""

from __future__ import annotations

from typing import Any

from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from tests.web.sweep_runs import ENTITY, SweepClient, make_sweep
from trackd.v1 import sweep_service_pb2 as pb


def _plot(page: Any, div: str) -> list[dict[str, Any]]:
    return page.evaluate(
        """id => document.getElementById(id).data.map(
             t => ({meta: t.meta, name: t.name, points: t.x.filter(x => x !== null).length}))""",
        div)


def test_the_sweep_page_shows_its_runs_and_charts_and_pauses_it(
        clean_sdk: DaemonProcess, dash: Dashboard, page: Any, shot: Any) -> None:
    sweep = make_sweep(clean_sdk, "browser-sweep", runs=5)
    page.goto(dash.ticket_url(sweep.path))
    assert page.locator("#sweep-state").inner_text() == "running"
    assert page.locator("#sweep-name").inner_text() == "lr-search"
    assert "method: random" in page.locator("#sweep-config").inner_text()

    # The runs: five finished, one proposal never started and stopped early.
    rows = page.locator("tr.sweep-run-row")
    assert rows.count() == 6
    assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(
        sweep.proposals)
    stopped = page.locator('tr.sweep-run-row[data-stopped-early="1"]')
    assert stopped.count() == 1 and "stopped early" in stopped.inner_text()
    headers = page.locator("#sweep-runs-table thead th").all_inner_texts()
    for column in ("lr", "optimizer", "model.layers", "val/loss"):
        assert any(h.startswith(column) for h in headers), (column, headers)
    best = min(sweep.metrics, key=lambda k: sweep.metrics[k])
    assert page.locator("tr.sweep-run-row.best").get_attribute("data-id") == best

    # The metric by run, with the best so far.
    page.wait_for_selector('#metric-chart[data-traces="2"]')
    by_meta = {t["meta"]: t for t in _plot(page, "metric-chart")}
    assert by_meta["runs"]["points"] == 5 and by_meta["best"]["points"] == 6  # every run
    best_line = page.evaluate("() => document.getElementById('metric-chart').data[1].y")
    assert best_line[-1] == sweep.metrics[best]
    assert page.locator("#metric-chart .scatterlayer .point").count() == 5  # drawn, in SVG
    # Parallel coordinates: an axis per parameter, then the metric; a line per run.
    page.wait_for_selector("#sweep-parcoords[data-dimensions]")
    axes = page.evaluate("() => document.getElementById('sweep-parcoords').layout.xaxis.ticktext")
    assert sorted(axes[:3]) == ["lr", "model.layers", "optimizer"] and axes[3] == "val/loss"
    lines = [t for t in _plot(page, "sweep-parcoords") if t["meta"] == "lines"]
    assert sum(t["points"] for t in lines) == 5 * 4
    labels = page.locator("#sweep-parcoords .annotation-text").evaluate_all(
        "els => els.map(e => e.textContent)")
    optimizers = {sweep.proposals[i]["optimizer"] for i in sweep.metrics}
    assert optimizers <= set(labels)  # a categorical parameter's values label its axis
    # Parameter importance: a row per feature, with both numbers.
    page.wait_for_selector("tr.importance-row")
    features = page.locator("tr.importance-row").evaluate_all(
        "els => els.map(e => e.dataset.param)")
    assert {"lr", "optimizer", "model.layers"} >= set(features) and "lr" in features
    assert "random forest" in page.locator("#importance-status").inner_text()
    shot(page, "sweep")

    # Pause: the page shows it, and the daemon's sweep is paused; then resume.
    assert page.locator("#sweep-resume").is_disabled()
    page.locator("#sweep-pause").click()
    page.wait_for_selector('#sweep-state[data-state="PAUSED"]')
    assert page.locator("#sweep-state").inner_text() == "paused"
    assert page.locator("#sweep-pause").is_disabled()
    client = SweepClient(clean_sdk)
    try:
        assert client.get(sweep).state == pb.SWEEP_STATE_PAUSED
        page.locator("#sweep-resume").click()
        page.wait_for_selector('#sweep-state[data-state="RUNNING"]')
        assert client.get(sweep).state == pb.SWEEP_STATE_RUNNING
    finally:
        client.close()
    assert page.locator("#control-status").inner_text() == ""

    # The configuration as JSON, and back.
    page.locator("#config-format").click()
    assert '"method": "random"' in page.locator("#sweep-config").inner_text()


def test_the_project_page_and_the_runs_table_link_to_the_sweep(
        clean_sdk: DaemonProcess, dash: Dashboard, page: Any) -> None:
    sweep = make_sweep(clean_sdk, "browser-sweep-links", runs=2)
    page.goto(dash.ticket_url(f"/{ENTITY}/browser-sweep-links"))
    row = page.locator(f'tr.sweep-row[data-sweep="{sweep.sweep_id}"]')
    assert "running" in row.inner_text() and "lr-search" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_selector("#sweep-state")
    assert page.url.endswith(sweep.path)
    page.goto(dash.base.rstrip("/") + f"/{ENTITY}/browser-sweep-links")
    page.wait_for_selector("tr.run-row a.sweep-link")
    page.locator("tr.run-row a.sweep-link").first.click()
    page.wait_for_selector("#sweep-state")
    assert page.url.endswith(sweep.path)
    # From the sweep page to its runs in the runs table, and back.
    page.locator("#sweep-runs-link").click()
    page.wait_for_selector("tr.run-row")
    assert page.locator("tr.run-row").count() == 2
    page.locator("#sweep-link").click()
    page.wait_for_selector("#sweep-state")
    assert page.url.endswith(sweep.path)


def test_a_sweep_without_a_metric_or_runs_draws_no_chart_and_says_why(
        clean_sdk: DaemonProcess, dash: Dashboard, page: Any) -> None:
    client = SweepClient(clean_sdk)
    try:
        sweep = client.create("browser-sweep-empty", {"method": "grid", "parameters": {
            "x": {"values": [1, 2]}}})
    finally:
        client.close()
    page.goto(dash.ticket_url(sweep.path))
    page.wait_for_selector('#metric-chart[data-traces="0"]')
    assert "names no metric" in page.locator("#metric-chart").inner_text()
    page.wait_for_selector('#sweep-parcoords[data-dimensions="0"]')
    page.wait_for_function(
        "() => document.getElementById('importance-status').textContent.includes('no metric')")
    assert page.locator("tr.sweep-run-row").count() == 0
    assert page.locator("#runs-status").inner_text() == "0 runs"
    # Cancel asks first; declining leaves the sweep as it was.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#sweep-cancel").click()
    assert page.locator("#sweep-state").get_attribute("data-state") == "RUNNING"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#sweep-cancel").click()
    page.wait_for_selector('#sweep-state[data-state="CANCELED"]')
    assert all(page.locator(f"#sweep-{a}").is_disabled()
               for a in ("pause", "resume", "finish", "cancel"))
