"""The dashboard's media panels in a real browser: images of the chosen step with the slider,
masks and boxes toggled by class, a table sorted and filtered, a histogram heat map, a point
cloud, a confusion matrix drawn from its table, and logged Html that runs in a sandbox where
it can neither read the dashboard's cookie nor call its API — in one run, and compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.web.dash import Dashboard
from tests.web.media_runs import STEP_COLOURS, image, media_run, players_and_charts_run


@pytest.fixture
def media(dash: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    return media_run("browser-media")


def panel(page: Any, key: str) -> Any:
    """The first run's part of a media key's panel, scrolled to (panels are drawn as they
    come near the viewport)."""
    return near(page, f'.media-panel[data-key="{key}"]').locator(".media-run").first


def near(page: Any, selector: str) -> Any:
    """The panel of ``selector``, scrolled into view."""
    box = page.locator(selector).first
    box.scroll_into_view_if_needed()
    return box


def pixel(page: Any, selector: str) -> list[int]:
    """The RGB of an image's top-left pixel, as the browser decoded it."""
    return page.evaluate("""sel => { const img = document.querySelector(sel);
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const x = c.getContext("2d"); x.drawImage(img, 0, 0);
        return Array.from(x.getImageData(0, 0, 1, 1).data.slice(0, 3)); }""", selector)


def test_images_follow_the_step_slider(dash: Dashboard, page: Any, media: Any,
                                       shot: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}"))
    images = panel(page, "examples")
    page.wait_for_selector('.media-panel[data-key="examples"] .media-run[data-step="2"]')
    assert images.get_attribute("data-images") == "2"
    page.wait_for_function("""sel => [...document.querySelectorAll(sel)]
                              .every(i => i.complete && i.naturalWidth === 32)""",
                           arg='.media-panel[data-key="examples"] img')
    captions = images.locator("figcaption").all_inner_texts()
    assert captions == ["s2a", "s2b"]
    sel = '.media-panel[data-key="examples"] figure:first-child img'
    assert pixel(page, sel) == list(STEP_COLOURS[2])
    for step in (0, 1):
        slider = images.locator("input.media-step")
        slider.fill(str(step))  # a range input: fill sets its value and fires input
        page.wait_for_selector(f'.media-panel[data-key="examples"] .media-run[data-step="{step}"]')
        page.wait_for_function("""sel => { const i = document.querySelector(sel);
                                  return i && i.complete && i.naturalWidth === 32; }""", arg=sel)
        assert images.locator("figcaption").all_inner_texts() == [f"s{step}a", f"s{step}b"]
        assert pixel(page, sel) == list(STEP_COLOURS[step])
        assert images.locator("output").inner_text() == f"step {step}"
    shot(page, "media-run")
    # A file name that would leave the run's files is refused, not fetched.
    escape = panel(page, "escape")
    page.wait_for_selector('.media-panel[data-key="escape"] .media-run .error')
    assert "not a run file name" in escape.inner_text()
    assert not [u for u in requested if "/projects" in u], requested


