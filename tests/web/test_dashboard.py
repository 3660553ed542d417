"""The dashboard served by a real daemon: the token, loopback binding, run URLs, pages, the JSON
API and live events."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from trackd_daemon.web.server import DashboardConfigError, bind, check_host


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


def _logged_run(project: str = "web", **init: object) -> trackd.Run:
    init.setdefault("config", {"lr": 0.01, "layers": 3})
    run = trackd.init(project=project, **init)  # type: ignore[arg-type]
    run.define_metric("val/*", step_metric="epoch")
    run.define_metric("debug", hidden=True)
    for i in range(1000):
        run.log({"loss": 1.0 / (i + 1), "train/acc": i / 1000, "debug": i})
        if i % 100 == 99:
            run.log({"val/loss": 0.5 / (i + 1), "epoch": i // 100})
    return run


def test_run_urls_are_stable_and_open_the_run_once_logged_in(dash: Dashboard) -> None:
    run = _logged_run()
    url = run.url
    assert url == f"{dash.base}{run.entity}/web/runs/{run.id}"  # no credential in it
    assert run.project_url == f"{dash.base}{run.entity}/web"
    assert run.sweep_url is None  # no sweep
    html = run.to_html(height=300)
    assert html.startswith("<iframe") and "height:300px" in html and "jupyter=true" in html
    assert "ticket=" in html and dash.token not in html  # a one-time ticket, never the token
    assert "<details>" in run.to_html(hidden=True)
    assert run.display() is False  # not in a notebook
    run.finish()
    status, _, body = dash.open(url)
    assert status == 401 and b'id="login-form"' in body  # a browser not logged in: the login page
    dash.login()
    status, _, body = dash.open(url)
    assert status == 200 and run.name.encode() in body
    dash.jar.clear()
    assert dash.request(f"/{run.entity}/web", token=None)[0] == 401


def test_requests_without_a_login_get_401(dash: Dashboard) -> None:
    for path in ("/", "/api/v1/projects", "/api/v1/openapi.yaml", "/nobody/nothing/runs/x"):
        for token in (None, "wrong-token"):
            status, headers, body = dash.request(path, token=token)
            assert status == 401, path
            assert headers["WWW-Authenticate"] == "Bearer"
    status, _, body = dash.request("/api/v1/projects", token=None)
    error = json.loads(body)["error"]
    assert error["code"] == "unauthenticated" and "trackd ui" in error["message"]
    assert dash.request("/api/v1/projects")[0] == 200  # the bearer token, as scripts send it
    # The dashboard's own scripts and styles carry no data: a notebook's iframe loads them
    # without a cookie.
    _, _, page = dash.request("/")
    asset = re.search(rb'href="(/static/app-[0-9a-f]+\.css)"', page)
    assert asset and dash.request(asset.group(1).decode(), token=None)[0] == 200


def test_token_is_owner_only_and_kept_across_restarts(own_daemon: DaemonProcess) -> None:
    token_file = Path(own_daemon.dirs.env["TRACKD_STATE_DIR"]) / "ui-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    first = Dashboard.of(own_daemon)
    assert first.token == token_file.read_text().strip() and len(first.token) >= 32
    own_daemon.stop()
    own_daemon.start()
    assert Dashboard.of(own_daemon).token == first.token


def _listening_addresses(port: int) -> list[str]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.append(addr)
    return found


def test_binds_loopback_only_by_default(dash: Dashboard) -> None:
    assert dash.base.startswith("http://127.0.0.1:")
    port = int(dash.base.rstrip("/").rsplit(":", 1)[1])
    assert _listening_addresses(port) == ["0100007F"]  # 127.0.0.1, nothing else


def test_host_and_port_settings() -> None:
    assert check_host("localhost") == "127.0.0.1"
    assert check_host("::1") == "::1"
    assert check_host("0.0.0.0") == "0.0.0.0"  # asked for explicitly: honoured
    with pytest.raises(DashboardConfigError, match="must be an IP address"):
        check_host("example.org")
    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        other = bind("127.0.0.1", port)  # taken: a free port instead
        assert other.getsockname()[1] not in (port, 0)
        other.close()
    finally:
        taken.close()


def test_api_runs_table_run_metrics_and_series(dash: Dashboard) -> None:
    runs = []
    for lr in (0.1, 0.01):
        run = _logged_run("api", config={"lr": lr}, tags=["t"] if lr > 0.05 else [])
        runs.append(run)
        run.finish()
    entity = runs[0].entity
    projects = dash.json("/api/v1/projects")["projects"]
    assert {"entity": entity, "project": "api", "runs": 2, "running": 0} == {
        k: v for k, v in next(p for p in projects if p["project"] == "api").items()
        if k != "last_activity"}
    table = dash.json(f"/api/v1/projects/{entity}/api/runs", {"filter": "lr > 0.05"})
    assert [r["id"] for r in table["runs"]] == [runs[0].id]
    assert table["runs"][0]["values"]["config.lr"] == 0.1
    table = dash.json(f"/api/v1/projects/{entity}/api/runs", {"sort": "config.lr", "tag": "t"})
    assert [r["id"] for r in table["runs"]] == [runs[0].id]
    bad = dash.json(f"/api/v1/projects/{entity}/api/runs", {"filter": "lr >"}, status=400)
    assert "filter 'lr >'" in bad["error"]["message"]
    detail = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}")
    assert (detail["state"], detail["config"]["lr"], detail["history_rows"]) == (
        "finished", 0.01, 1010)
    metrics = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/metrics")
    assert [s["name"] for s in metrics["sections"]] == ["", "train", "val"]
    assert metrics["hidden"] == ["debug"]
    assert metrics["x_axes"] == ["_step", "_runtime", "_timestamp", "epoch"]
    series = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series",
                       [("key", "loss"), ("key", "val/loss"), ("buckets", "100")])["series"]
    assert series["loss"]["sampled"] and series["loss"]["total"] == 1000
    assert len(series["loss"]["x"]) <= 100 and max(series["loss"]["max"]) == 1.0
    assert not series["val/loss"]["sampled"] and series["val/loss"]["total"] == 10
    by_epoch = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series",
                         [("key", "val/loss"), ("x", "epoch")])["series"]["val/loss"]
    assert by_epoch["x"] == [float(e) for e in range(10)]
    assert by_epoch["x_key"] == "epoch" and series["loss"]["x_key"] == "_step"
    # A system metric has no step: asked for the step, it is drawn against the run's time,
    # and says so (the chart titles its axis from x_key).
    system = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series",
                       [("key", "system.cpu"), ("x", "_step")])["series"]["system.cpu"]
    assert system["x_key"] == "_runtime"
    wall = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series",
                     [("key", "system.cpu"), ("x", "_timestamp")])["series"]["system.cpu"]
    assert wall["x_key"] == "_timestamp"
    zoom = dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series",
                     [("key", "loss"), ("buckets", "100"), ("x_min", "10"), ("x_max", "59")])
    assert zoom["series"]["loss"]["x"] == [float(s) for s in range(10, 60)]  # full resolution
    missing = dash.json(f"/api/v1/runs/{entity}/api/nope", status=404)
    assert "not found" in missing["error"]["message"]
    assert dash.json(f"/api/v1/runs/{entity}/api/{runs[1].id}/series", status=400)["error"][
        "code"] == "invalid_argument"


def test_pages_render(dash: Dashboard) -> None:
    run = _logged_run("pages", notes="<script>alert(1)</script>", tags=["tag-1"])
    run.finish()
    e = run.entity
    for path, expect in (("/", b"pages"), (f"/{e}/pages", b"runs-table"),
                         (f"/{e}/pages/runs/{run.id}", b"charts-area"),
                         (f"/{e}/pages/compare?runs={run.id}", b"parcoords"),
                         (f"/{e}/pages/sweeps/none/runs", b"sweep none")):
        status, headers, body = dash.request(path.split("?")[0], dict(
            [path.split("?")[1].split("=")]) if "?" in path else None)
        assert status == 200 and expect in body, path
        assert headers["Content-Type"].startswith("text/html")
    _, _, body = dash.request(f"/{e}/pages/runs/{run.id}")
    assert b"<script>alert(1)</script>" not in body and b"&lt;script&gt;" in body
    status, _, body = dash.request(f"/{e}/pages/runs/missing")
    assert status == 404 and b"not found" in body
    status, _, body = dash.request(f"/{e}/pages/sweeps/none")  # no such sweep, no runs of it
    assert status == 404 and b"not found" in body
    assert dash.request("/static/none.js")[0] == 404


def test_openapi_documents_every_api_route(dash: Dashboard) -> None:
    status, _, body = dash.request("/api/v1/openapi.yaml")
    assert status == 200
    doc = yaml.safe_load(body)
    assert doc["openapi"].startswith("3.")
    import re

    from trackd_daemon.web.api import Api
    from trackd_daemon.web.artifacts.api import ArtifactsApi
    from trackd_daemon.web.edit_api import EditApi
    from trackd_daemon.web.media import MediaApi
    from trackd_daemon.web.project_panels import ProjectPanelsApi
    from trackd_daemon.web.run_files import RunFilesApi
    from trackd_daemon.web.sweeps_api import SweepsApi
    from trackd_daemon.web.workspace_api import WorkspaceApi

    # A path parameter with a pattern ({name:.+}) is documented by its name.
    api = Api(None)  # type: ignore[arg-type]
    routes = {re.sub(r"\{(\w+):[^}]+\}", r"{\1}", r.path.removeprefix("/api/v1"))
              for r in [*api.routes(), *RunFilesApi(api, None).routes(),
                        *MediaApi(api, None).routes(),
                        *SweepsApi(None).routes(),  # type: ignore[arg-type]
                        *ArtifactsApi(api, None).routes(), *EditApi(api).routes(),
                        *ProjectPanelsApi(api).routes(),
                        *WorkspaceApi(None).routes()]}  # type: ignore[arg-type]
    routes.add("/runs/{entity}/{project}/{run_id}/events")
    assert set(doc["paths"]) == routes


def test_events_of_a_finished_run_end(dash: Dashboard) -> None:
    run = _logged_run("events")
    run.finish()
    status, headers, body = dash.request(f"/api/v1/runs/{run.entity}/events/{run.id}/events")
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = [block.split("\n") for block in body.decode().strip().split("\n\n")]
    assert [e[0] for e in events] == ["event: run", "event: end"]
    snapshot = json.loads(events[0][1].removeprefix("data: "))
    assert snapshot["state"] == "finished" and snapshot["history_rows"] == 1010


def test_offline_and_disabled_runs_have_no_urls(clean_sdk: DaemonProcess) -> None:
    for mode in ("offline", "disabled"):
        run = trackd.init(project="web", mode=mode)
        assert (run.url, run.project_url, run.sweep_url) == (None, None, None)
        assert "has no dashboard page" in run.to_html()
        run.finish()


def test_trackd_ui_prints_the_url(dash: Dashboard, clean_sdk: DaemonProcess) -> None:
    run = _logged_run("cli")
    run.finish()
    env = {**os.environ, **clean_sdk.dirs.env}

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "trackd._cli.main", *args], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert cli("ui", "--no-browser").startswith(f"{dash.base}?ticket=")
    page = cli("ui", "--no-browser", f"{run.entity}/cli/{run.id}")
    assert page.startswith(f"{run.url}?ticket=") and dash.token not in page
    status, _, body = dash.open(page)  # the printed URL logs a browser in
    assert status == 200 and run.name.encode() in body and dash.session()
    assert f"dashboard:      {dash.base}" in cli("daemon", "status")


def test_ui_is_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import DaemonDirs

    dirs = DaemonDirs.make()
    dirs.env["TRACKD_UI"] = "0"
    d = DaemonProcess(dirs)
    d.start()
    try:
        from trackd._transport.connection import drop_connection, get_connection
        from trackd._transport.dashboard import _cache, dashboard

        _cache.clear()
        try:
            assert dashboard(get_connection(f"unix:{dirs.socket}")) is None
        finally:
            drop_connection()
        assert not (Path(dirs.env["TRACKD_STATE_DIR"]) / "ui-token").exists()
    finally:
        d.stop()
        dirs.cleanup()


def test_socket_helper_sees_the_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        assert _listening_addresses(s.getsockname()[1]) == ["0100007F"]
