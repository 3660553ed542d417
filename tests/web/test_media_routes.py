"""The media panels' routes: a run's media keys and custom charts, a key's values over steps,
logged Html served as a page only in a sandbox of its own, and audio and video served as
themselves; each behind the dashboard's login, like every run route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from tests.web.media_runs import HTML_PROBE, MASK_LABELS, STEP_COLOURS, media_run, put
from trackd_daemon.web import user_content
from trackd_daemon.web.security import PAGE_CSP

PROJECT = "media-routes"


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trackd.Run:
    monkeypatch.chdir(tmp_path)
    return media_run(PROJECT, html=True)


def base(run: trackd.Run) -> str:
    return f"/api/v1/runs/{run.entity}/{PROJECT}/{run.id}"


def test_media_lists_keys_charts_and_class_labels(dash: Dashboard, run: trackd.Run) -> None:
    got = dash.json(base(run) + "/media")
    assert [(k["key"], k["type"]) for k in got["keys"]] == [
        ("cloud", "object3D-file"), ("cm_table", "table-file"), ("escape", "image-file"),
        ("examples", "images/separated"), ("page", "html-file"), ("samples", "table-file"),
        ("seg", "image-file"), ("weights", "histogram")]
    [chart] = got["charts"]
    assert chart["key"] == "cm" and chart["panel_type"] == "Vega2"
    assert chart["table_key"] == "cm_table"  # from its query's tableKey
    assert chart["table"]["path"] == "media/table/cm_table_3.table.json"
    assert chart["panel_config"]["panelDefId"] == "wandb/confusion_matrix/v1"
    assert got["class_labels"] == {
        "masks": {"seg_wandb_delimeter_ground_truth": MASK_LABELS}, "boxes": {}}


def test_values_come_in_step_order_bounded_by_limit(dash: Dashboard, run: trackd.Run) -> None:
    got = dash.json(base(run) + "/media/values", {"key": "examples"})
    assert got["steps"] == sorted(STEP_COLOURS)
    assert [v["captions"] for v in got["values"]] == [[f"s{s}a", f"s{s}b"] for s in got["steps"]]
    got = dash.json(base(run) + "/media/values", {"key": "weights", "limit": 2})
    assert got["steps"] == [0, 2]  # the first and the last
    assert got["values"][1]["bins"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for params, status in (({}, 400), ({"key": "loss"}, 404), ({"key": "nothing"}, 404),
                           ({"key": "weights", "limit": 1}, 400),
                           ({"key": "weights", "limit": 1001}, 400),
                           ({"key": "weights", "limit": "x"}, 400)):
        code, _, body = dash.request(base(run) + "/media/values", params)
        assert code == status, (params, body)
        assert json.loads(body)["error"]["message"]


def test_logged_html_is_a_page_only_in_its_own_sandbox(dash: Dashboard, run: trackd.Run) -> None:
    status, headers, body = dash.request(base(run) + "/html/media/html/page_5.html")
    assert status == 200 and body == HTML_PROBE.encode()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
    assert csp[0] == "sandbox allow-scripts"  # scripts, in an opaque origin: no same-origin
    assert "allow-same-origin" not in headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "connect-src 'none'", "form-action 'none'",
                      "base-uri 'none'", "frame-ancestors 'self'"):
        assert directive in csp, directive
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    # The same file through files/ stays a download; only Html goes through html/.
    status, headers, _ = dash.request(base(run) + "/files/media/html/page_5.html")
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    for name, code in (("media/table/samples_3.table.json", 400), ("media/html/none.html", 404),
                       ("../page.html", 400)):
        status, headers, _ = dash.request(base(run) + "/html/" + name)
        assert status == code, name
        assert "allow-scripts" not in headers["Content-Security-Policy"], name


def test_media_routes_need_a_login_and_a_visible_run(dash: Dashboard, run: trackd.Run) -> None:
    for path in ("/media", "/media/values?key=examples", "/html/media/html/page_5.html"):
        status, headers, body = dash.request(base(run) + path, token=None)
        assert status == 401, path
        assert b"Content-Security-Policy" not in body
        assert "allow-scripts" not in headers["Content-Security-Policy"]
        other = f"/api/v1/runs/{run.entity}/{PROJECT}/nosuchrun" + path
        assert dash.request(other)[0] == 404, path


def test_audio_and_video_are_served_as_themselves(dash: Dashboard, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = trackd.init(project=PROJECT)
    for name in ("clip.mp4", "clip.webm", "tone.wav"):
        put(r, "videos" if name.startswith("clip") else "audio", name, b"\0" * 16)
    r.finish()
    for name, ctype in (("videos/clip.mp4", "video/mp4"), ("videos/clip.webm", "video/webm"),
                        ("audio/tone.wav", "audio/wav")):
        status, headers, _ = dash.request(base(r) + "/files/media/" + name)
        assert status == 200
        assert headers["Content-Type"] == ctype
        assert headers["Content-Disposition"].startswith("inline")
        assert headers["Content-Security-Policy"] == user_content.CSP  # still sandboxed


def test_pages_may_play_media_and_frame_their_own_origin_only() -> None:
    directives = dict(d.strip().split(" ", 1) for d in PAGE_CSP.split(";"))
    assert directives["media-src"] == "'self' data:" and directives["frame-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
