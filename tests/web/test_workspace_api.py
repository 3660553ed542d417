"""The project workspace's API against a real daemon: the project's charts, the batched series
of many runs, and saved views (their size bound, and the same-origin rule on their writes)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from trackd_daemon.store.workspace_base import MAX_VIEW_BYTES

_projects = iter(range(1_000_000))


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


def _runs(n: int = 3, steps: int = 500) -> list[trackd.Run]:
    """``n`` finished runs in a project of their own (the daemon is the session's)."""
    project = f"ws-api-{next(_projects)}-{uuid.uuid4().hex[:6]}"
    out = []
    for i in range(n):
        run = trackd.init(project=project, name=f"r{i}", config={"lr": 0.1 * (i + 1)})
        run.define_metric("val/*", step_metric="epoch")
        for s in range(steps):
            row: dict[str, Any] = {"loss": (i + 1) / (s + 1), "train/acc": s / steps}
            if i == 0 and s % 50 == 49:
                row.update({"val/loss": 1 / (s + 1), "epoch": s // 50})
            run.log(row)
        run.finish()
        out.append(run)
    return out



def test_project_metrics_are_the_union_of_the_runs_keys(dash: Dashboard) -> None:
    runs = _runs(3, 100)
    layout = dash.json(f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/metrics")
    sections = {s["name"]: [c["key"] for c in s["charts"]] for s in layout["sections"]}
    assert sections == {"": ["epoch", "loss"], "train": ["train/acc"], "val": ["val/loss"]}
    assert [s["name"] for s in layout["sections"]][0] == ""  # the user's unnamed section first
    loss = next(c for c in layout["sections"][0]["charts"] if c["key"] == "loss")
    assert loss["points"] == 300  # 3 runs of 100
    val = layout["sections"][2]["charts"][0]
    assert val["step_metric"] == "epoch" and "epoch" in layout["x_axes"]
    assert dash.request(f"/api/v1/projects/{runs[0].entity}/nothing/metrics")[0] == 404


def test_series_of_many_runs_in_one_request(dash: Dashboard) -> None:
    runs = _runs(3, 500)
    path = f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/series"
    ids = [r.id for r in runs]
    body = dash.json(path, [("key", "loss"), ("runs", ",".join([*ids, "nope"])),
                            ("buckets", "100")])
    assert body["x"] == "_step" and body["keys"] == ["loss"] and body["missing"] == ["nope"]
    assert list(body["runs"]) == ids
    for i, rid in enumerate(ids):
        s = body["runs"][rid]["loss"]
        assert set(s) == {"x", "last", "total", "sampled"}  # a line: no band
        assert s["total"] == 500 and s["sampled"] is True and 50 <= len(s["x"]) <= 100
        assert len(s["last"]) == len(s["x"]) and s["x"][-1] == 499.0
        assert s["last"][-1] == pytest.approx((i + 1) / 500, rel=1e-6)
    # The same again comes from the daemon's cache, unchanged.
    assert dash.json(path, [("key", "loss"), ("runs", ",".join(ids)), ("buckets", "100")])[
        "runs"] == {k: v for k, v in body["runs"].items()}
    # Whole resolution in a zoomed range; two keys; another x axis.
    zoom = dash.json(path, [("key", "loss"), ("key", "train/acc"), ("runs", ids[1]),
                            ("x_min", "10"), ("x_max", "59"), ("buckets", "100")])
    s = zoom["runs"][ids[1]]["loss"]
    assert s["sampled"] is False and s["x"] == [float(x) for x in range(10, 60)]
    assert s["last"] == pytest.approx([2 / (x + 1) for x in range(10, 60)], rel=1e-6)
    assert len(zoom["runs"][ids[1]]["train/acc"]["x"]) == 50
    val = dash.json(path, [("key", "val/loss"), ("runs", ",".join(ids)), ("x", "epoch")])
    assert val["runs"][ids[0]]["val/loss"]["x"] == [float(e) for e in range(10)]
    assert val["runs"][ids[1]]["val/loss"]["x"] == []  # a run without the key: empty


def test_system_metrics_are_a_section_of_their_own_last(dash: Dashboard) -> None:
    project = f"ws-sys-{uuid.uuid4().hex[:8]}"
    with trackd.init(project=project, settings={"x_stats_sampling_interval": 1}) as run:
        for s in range(3):
            run.log({"loss": 1 / (s + 1)})
            time.sleep(1.2)  # a few system samples
    with trackd.init(project=project) as quiet:  # a run without system samples
        quiet.log({"loss": 1.0})
    base = f"/api/v1/projects/{run.entity}/{project}"
    layout = dash.json(f"{base}/metrics")
    assert [s["name"] for s in layout["sections"]] == ["", "System"]
    system = layout["sections"][-1]
    assert system["system"] is True
    keys = [c["key"] for c in system["charts"]]
    assert "system.cpu" in keys and all(c["step_metric"] == "_runtime"
                                        for c in system["charts"])
    got = dash.json(f"{base}/series", [("key", "system.cpu"), ("key", "loss"),
                                       ("runs", f"{run.id},{quiet.id}"), ("x", "_runtime")])
    cpu = got["runs"][run.id]["system.cpu"]
    assert cpu["total"] >= 2 and len(cpu["x"]) == cpu["total"] and cpu["x"] == sorted(cpu["x"])
    assert got["runs"][run.id]["loss"]["total"] == 3
    assert not got["runs"][quiet.id].get("system.cpu", {}).get("total")


@pytest.mark.parametrize("params", [
    [("runs", "a")],  # no key
    [("key", "loss")],  # no runs
    [("key", "loss"), ("runs", "a"), ("buckets", "1")],
    [("key", "loss"), ("runs", "a"), ("buckets", "x")],
    [("key", "loss"), ("runs", "a"), ("x_min", "nan")],
    [("key", "loss"), ("runs", ",".join(f"r{i}" for i in range(1001)))],
])
def test_series_requests_are_checked(dash: Dashboard, params: list[tuple[str, str]]) -> None:
    runs = _runs(1, 10)
    path = f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/series"
    status, _, body = dash.request(path, params)
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_argument"


def test_views_are_saved_listed_and_deleted(dash: Dashboard) -> None:
    runs = _runs(1, 10)
    base = f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/views"
    assert dash.json(base) == {"views": []}
    assert dash.request(f"{base}/default")[0] == 404
    spec = {"top": 20, "hidden": [runs[0].id], "panels": [{"kind": "scatter", "x": "lr"}],
            "settings": {"smoothing": 0.5}, "group": {"by": "config.lr", "band": "std"}}
    status, saved = dash.post_json(f"{base}/default", spec)
    assert status == 200 and saved["name"] == "default", saved
    got = dash.json(f"{base}/default")
    assert got["spec"] == spec and got["name"] == "default"
    status, _ = dash.post_json(f"{base}/my%20view", {"top": 5})
    assert status == 200
    assert [v["name"] for v in dash.json(base)["views"]] == ["default", "my view"]
    assert dash.json(f"{base}/my%20view")["spec"] == {"top": 5}
    status, out = dash.post_json(f"{base}/my%20view/delete", {})
    assert status == 200 and out == {"deleted": True}
    assert dash.post_json(f"{base}/my%20view/delete", {})[1] == {"deleted": False}
    assert [v["name"] for v in dash.json(base)["views"]] == ["default"]
    # Views of a project the request cannot see (none here: no such project) are 404.
    assert dash.post_json(f"/api/v1/projects/{runs[0].entity}/nothing/views/default",
                 {})[0] == 404


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"x": NaN}',
                                  json.dumps({"x": "a" * MAX_VIEW_BYTES}).encode()])
def test_a_view_must_be_a_json_object_of_bounded_size(dash: Dashboard, body: bytes) -> None:
    runs = _runs(1, 10)
    base = f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/views"
    status, out = dash.post_json(f"{base}/default", body)
    assert status == 400 and out["error"]["code"] == "invalid_argument", out
    assert dash.request(f"{base}/default")[0] == 404  # nothing saved


def test_views_cannot_be_written_from_another_site(dash: Dashboard) -> None:
    """A page of another site that the user visits while logged in tries to overwrite and
    delete the workspace's layout with the user's cookie: refused, nothing changes."""
    runs = _runs(1, 10)
    base = f"/api/v1/projects/{runs[0].entity}/{runs[0].project}/views"
    assert dash.post_json(f"{base}/default", {"top": 10})[0] == 200
    session = dash.login()
    cookie = {"Cookie": f"{dash.cookie_name}={session}"}
    for path in (f"{base}/default", f"{base}/default/delete"):
        for cross in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
            status, _, body = dash.open(dash.base.rstrip("/") + path, method="POST",
                                        headers={**cookie, **cross,
                                                 "Content-Type": "application/json"},
                                        data=b'{"top": 1}', follow=False)
            assert status == 403 and b"did not come from this dashboard" in body, (path, cross)
    assert dash.json(f"{base}/default")["spec"] == {"top": 10}
    # The dashboard's own page may.
    status, _, _ = dash.open(dash.base.rstrip("/") + f"{base}/default", method="POST",
                             headers={**cookie, "Origin": dash.base.rstrip("/"),
                                      "Content-Type": "application/json"}, data=b'{"top": 2}')
    assert status == 200 and dash.json(f"{base}/default")["spec"] == {"top": 2}


def test_the_project_page_is_the_workspace(dash: Dashboard) -> None:
    runs = _runs(2, 10)
    status, _, body = dash.request(f"/{runs[0].entity}/{runs[0].project}")
    assert status == 200, body[-3000:]
    for marker in (b'id="runs-table"', b'id="ws-sections"', b'id="ws-view"',
                   b'id="delete-button"', b"/static/workspace-", b"/static/workspace_charts-"):
        assert marker in body, marker