def test_masks_and_boxes_toggle_by_class(dash: Dashboard, page: Any, media: Any) -> None:
    page.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}"))
    seg = panel(page, "seg")
    page.wait_for_selector('.media-panel[data-key="seg"] svg.media-boxes[data-visible]')
    page.wait_for_selector('.media-panel[data-key="seg"] canvas.media-mask[data-painted]')
    mask = seg.locator("canvas.media-mask")
    boxes = seg.locator("svg.media-boxes")
    w, h = 32, 24
    everything = (w // 2) * h + (w - w // 2) * (h // 2) + (w - w // 2) * (h - h // 2)
    assert int(mask.get_attribute("data-painted")) == everything  # background is labelled too
    assert boxes.get_attribute("data-visible") == "3"
    # Labels come from the config (masks) and the boxes' file.
    labels = seg.locator(".media-toggle:has(input[type=checkbox])").all_inner_texts()
    assert [t.strip() for t in labels] == ["background", "cat", "dog", "cat", "dog"]
    # One class of the boxes off, then the whole set.
    seg.locator('input[data-kind="box"][data-class="2"]').uncheck()
    assert boxes.get_attribute("data-visible") == "1"
    assert seg.locator('g.media-box[data-class="2"]').first.is_hidden()
    assert seg.locator('g.media-box[data-class="1"]').is_visible()
    seg.locator('input[data-kind="box"]:not([data-class])').uncheck()
    assert boxes.get_attribute("data-visible") == "0"
    seg.locator('input[data-kind="box"]:not([data-class])').check()
    seg.locator('input[data-kind="box"][data-class="2"]').check()
    assert boxes.get_attribute("data-visible") == "3"
    # A minimum score hides the boxes scored below it (a box without that score stays).
    score = seg.locator('input.media-score[data-score="acc"]')
    score.fill("0.8")
    assert boxes.get_attribute("data-visible") == "2"  # acc 0.9 and the unscored box
    assert seg.locator('g.media-box[data-class="1"]').is_visible()
    score.fill("0")
    assert boxes.get_attribute("data-visible") == "3"
    # Mask classes: cat off leaves the rest painted; the set off paints nothing.
    seg.locator('input[data-kind="mask"][data-class="1"]').uncheck()
    assert int(mask.get_attribute("data-painted")) == everything - (w // 2) * h
    painted = page.evaluate("""sel => { const c = document.querySelector(sel);
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        return [d[3], d[(c.height - 1) * c.width * 4 + (c.width - 1) * 4 + 3]]; }""",
                            '.media-panel[data-key="seg"] canvas.media-mask')
    assert painted[0] == 0 and painted[1] > 0  # the left half (cat) is clear, the dog is not
    seg.locator('input[data-kind="mask"]:not([data-class])').uncheck()
    assert mask.get_attribute("data-painted") == "0"


def test_a_table_sorts_and_filters(dash: Dashboard, page: Any, media: Any) -> None:
    page.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}"))
    table = panel(page, "samples").locator(".media-table-body")
    page.wait_for_selector('.media-panel[data-key="samples"] table.media-table tbody tr')
    assert table.get_attribute("data-rows") == "23"
    assert table.locator("tbody tr").count() == 10  # the first page
    assert "1–10 of 23 rows" in table.locator(".media-table-info").inner_text()
    # Media cells inline: the images of the first rows.
    page.wait_for_function("""sel => [...document.querySelectorAll(sel)]
                              .filter(i => i.complete && i.naturalWidth === 8).length === 3""",
                           arg='.media-panel[data-key="samples"] img.media-cell-img')
    col = lambda j: table.locator(f"tbody tr td:nth-child({j})").all_inner_texts()  # noqa: E731
    table.locator('th[data-col="2"]').click()  # score, ascending
    scores = [float(s) for s in col(3)]
    assert scores == sorted(scores) and len(scores) == 10
    table.locator('th[data-col="2"]').click()  # descending
    desc = [float(s) for s in col(3)]
    assert desc == sorted(desc, reverse=True)
    everything = sorted((round((i * 37) % 23 / 23, 3) for i in range(23)), reverse=True)
    assert desc == everything[:10]
    table.locator(".media-table-next").click()
    assert [float(s) for s in col(3)] == everything[10:20]
    table.locator("input.media-table-filter").fill("bird")
    assert table.get_attribute("data-rows") == "7"
    assert set(col(2)) == {"bird"} and table.locator("tbody tr").count() == 7
    table.locator("input.media-table-filter").fill("nothing like it")
    assert table.get_attribute("data-rows") == "0"


def test_histograms_point_clouds_and_a_confusion_matrix_draw(dash: Dashboard, page: Any,
                                                             media: Any, shot: Any) -> None:
    page.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}"))
    near(page, '.media-panel[data-key="weights"]')
    page.wait_for_selector('.media-panel[data-key="weights"] .media-histogram[data-drawn="1"]')
    heat = page.evaluate("""sel => { const d = document.querySelector(sel);
        const t = d.data[0]; return {type: t.type, x: t.x, rows: t.z.length,
          totals: t.x.map((_, s) => t.z.reduce((a, row) => a + row[s], 0))}; }""",
                         '.media-panel[data-key="weights"] .media-histogram')
    assert heat["type"] == "heatmap" and heat["x"] == [0, 1, 2] and heat["rows"] == 64
    assert [round(t, 6) for t in heat["totals"]] == [17.0, 17.0, 17.0]  # every count placed
    near(page, '.media-panel[data-key="cloud"]')
    page.wait_for_selector('.media-panel[data-key="cloud"] .media-3d[data-drawn="1"]')
    cloud = page.evaluate("""sel => { const d = document.querySelector(sel);
        return {type: d.data[0].type, n: d.data[0].x.length,
                canvases: d.querySelectorAll("canvas").length}; }""",
                          '.media-panel[data-key="cloud"] .media-3d')
    assert cloud == {"type": "scatter3d", "n": 60, "canvases": cloud["canvases"]}
    assert cloud["canvases"] >= 1  # drawn with WebGL
    near(page, '.media-panel[data-chart="cm"]')
    page.wait_for_selector('.media-panel[data-chart="cm"] .media-custom-chart[data-drawn="1"]')
    title = page.locator('.media-panel[data-chart="cm"] .chart-title').inner_text()
    assert title == "Confusion Matrix Curve"
    cm = page.evaluate("""sel => { const t = document.querySelector(sel).data[0];
        return {type: t.type, x: t.x, y: t.y, z: t.z}; }""",
                       '.media-panel[data-chart="cm"] .media-custom-chart')
    assert cm == {"type": "heatmap", "x": ["cat", "dog"], "y": ["cat", "dog"],
                  "z": [[8, 2], [1, 9]]}
    # The chart's table is drawn as the chart, not as a panel of its own.
    assert page.locator('.media-panel[data-key="cm_table"]').count() == 0
    shot(page, "media-charts")


