"""The workspace's extra panels (``panels.js``) in a real browser, drawn on the project page's
document from the runs API as the workspace hands them over (``TDPanels.render(el, spec, ctx)``),
and the runs table's sticky name column, default columns and filter errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import trackd
from tests.web.dash import Dashboard

#: Draws one panel into a fresh div and records what its controls saved; the ctx is built as the
#: workspace builds it: the table's runs (with only the table's columns' values), the columns
#: available, and fetchRuns for the values of other columns.
RENDER = """async ([spec, tableColumns]) => {
  const {entity, project} = TD.data;
  const path = `/projects/${TD.enc(entity)}/${TD.enc(project)}/runs`;
  const table = await TD.api(path, {columns: tableColumns, per_page: 500, sort: "created"});
  window.__fetched = [];
  window.__changes = [];
  const ctx = {
    entity, project, runs: table.runs, columns: table.available,
    fetchRuns: async (columns) => {
      window.__fetched.push(columns);
      return (await TD.api(path, {columns: columns.join(","), per_page: 500})).runs;
    },
    onChange: (s) => window.__changes.push(s),
  };
  let el = document.getElementById("panel-under-test");
  if (!el) {
    el = TD.el("div", {id: "panel-under-test"});
    el.style.width = "700px";
    document.querySelector("main").prepend(el);
  }
  window.__ctx = ctx;
  await TDPanels.render(el, spec, ctx);
  return table.runs.map((r) => ({id: r.id, name: r.name, color: r.color}));
}"""


@pytest.fixture
def project() -> tuple[str, str, list[trackd.Run]]:
    """Six runs whose acc follows lr; one more with a loss only."""
    name = "panels-b-" + uuid.uuid4().hex[:6]
    runs = []
    for i in range(6):
        lr = 0.01 * (i + 1)
        run = trackd.init(project=name, name=f"lr-{lr:g}", config={
            "lr": lr, "opt": "adam" if i % 2 else "sgd", "batch": 32 * (1 + i % 3)})
        run.log({"acc": 0.4 + 5 * lr, "loss": 1 - 5 * lr})
        run.finish()
        runs.append(run)
    bare = trackd.init(project=name, name="no-acc", config={"lr": 0.5, "opt": "sgd"})
    bare.log({"loss": 2.0})
    bare.finish()
    runs.append(bare)
    return runs[0].entity, name, runs


def _open(dash: Dashboard, page: Any, where: tuple[str, str, Any]) -> None:
    page.goto(dash.ticket_url(f"/{where[0]}/{where[1]}"))
    page.wait_for_selector("tr.run-row")


def _plot(page: Any) -> Any:
    return page.evaluate("""() => {
      const d = document.querySelector("#panel-under-test .panel-plot");
      return {data: (d.data || []).map((t) => ({x: t.x, y: t.y, text: t.text, name: t.name,
                                                  color: t.marker && t.marker.color,
                                                  line: t.line && t.line.color, type: t.type})),
              layout: d.layout ? {x: d.layout.xaxis, y: d.layout.yaxis} : null,
              status: document.querySelector("#panel-under-test .panel-status").textContent};
    }""")


def test_the_panel_kinds(dash: Dashboard, page: Any, project: Any) -> None:
    _open(dash, page, project)
    kinds = page.evaluate("() => TDPanels.kinds")
    assert [k["kind"] for k in kinds] == ["scatter", "bar", "parallel", "importance"]
    assert all(k["title"] for k in kinds)


def test_scatter_of_two_columns_in_run_colours(dash: Dashboard, page: Any, project: Any,
                                               shot: Any) -> None:
    _open(dash, page, project)
    runs = page.evaluate(RENDER, [{"kind": "scatter", "x": "config.lr", "y": "summary.acc"},
                                  "config.opt"])
    # The table's runs lacked lr and acc: the panel fetched them.
    assert page.evaluate("() => window.__fetched") == [["config.lr", "summary.acc"]]
    got = _plot(page)
    (trace,) = got["data"]
    with_acc = [r for r in runs if r["name"] != "no-acc"]
    assert len(trace["x"]) == 6 and sorted(trace["text"]) == sorted(r["name"] for r in with_acc)
    colour = {r["name"]: r["color"] for r in runs}
    assert trace["color"] == [colour[n] for n in trace["text"]]  # each point in its run's colour
    for x, y, name in zip(trace["x"], trace["y"], trace["text"], strict=True):
        assert name == f"lr-{x:g}" and y == pytest.approx(0.4 + 5 * x)
    assert "6 of 7 runs" in got["status"]
    # Hovering a point names its run.
    box = page.locator("#panel-under-test .panel-plot .nsewdrag").first.bounding_box()
    assert box is not None
    page.evaluate("""() => Plotly.Fx.hover(document.querySelector("#panel-under-test .panel-plot"),
                                          [{curveNumber: 0, pointNumber: 2}])""")
    page.wait_for_selector("#panel-under-test .hovertext")
    hover = page.locator("#panel-under-test .hovertext").first.text_content()
    assert trace["text"][2] in hover
    shot(page, "panel-scatter")
    # The panel's own controls: an axis and log scales, saved through onChange.
    page.select_option('#panel-under-test select[data-setting="Y"]', "summary.loss")
    page.locator('#panel-under-test input[data-setting="log_x"]').check()
    changes = page.evaluate("() => window.__changes")
    assert changes[0]["y"] == "summary.loss" and changes[0]["x"] == "config.lr"
    assert changes[-1]["log_x"] is True and changes[-1]["kind"] == "scatter"
    page.evaluate(RENDER, [{"kind": "scatter", "x": "config.lr", "y": "summary.loss",
                            "log_x": True}, "config.lr,summary.loss"])
    got = _plot(page)
    assert page.evaluate("() => window.__fetched") == []  # the runs carried the values
    assert got["layout"]["x"]["type"] == "log" and got["layout"]["y"]["type"] != "log"
    assert len(got["data"][0]["x"]) == 7  # every run has a loss


def test_bar_chart_of_a_summary_value_sorted(dash: Dashboard, page: Any, project: Any,
                                             shot: Any) -> None:
    _open(dash, page, project)
    runs = page.evaluate(RENDER, [{"kind": "bar", "metric": "summary.loss"}, "config.lr"])
    (trace,) = _plot(page)["data"]
    assert trace["type"] == "bar" and len(trace["y"]) == 7
    colour = {r["name"]: r["color"] for r in runs}
    assert trace["color"] == [colour[n] for n in trace["text"]]
    assert trace["text"] == [r["name"] for r in runs]  # in the table's order
    page.evaluate(RENDER, [{"kind": "bar", "metric": "summary.acc", "sorted": True}, ""])
    (trace,) = _plot(page)["data"]
    assert trace["y"] == sorted(trace["y"], reverse=True) and len(trace["y"]) == 6
    assert trace["text"][0] == "lr-0.06"
    shot(page, "panel-bar")


def test_parallel_coordinates_coloured_by_a_metric(dash: Dashboard, page: Any,
                                                   project: Any, shot: Any) -> None:
    _open(dash, page, project)
    spec = {"kind": "parallel", "columns": ["config.lr", "config.opt", "summary.acc"],
            "color": "summary.acc"}
    runs = page.evaluate(RENDER, [spec, ""])
    got = _plot(page)
    lines = [t for t in got["data"] if t["x"] and len(t["x"]) == 3]
    assert len(lines) == 7 and got["layout"]["x"]["ticktext"] == spec["columns"]
    by_name = {t["name"]: t for t in lines}
    # Coloured by acc: the lowest and highest ends of the scale; no acc: grey.
    assert by_name["lr-0.01"]["line"] == "rgb(68,1,84)"
    assert by_name["lr-0.06"]["line"] == "rgb(253,231,37)"
    assert by_name["no-acc"]["line"] == "rgb(196,200,208)" or by_name["no-acc"]["line"] == "#c4c8d0"
    assert page.locator("#panel-under-test .panel-plot[data-dimensions='3']").count() == 1
    shot(page, "panel-parallel")
    # A column picked in the panel's controls is saved with the others.
    page.locator('#panel-under-test details.panel-columns summary').click()
    page.locator('#panel-under-test details.panel-columns label', has_text="config.batch") \
        .locator("input").check()
    assert page.evaluate("() => window.__changes")[-1]["columns"] == [*spec["columns"],
                                                                      "config.batch"]
    # Without a colour metric, each line is in its run's colour.
    page.evaluate(RENDER, [{**spec, "color": ""}, ""])
    colour = {r["name"]: r["color"] for r in runs}
    lines = [t for t in _plot(page)["data"] if t["x"] and len(t["x"]) == 3]
    assert all(t["line"] == colour[t["name"]] for t in lines)


def test_parameter_importance_of_config_keys(dash: Dashboard, page: Any, project: Any,
                                             shot: Any) -> None:
    _open(dash, page, project)
    page.evaluate(RENDER, [{"kind": "importance", "metric": "summary.acc"}, ""])
    page.wait_for_selector("#panel-under-test tr.importance-row")
    rows = page.locator("#panel-under-test tr.importance-row").evaluate_all(
        "els => els.map(e => [e.dataset.feature, e.querySelector('.correlation').textContent])")
    assert rows[0][0] == "lr" and rows[0][1].strip() == "1.000"
    assert {"opt=adam", "opt=sgd", "batch"} <= {f for f, _ in rows}
    assert "From 6 runs" in _plot(page)["status"]
    shot(page, "panel-importance")
    # It follows the runs it is given (the workspace's visible runs).
    page.evaluate("""async () => {
      const ctx = {...window.__ctx, runs: window.__ctx.runs.filter((r) => r.name !== "lr-0.01")};
      await TDPanels.render(document.getElementById("panel-under-test"),
                            {kind: "importance", metric: "summary.acc"}, ctx);
    }""")
    assert "From 5 runs" in _plot(page)["status"]
    page.select_option('#panel-under-test select[data-setting="Metric"]', "summary.loss")
    assert page.evaluate("() => window.__changes")[-1] == {"kind": "importance",
                                                           "metric": "summary.loss"}


def test_runs_table_name_column_default_columns_and_filter_errors(
        dash: Dashboard, page: Any, project: Any, shot: Any) -> None:
    page.set_viewport_size({"width": 700, "height": 800})
    _open(dash, page, project)
    heads = page.locator("#runs-table thead th").evaluate_all("els => els.map(e => e.dataset.sort)")
    columns = [h for h in heads if h and "." in h]
    assert columns[:2] == ["summary.loss", "summary.acc"] and "config.lr" in columns
    # Scrolled sideways, the run's name stays where it was.
    name = page.locator("tr.run-row td:nth-child(2)").first
    far = page.locator("tr.run-row td:last-child").first
    before, far_before = name.bounding_box(), far.bounding_box()
    scrolled = page.evaluate("""() => { const w = document.querySelector(".table-wrap");
      w.scrollLeft = 400; return w.scrollLeft; }""")
    assert scrolled > 100
    after = name.bounding_box()
    assert before is not None and after is not None
    assert after["x"] == pytest.approx(before["x"], abs=2)
    far_after = far.bounding_box()
    assert far_before is not None and far_after is not None  # the other columns did scroll
    assert far_after["x"] == pytest.approx(far_before["x"] - scrolled, abs=2)
    shot(page, "runs-sticky")
    # A filter the API cannot read shows its error, not an empty table.
    page.locator("#filter-input").fill("lr >> oops")
    page.locator("#filter-input").press("Enter")
    page.wait_for_selector("#runs-table tr.query-error-row")
    assert "unknown operator '>>'" in page.locator("#query-error").text_content()
    assert page.locator("tr.run-row").count() == 0
    assert "0 " not in page.locator("#total-count").text_content()
    shot(page, "runs-filter-error")
    page.locator("#filter-input").fill("lr > 0.035")
    page.locator("#filter-input").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('tr.run-row').length === 4")
    assert page.locator("#query-error").text_content() == ""
    # The same filter in the page's URL (a reload, a shared link): the page, with the error.
    page.goto(dash.ticket_url(f"/{project[0]}/{project[1]}", filter="lr >> oops"))
    page.wait_for_selector("#runs-table tr.query-error-row")
    assert "unknown operator '>>'" in page.locator("#query-error").text_content()
    assert page.locator("#filter-input").input_value() == "lr >> oops"


def test_the_compare_page_offers_the_panels(dash: Dashboard, page: Any, project: Any,
                                           shot: Any) -> None:
    entity, name, runs = project
    chosen = [r.id for r in runs[:3]]
    page.goto(dash.ticket_url(f"/{entity}/{name}/compare", runs=",".join(chosen)))
    page.wait_for_selector('#compare-panel[data-drawn="1"] .panel-plot[data-points]')
    assert page.locator("#compare-panel .panel-plot").get_attribute("data-points") == "3"
    page.select_option("#compare-panel-kind", "bar")
    page.wait_for_selector("#compare-panel .panel-plot[data-bars='3']")
    loss = page.evaluate("() => document.querySelector('#compare-panel .panel-plot').data[0].y")
    assert loss == sorted(loss)  # summary.loss, in the page's order (newest first)
    page.locator('#compare-panel input[data-setting="sorted"]').check()
    page.wait_for_function("""() => {
      const d = document.querySelector("#compare-panel .panel-plot");
      return d.data && d.data[0].y.length === 3 && d.data[0].y[0] >= d.data[0].y[2]; }""")
    page.select_option("#compare-panel-kind", "importance")
    page.wait_for_selector("#compare-panel tr.importance-row")
    assert "From 3 runs" in page.locator("#compare-panel .panel-status").text_content()
    shot(page, "compare-panels")
