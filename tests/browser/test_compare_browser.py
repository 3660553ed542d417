"""The compare page in a real browser: each chart against its metric's step metric, the user's
sections before System, axis titles saying what the axis is, legends clear of the axis titles,
and each run in its own colour (the API's ``color``)."""

from __future__ import annotations

import time
from typing import Any

import trackd
from tests.web.dash import Dashboard

PROJECT = "browser-compare-axes"
EPOCHS = 10
STEPS_PER_EPOCH = 20


def epoch_run(name: str, lr: float) -> trackd.Run:
    """A run logging every step, val/* once per epoch against ``epoch``, and system metrics."""
    run = trackd.init(project=PROJECT, name=name, config={"lr": lr},
                      settings={"x_stats_sampling_interval": 1})
    run.define_metric("val/*", step_metric="epoch")
    for epoch in range(EPOCHS):
        for i in range(STEPS_PER_EPOCH):
            run.log({"loss": lr / (epoch * STEPS_PER_EPOCH + i + 1), "train/acc": i / 20})
        run.log({"val/loss": lr / (epoch + 1), "epoch": epoch})
        if epoch % 4 == 0:
            time.sleep(0.7)  # a few system samples
    run.finish()
    return run


def layout_of(page: Any, key: str) -> dict[str, Any]:
    return page.evaluate(
        """key => { const d = document.querySelector(`.chart[data-key="${key}"]`);
                    return {title: d.layout.xaxis.title.text,
                            lines: d.data.filter(t => t.meta === "line").map(t => (
                              {name: t.name, x: Array.from(t.x), color: t.line.color}))}; }""",
        key)


def boxes_overlap(page: Any, key: str) -> bool:
    """Whether the chart's legend and its x-axis title overlap on the page."""
    return page.evaluate(
        """key => { const d = document.querySelector(`.chart[data-key="${key}"]`);
                    const a = d.querySelector(".legend").getBoundingClientRect();
                    const b = d.querySelector(".xtitle").getBoundingClientRect();
                    if (!a.width || !b.width) throw new Error("legend or axis title not drawn");
                    return a.left < b.right && b.left < a.right
                           && a.top < b.bottom && b.top < a.bottom; }""",
        key)


def test_compare_page_axes_sections_legends_and_colours(dash: Dashboard, page: Any,
                                                        shot: Any) -> None:
    runs = [epoch_run("lr-high", 0.3), epoch_run("lr-low", 0.01)]
    entity = runs[0].entity
    ids = ",".join(r.id for r in runs)
    page.goto(dash.ticket_url(f"/{entity}/{PROJECT}/compare", runs=ids))
    page.wait_for_selector('.chart[data-key="val/loss"][data-drawn="1"]')
    page.wait_for_selector('.chart[data-key="system.cpu"][data-drawn="1"]')

    # The user's sections first, System last.
    sections = page.locator("details.section > summary").all_inner_texts()
    assert sections[0] == "Charts" and sections[-1] == "System", sections
    assert sections[:-1] == ["Charts", "train", "val"]

    # val/loss against its step metric: the axis says epoch, the points are the epochs.
    val = layout_of(page, "val/loss")
    assert val["title"] == "epoch"
    assert [ln["x"] for ln in val["lines"]] == [list(range(EPOCHS))] * 2
    assert page.locator('.chart[data-key="val/loss"]').get_attribute("data-x") == "epoch"
    loss = layout_of(page, "loss")
    assert loss["title"] == "Step"
    assert len(loss["lines"][0]["x"]) == EPOCHS * STEPS_PER_EPOCH

    # A system metric is drawn against the run's time: its axis says seconds.
    cpu = layout_of(page, "system.cpu")
    assert cpu["title"] == "Relative time (s)"
    assert len(cpu["lines"]) == 2

    # The legend and the axis title never cover each other.
    for key in ("loss", "val/loss", "train/acc", "system.cpu"):
        page.locator(f'.chart[data-key="{key}"]').scroll_into_view_if_needed()
        assert not boxes_overlap(page, key), key

    # Each run in the colour the API gives it, on every chart.
    colours = {r.name: dash.json(f"/api/v1/runs/{entity}/{PROJECT}/{r.id}")["color"] for r in runs}
    assert len(set(colours.values())) == 2
    for key in ("loss", "val/loss", "system.cpu"):
        assert {ln["name"]: ln["color"] for ln in layout_of(page, key)["lines"]} == colours
    legend = page.locator("#compare-runs li").evaluate_all(
        "els => els.map(e => e.dataset.id)")
    assert sorted(legend) == sorted(r.id for r in runs)
    shot(page, "compare-axes")

    # Picking the step for every chart: the system charts still say seconds (they have no
    # step), val/loss now follows the global step.
    page.select_option("#x-axis", "_step")
    page.wait_for_selector('.chart[data-key="val/loss"][data-x="_step"]')
    assert layout_of(page, "val/loss")["title"] == "Step"
    page.wait_for_function(
        """() => document.querySelector('.chart[data-key="system.cpu"]').layout.xaxis.title.text
                 === "Relative time (s)" """)
    page.select_option("#x-axis", "_runtime")
    page.wait_for_selector('.chart[data-key="loss"][data-x="_runtime"]')
    assert layout_of(page, "loss")["title"] == "Relative time (s)"
