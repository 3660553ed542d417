"""The sweep page and the sweeps API of a real daemon's dashboard: a sweep made through
SweepService with runs made by ``trackd.init`` under its id; its page, JSON, parameter
importance, the project's list of sweeps, the links to them, and the controls, which go through
the daemon's sweep controller (waking an agent waiting on the sweep) and are refused from
another site."""

from __future__ import annotations

import json
import threading
import time

import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from tests.web.sweep_runs import ENTITY, SweepClient, make_sweep
from trackd.v1 import sweep_service_pb2 as pb


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)



def test_a_sweep_its_runs_and_charts_data(clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    sweep = make_sweep(clean_sdk, "web-sweep", runs=4)
    got = dash.json(sweep.api)
    assert got["id"] == sweep.sweep_id and got["name"] == "lr-search"
    assert got["state"] == "RUNNING" and got["method"] == "random"
    assert (got["metric"], got["goal"]) == ("val/loss", "minimize")
    assert got["config"]["parameters"]["optimizer"]["values"] == ["adam", "sgd"]
    assert "method: random" in got["config_yaml"] and "val/loss" in got["config_yaml"]
    # The sweep's parameters, nested ones by dotted name.
    assert sorted(got["params"]) == ["lr", "model.layers", "optimizer"]
    runs = got["runs"]
    assert [r["id"] for r in runs] == list(sweep.proposals)  # in the order proposed
    finished = [r for r in runs if r["state"] == "finished"]
    assert len(finished) == 4 and all(r["exists"] and not r["stopped_early"] for r in finished)
    for r in finished:
        params = sweep.proposals[r["id"]]
        assert r["params"] == {"lr": params["lr"], "optimizer": params["optimizer"],
                               "model.layers": params["model"]["layers"]}
        assert r["metric"] == pytest.approx(sweep.metrics[r["id"]])  # the summary's last value
    pending = runs[-1]
    assert pending["state"] == "pending" and pending["stopped_early"] and not pending["exists"]
    assert pending["metric"] is None and got["stopped_early"] == 1
    assert got["states"] == {"finished": 4, "pending": 1}
    # The best so far, run by run, and the best run.
    best = None
    for r in runs:
        if r["metric"] is not None:
            best = r["metric"] if best is None else min(best, r["metric"])
        assert r["best_so_far"] == best
    best_id = min(sweep.metrics, key=lambda k: sweep.metrics[k])
    assert got["best"]["id"] == best_id and got["best"]["metric"] == pytest.approx(
        sweep.metrics[best_id])
    # Parallel coordinates: the runs with the metric, a categorical axis with its tick labels.
    pc = got["parcoords"]
    assert pc["runs"] == [r["id"] for r in finished]
    dims = {d["label"]: d for d in pc["dimensions"]}
    assert list(dims) == [*got["params"], "val/loss"]
    optimizers = sorted({sweep.proposals[i]["optimizer"] for i in pc["runs"]})
    assert dims["optimizer"]["categorical"] and dims["optimizer"]["ticktext"] == optimizers
    assert [dims["optimizer"]["ticktext"][v] for v in dims["optimizer"]["values"]] == [
        sweep.proposals[i]["optimizer"] for i in pc["runs"]]
    assert dims["val/loss"]["metric"] and dims["val/loss"]["values"] == [
        r["metric"] for r in finished]

    imp = dash.json(sweep.api + "/importance")
    assert imp["metric"] == "val/loss" and imp["runs"] == 4
    params = {p["param"] for p in imp["params"]}
    assert params == {"lr", "optimizer", "model.layers"}
    lr = next(p for p in imp["params"] if p["feature"] == "lr")
    assert lr["importance"] is not None and 0 <= lr["importance"] <= 1
    assert sum(p["importance"] for p in imp["params"]) == pytest.approx(1.0) or all(
        p["importance"] == 0 for p in imp["params"])
    assert dash.json(sweep.api + "/importance") == imp  # kept until the runs change

    listed = dash.json(f"/api/v1/projects/{ENTITY}/web-sweep/sweeps")["sweeps"]
    assert [s["id"] for s in listed] == [sweep.sweep_id]
    assert listed[0]["best"]["id"] == best_id and listed[0]["run_count"] == 5
    assert listed[0]["states"] == {"finished": 4, "pending": 1}
    assert dash.json(f"/api/v1/projects/{ENTITY}/no-such-project/sweeps") == {"sweeps": []}


def test_the_sweep_page_and_its_links(clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    sweep = make_sweep(clean_sdk, "web-sweep-page", runs=2)
    run_id = next(iter(sweep.proposals))
    status, _, body = dash.request(sweep.path)
    page = body.decode()
    assert status == 200
    assert 'id="sweep-state"' in page and 'data-state="RUNNING"' in page
    assert "method: random" in page and "lr-search" in page
    for action in ("pause", "resume", "finish", "cancel"):
        assert f'data-action="{action}"' in page
    assert f'href="{sweep.path}/runs"' in page  # the runs table of the sweep stays reachable
    # The page's data is embedded (its runs, for the table and charts).
    data = json.loads(page.split('<script id="page-data" type="application/json">')[1]
                      .split("</script>")[0])
    assert [r["id"] for r in data["sweep"]["runs"]] == list(sweep.proposals)
    # The runs table of the sweep: only its runs.
    status, _, body = dash.request(sweep.path + "/runs")
    assert status == 200 and b'id="runs-table"' in body and b'id="sweep-link"' in body
    table = dash.json(f"/api/v1/projects/{ENTITY}/web-sweep-page/runs",
                      {"sweep": sweep.sweep_id})
    assert sorted(r["id"] for r in table["runs"]) == sorted(sweep.metrics)
    assert all(r["sweep_id"] == sweep.sweep_id for r in table["runs"])
    # The project page lists its sweeps, linked.
    status, _, body = dash.request(f"/{ENTITY}/web-sweep-page")
    assert status == 200 and b'id="sweeps-table"' in body
    assert f'href="{sweep.path}"'.encode() in body
    # A run of the sweep: its page links to the sweep page, and run.sweep_url is that page.
    status, _, body = dash.request(f"/{ENTITY}/web-sweep-page/runs/{run_id}")
    assert status == 200 and f'href="{sweep.path}"'.encode() in body
    trackd.teardown()
    run = trackd.init(entity=ENTITY, project="web-sweep-page", id=run_id, resume="allow",
                      settings=trackd.Settings(sweep_id=sweep.sweep_id))
    assert run.sweep_url == dash.base.rstrip("/") + sweep.path
    run.finish()


def test_unknown_sweeps_and_other_projects(clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    sweep = make_sweep(clean_sdk, "web-sweep-404", runs=1)
    for path in (f"/api/v1/sweeps/{ENTITY}/web-sweep-404/nosuchsweep",
                 f"/api/v1/sweeps/{ENTITY}/another-project/{sweep.sweep_id}",
                 f"/api/v1/sweeps/other-entity/web-sweep-404/{sweep.sweep_id}/importance"):
        status, _, body = dash.request(path)
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found", path
    status, _, body = dash.request(f"/{ENTITY}/web-sweep-404/sweeps/nosuchsweep")
    assert status == 404 and b"nosuchsweep" in body
    # Runs naming a sweep this daemon does not hold: the page is their runs table.
    run = trackd.init(entity=ENTITY, project="web-sweep-404",
                      settings=trackd.Settings(sweep_id="elsewhere1"))
    run.finish()
    status, _, body = dash.request(f"/{ENTITY}/web-sweep-404/sweeps/elsewhere1")
    assert status == 200 and b'id="runs-table"' in body and run.id.encode() in body
    for token in (None, "wrong"):
        assert dash.request(sweep.api, token=token)[0] == 401


def test_controls_go_through_the_controller_and_wake_waiting_agents(
        clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    sweep = make_sweep(clean_sdk, "web-sweep-controls", runs=1)
    client = SweepClient(clean_sdk)
    try:
        status, got = dash.post_json(sweep.api + "/state", {"action": "pause"})
        assert status == 200 and got["state"] == "PAUSED" and got["id"] == sweep.sweep_id
        assert client.get(sweep).state == pb.SWEEP_STATE_PAUSED
        assert dash.json(sweep.api)["state"] == "PAUSED"
        # An agent waits on the paused sweep; resuming from the dashboard answers it at once.
        answer: list[pb.NextRunResponse] = []
        waiting = threading.Thread(target=lambda: answer.append(client.propose(sweep, wait=30)))
        waiting.start()
        time.sleep(0.5)
        assert not answer
        started = time.monotonic()
        status, got = dash.post_json(sweep.api + "/state", {"action": "resume"})
        assert status == 200 and got["state"] == "RUNNING"
        waiting.join(20)
        assert answer and answer[0].run_id and time.monotonic() - started < 10
        # Stop (finish): no new runs; a finished sweep cannot be resumed (409); cancel.
        status, got = dash.post_json(sweep.api + "/state", {"action": "finish"})
        assert status == 200 and got["state"] == "FINISHED"
        status, err = dash.post_json(sweep.api + "/state", {"action": "resume"})
        assert status == 409 and err["error"]["code"] == "failed_precondition"
        assert "finished" in err["error"]["message"]
        status, got = dash.post_json(sweep.api + "/state", {"action": "cancel"})
        assert status == 200 and got["state"] == "CANCELED"
        assert client.get(sweep).state == pb.SWEEP_STATE_CANCELED
        for bad in ({"action": "explode"}, {}, [], "pause"):
            status, err = dash.post_json(sweep.api + "/state", bad)
            assert status == 400 and err["error"]["code"] == "invalid_argument", bad
        status, _ = dash.post_json(f"/api/v1/sweeps/{ENTITY}/web-sweep-controls/nosuch/state",
                          {"action": "pause"})
        assert status == 404
    finally:
        client.close()


def test_a_cross_site_request_cannot_change_a_sweep(clean_sdk: DaemonProcess,
                                                    dash: Dashboard) -> None:
    sweep = make_sweep(clean_sdk, "web-sweep-csrf", runs=1)
    # Not logged in at all: 401, whatever the origin.
    status, _ = dash.post_json(sweep.api + "/state", {"action": "pause"}, token=None,
                      headers={"Sec-Fetch-Site": "same-origin"})
    assert status == 401
    session = dash.login()
    cookie = {"Cookie": f"{dash.cookie_name}={session}"}
    own = dash.base.rstrip("/")
    for cross in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                  {"Sec-Fetch-Site": "same-site", "Origin": own}, {}):
        status, body = dash.post_json(sweep.api + "/state", {"action": "cancel"}, token=None,
                             headers={**cookie, **cross})
        assert status == 403 and b"did not come from this dashboard" in body, (cross, status)
    assert dash.json(sweep.api)["state"] == "RUNNING"
    # From the dashboard's own page (what a browser sends with its fetch).
    status, got = dash.post_json(sweep.api + "/state", {"action": "pause"}, token=None,
                        headers={**cookie, "Sec-Fetch-Site": "same-origin", "Origin": own})
    assert status == 200 and got["state"] == "PAUSED"


def test_a_sweep_without_runs_yet(clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    client = SweepClient(clean_sdk)
    try:
        sweep = client.create("web-sweep-empty", {"method": "grid", "parameters": {
            "x": {"values": [1, 2]}}})
    finally:
        client.close()
    got = dash.json(sweep.api)
    assert got["runs"] == [] and got["metric"] == "" and got["best"] is None
    assert got["name"] == sweep.sweep_id  # no name in the configuration: the id
    assert dash.json(sweep.api + "/importance") == {"metric": "", "goal": "minimize",
                                                     "runs": 0, "params": []}
    status, _, body = dash.request(sweep.path)
    assert status == 200 and b'data-state="RUNNING"' in body
    # The project has a sweep but no run yet: its page lists the sweep.
    status, _, body = dash.request(f"/{ENTITY}/web-sweep-empty")
    assert status == 200 and b'id="sweeps-table"' in body and b'id="no-runs"' in body
    assert f'href="{sweep.path}"'.encode() in body