def test_logged_html_runs_sandboxed_without_the_dashboards_cookie_or_api(
        dash: Dashboard, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of its own (the shared ``page`` fixture fails on the policy violations that the
    blocked request of the Html's script reports, by design)."""
    monkeypatch.chdir(tmp_path)
    media = media_run("browser-media", html=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        pg.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}"))
        # The dashboard holds a session, and its own page can call the API.
        cookies = {c["name"]: c for c in context.cookies()}
        assert dash.cookie_name in cookies
        status = pg.evaluate("() => fetch('/api/v1/projects').then(r => r.status)")
        assert status == 200
        near(pg, '.media-panel[data-key="page"]')
        frame_el = pg.wait_for_selector('.media-panel[data-key="page"] iframe.media-html')
        assert frame_el.get_attribute("sandbox") == "allow-scripts"
        frame = frame_el.content_frame()
        assert frame is not None
        frame.wait_for_function("() => document.body && document.body.dataset.report")
        report = json.loads(frame.evaluate("() => document.body.dataset.report"))
        assert report["ran"] is True  # its script runs ...
        assert report["origin"] == "null"  # ... in an opaque origin
        assert report["cookie"] == "blocked: SecurityError"
        assert report["storage"] == "blocked: SecurityError"
        assert report["parent"] == "blocked: SecurityError"
        assert report["api"].startswith("blocked: "), report["api"]
        assert frame.locator("#hello").inner_text() == "logged html"
        # Opened by itself (not framed), the Html is still sandboxed by its own policy.
        direct = context.new_page()
        direct.goto(dash.base.rstrip("/") + f"/api/v1/runs/{media.entity}/browser-media/"
                    f"{media.id}/html/media/html/page_5.html")
        direct.wait_for_function("() => document.body && document.body.dataset.report")
        alone = json.loads(direct.evaluate("() => document.body.dataset.report"))
        assert alone["origin"] == "null" and alone["cookie"] == "blocked: SecurityError"
        assert alone["api"].startswith("blocked: "), alone["api"]
    finally:
        context.close()


def test_compared_runs_show_their_media_side_by_side(dash: Dashboard, page: Any,
                                                     tmp_path: Path, shot: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    a = media_run("browser-media-compare")
    b = media_run("browser-media-compare")
    page.goto(dash.ticket_url("/" + a.entity + "/browser-media-compare/compare",
                              runs=f"{a.id},{b.id}"))
    for run in (a, b):
        near(page, '.media-panel[data-key="examples"]')
        page.wait_for_selector(f'.media-panel[data-key="examples"] .media-run[data-run="{run.id}"]'
                               '[data-step="2"]')
        near(page, '.media-panel[data-chart="cm"]')
        page.wait_for_selector(f'.media-panel[data-chart="cm"] .media-run[data-run="{run.id}"] '
                               '.media-custom-chart[data-drawn="1"]')
        near(page, '.media-panel[data-key="weights"]')
        page.wait_for_selector(f'.media-panel[data-key="weights"] .media-run[data-run="{run.id}"]'
                               ' .media-histogram[data-drawn="1"]')
    names = page.locator('.media-panel[data-key="examples"] .media-run-name').all_inner_texts()
    assert names == ["media-run", "media-run"]
    shot(page, "media-compare")



def test_meshes_players_plotly_and_every_custom_chart(dash: Dashboard, page: Any,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      shot: Any) -> None:
    monkeypatch.chdir(tmp_path)
    run = players_and_charts_run("browser-players")
    page.goto(dash.ticket_url(f"/{run.entity}/browser-players/runs/{run.id}"))
    # Panels far below the viewport wait until they come near it.
    page.wait_for_selector('.media-panel[data-chart="series"] .media-run[data-state="waiting"]',
                           state="attached")
    # Every mesh format parsed in the browser into the same tetrahedron.
    meshes = near(page, '.media-panel[data-key="meshes"]').locator(".media-3d")
    page.wait_for_function("""sel => { const d = document.querySelectorAll(sel);
        return d.length === 4 && [...d].every(e => e.dataset.drawn === "1"); }""",
                           arg='.media-panel[data-key="meshes"] .media-3d')
    got = meshes.evaluate_all("""ds => ds.map(d => { const t = d.data[0];
        const key = (n) => [t.x[n], t.y[n], t.z[n]].join(",");
        const tri = (n) => [t.i[n], t.j[n], t.k[n]].map(key).sort().join(" ");
        return {path: d.dataset.path, type: t.type,
                tris: Array.from(t.i, (_, n) => tri(n)).sort()}; })""")
    assert [g["path"].rsplit(".", 1)[1] for g in got] == ["obj", "stl", "gltf", "glb"]
    assert {g["type"] for g in got} == {"mesh3d"}
    tris = got[0]["tris"]
    assert len(tris) == 4 and all(g["tris"] == tris for g in got)
    # Video: a GIF as an image, WebM in a player; audio in a player, of its length.
    for key in ("gif", "webm", "tone", "figure"):
        near(page, f'.media-panel[data-key="{key}"]')
    page.wait_for_selector('.media-panel[data-key="gif"] img.media-video')
    page.wait_for_function("""sel => { const i = document.querySelector(sel);
        return i.complete && i.naturalWidth === 20; }""",
                           arg='.media-panel[data-key="gif"] img.media-video')
    assert page.locator('.media-panel[data-key="gif"] figcaption').inner_text() == "a gif"
    page.wait_for_function("""sel => { const v = document.querySelector(sel);
        return v && v.readyState >= 1 && v.videoWidth === 48; }""",
                           arg='.media-panel[data-key="webm"] video.media-video')
    page.wait_for_function("""sel => { const a = document.querySelector(sel);
        return a && a.readyState >= 1 && Math.abs(a.duration - 0.5) < 0.01; }""",
                           arg='.media-panel[data-key="tone"] audio.media-audio')
    # A plotly figure, as logged (its width left to the panel).
    page.wait_for_selector('.media-panel[data-key="figure"] .media-plotly[data-drawn="1"]')
    fig = page.evaluate("""sel => { const d = document.querySelector(sel);
        return {types: d.data.map(t => t.type), title: d.layout.title.text}; }""",
                        '.media-panel[data-key="figure"] .media-plotly')
    assert fig == {"types": ["scatter", "bar"], "title": "from matplotlib"}
    # Each trackd.plot preset drawn from its table.
    expected = {"line": ("scatter", 1, 10), "scatter": ("scatter", 1, 8), "bar": ("bar", 1, 3),
                "hist": ("histogram", 1, 20), "series": ("scatter", 2, 5),
                "pr": ("scatter", 2, 5)}
    for key, (kind, traces, points) in expected.items():
        sel = f'.media-panel[data-chart="{key}"] .media-custom-chart'
        near(page, f'.media-panel[data-chart="{key}"]')
        page.wait_for_selector(sel + '[data-drawn="1"]')
        drawn = page.evaluate("""sel => document.querySelector(sel).data.map(
            t => ({type: t.type, n: (t.x || []).length, name: t.name}))""", sel)
        assert [(t["type"], t["n"]) for t in drawn] == [(kind, points)] * traces, key
        title = page.locator(f'.media-panel[data-chart="{key}"] .chart-title').inner_text()
        assert title == f"{key} chart"
    names = page.evaluate("""sel => document.querySelector(sel).data.map(t => t.name)""",
                          '.media-panel[data-chart="pr"] .media-custom-chart')
    assert names == ["cat", "dog"]
    assert page.locator('.media-panel[data-key$="_table"]').count() == 0
    shot(page, "media-players")


def test_a_running_runs_media_panels_follow_what_it_logs(dash: Dashboard, page: Any,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="browser-media-live", name="live-media")
    try:
        run.log({"live": image(run, "live", 0, (255, 0, 0), "first")}, step=0, commit=True)
        page.goto(dash.ticket_url(f"/{run.entity}/browser-media-live/runs/{run.id}"))
        live = panel(page, "live")
        page.wait_for_selector('.media-panel[data-key="live"] .media-run[data-step="0"]')
        # A new step of the key, and a new key: both show without a reload.
        run.log({"live": image(run, "live", 1, (0, 255, 0), "second"),
                 "later": {"_type": "histogram", "values": [1, 2], "bins": [0, 1, 2]}},
                step=1, commit=True)
        page.wait_for_selector('.media-panel[data-key="live"] .media-run[data-step="1"]',
                               timeout=30_000)
        assert live.locator("figcaption").all_inner_texts() == ["second"]
        near(page, '.media-panel[data-key="later"]')
        page.wait_for_selector('.media-panel[data-key="later"] .media-histogram[data-drawn="1"]',
                               timeout=30_000)
        # A slider moved back to an earlier step stays there while the run logs on.
        near(page, '.media-panel[data-key="live"]')
        live.locator("input.media-step").fill("0")
        page.wait_for_selector('.media-panel[data-key="live"] .media-run[data-step="0"]')
        run.log({"live": image(run, "live", 2, (0, 0, 255), "third"),
                 "last": {"_type": "histogram", "values": [3], "bins": [0, 1]}},
                step=2, commit=True)
        near(page, '.media-panel[data-key="last"]')
        page.wait_for_selector('.media-panel[data-key="last"] .media-histogram[data-drawn="1"]',
                               timeout=30_000)
        assert live.get_attribute("data-step") == "0"
        assert live.locator("figcaption").all_inner_texts() == ["first"]
    finally:
        run.finish()


def test_a_notebook_view_loads_media_with_its_session_header(dash: Dashboard, browser: Any,
                                                             media: Any) -> None:
    """A notebook's iframe keeps no cookie of the dashboard: the view's images come as data:
    URLs of what it fetched with its session header (here, a context whose cookies are
    cleared after the page loaded proves no cookie was needed)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto(dash.ticket_url(f"/{media.entity}/browser-media/runs/{media.id}",
                                jupyter="true"))
        context.clear_cookies()
        near(pg, '.media-panel[data-key="examples"]')
        pg.wait_for_selector('.media-panel[data-key="examples"] .media-run[data-step="2"]')
        srcs = pg.locator('.media-panel[data-key="examples"] img').evaluate_all(
            "is => is.map(i => i.src.slice(0, 22))")
        assert srcs == ["data:image/png;base64,"] * 2
        pg.wait_for_function("""sel => [...document.querySelectorAll(sel)]
                                .every(i => i.complete && i.naturalWidth === 32)""",
                             arg='.media-panel[data-key="examples"] img')
        near(pg, '.media-panel[data-key="seg"]')
        pg.wait_for_selector('.media-panel[data-key="seg"] canvas.media-mask[data-painted]')
        assert not errors
    finally:
        context.close()


def test_what_the_sdks_data_types_log_shows(dash: Dashboard, page: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """trackd.Image (NumPy, alone and as a list) and trackd.Histogram, logged by the SDK and
    encoded by its media pipeline: the panels show the pixels and counts it wrote."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="browser-media-sdk")
    rng = np.random.default_rng(0)
    for step in range(3):
        pixels = np.zeros((12, 16, 3), dtype=np.uint8)
        pixels[:, :, step] = 200
        run.log({"single": trackd.Image(pixels, caption=f"step {step}"),
                 "batch": [trackd.Image(pixels // (k + 1)) for k in range(3)],
                 "dist": trackd.Histogram(rng.normal(step, 1.0, 1000))})
    run.finish()
    page.goto(dash.ticket_url(f"/{run.entity}/browser-media-sdk/runs/{run.id}"))
    single = panel(page, "single")
    page.wait_for_selector('.media-panel[data-key="single"] .media-run[data-step="2"]')
    sel = '.media-panel[data-key="single"] img'
    page.wait_for_function("""sel => { const i = document.querySelector(sel);
                              return i && i.complete && i.naturalWidth === 16; }""", arg=sel)
    assert pixel(page, sel) == [0, 0, 200]
    assert single.locator("figcaption").all_inner_texts() == ["step 2"]
    single.locator("input.media-step").fill("0")
    page.wait_for_selector('.media-panel[data-key="single"] .media-run[data-step="0"]')
    page.wait_for_function("""sel => { const i = document.querySelector(sel);
                              return i && i.complete && i.naturalWidth === 16; }""", arg=sel)
    assert pixel(page, sel) == [200, 0, 0]
    batch = panel(page, "batch")
    page.wait_for_selector('.media-panel[data-key="batch"] .media-run[data-step="2"]')
    assert batch.get_attribute("data-images") == "3"
    near(page, '.media-panel[data-key="dist"]')
    page.wait_for_selector('.media-panel[data-key="dist"] .media-histogram[data-drawn="1"]')
    totals = page.evaluate("""sel => { const t = document.querySelector(sel).data[0];
        return t.x.map((_, s) => t.z.reduce((a, row) => a + row[s], 0)); }""",
                           '.media-panel[data-key="dist"] .media-histogram')
    assert [round(t) for t in totals] == [1000, 1000, 1000]
