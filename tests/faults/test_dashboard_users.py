"""The dashboard of a system-wide daemon for another user of the machine: `trackd ui` asks the
daemon for a login ticket bound to the caller's uid (``DashboardTicket``; the user cannot read
the token file), and that browser session sees and edits what the team policy lets the user
read and write, nothing more.

The daemon runs as root with a shared socket; the user is ``nobody`` (group ``nogroup``, to
which the policy grants read on the projects ``shared-*``), acting through ``as_user.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard

AS_USER = Path(__file__).with_name("as_user.py")
NOBODY, NOGROUP = 65534, 65534
POLICY = """
[[grant]]
projects = ["shared-*"]
groups = ["nogroup"]
access = "read"
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    policy = tmp_path_factory.mktemp("policy") / "policy.toml"
    policy.write_text(POLICY)
    with shared_daemon({0: 0, NOBODY: NOGROUP}, {"TRACKD_POLICY": str(policy)}) as found:
        d, _ = found
        for project, run_id in (("shared-a", "s1"), ("private", "p1")):
            ok(as_user(found, 0, "create", entity="team", project=project, run_id=run_id,
                       rows=3))
        assert (d.dirs.base / "state" / "ui-token").stat().st_mode & 0o077 == 0
        yield found


def as_user(shared: tuple[DaemonProcess, Path], uid: int, action: str,
            **kwargs: Any) -> dict[str, Any]:
    d, homes = shared
    gid = NOGROUP if uid == NOBODY else 0
    return run_as(AS_USER, uid, gid, action, json.dumps(kwargs),  # type: ignore[no-any-return]
                  env=client_env(d, homes / str(uid)), cwd=homes)


def ok(result: dict[str, Any]) -> Any:
    assert "ok" in result, result
    return result["ok"]


def ticket_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["ticket"][0]


def logged_in(url: str) -> Dashboard:
    """A browser (no token: it holds the session cookie alone) logged in with ``url``."""
    split = urlsplit(url)
    dash = Dashboard(f"{split.scheme}://{split.netloc}/", token="")
    status, _, body = dash.open(url)
    assert status == 200 and dash.session(), (status, body[:300])
    return dash


def get(dash: Dashboard, path: str) -> tuple[int, Any]:
    status, _, body = dash.request(path, token=None)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def nobody_login(shared: tuple[DaemonProcess, Path], path: str = "") -> tuple[str, Dashboard]:
    url = ok(as_user(shared, NOBODY, "ui_url", path=path))
    return url, logged_in(url)


@needs_root
def test_a_user_without_the_token_logs_in_as_themselves(
        shared: tuple[DaemonProcess, Path]) -> None:
    url, dash = nobody_login(shared, "team/shared-a/s1")
    assert urlsplit(url).path == "/team/shared-a/runs/s1"
    # The ticket is the daemon's, bound to nobody's uid under the token's MAC.
    assert ticket_of(url).split(".")[2] == str(NOBODY)

    status, projects = get(dash, "/api/v1/projects")
    assert status == 200, projects
    assert {p["project"] for p in projects["projects"]} == {"shared-a"}
    status, runs = get(dash, "/api/v1/projects/team/shared-a/runs")
    assert status == 200 and "s1" in json.dumps(runs), runs
    assert get(dash, "/api/v1/runs/team/shared-a/s1")[0] == 200
    assert dash.request("/team/shared-a/runs/s1", token=None)[0] == 200

    # The private project's run is not there at all: API, history and page answer 404.
    for path in ("/api/v1/runs/team/private/p1", "/api/v1/runs/team/private/p1/metrics",
                 "/api/v1/projects/team/private/runs", "/team/private/runs/p1",
                 "/team/private"):
        status, body = get(dash, path)
        assert status == 404, (path, status, body)


@needs_root
def test_a_readable_run_is_not_editable_by_a_reader(shared: tuple[DaemonProcess, Path]) -> None:
    _, dash = nobody_login(shared)
    path = "/api/v1/runs/team/shared-a/s1/update"
    # From this dashboard's own page: the policy refuses (read access only).
    status, body = dash.post_json(path, {"name": "taken"}, token=None,
                                  headers={"Origin": dash.base.rstrip("/")})
    assert status == 403 and "may not change run" in json.dumps(body), (status, body)
    # From another site: the same-origin rule refuses first, as for every session.
    status, body = dash.post_json(path, {"name": "taken"}, token=None,
                                  headers={"Origin": "http://elsewhere.example"})
    assert status == 403 and b"another site" in body, (status, body)
    # Nor may it save the shared project's workspace views, which it may read.
    views = "/api/v1/projects/team/shared-a/views"
    status, body = dash.post_json(views + "/mine", {"panels": []}, token=None,
                                  headers={"Origin": dash.base.rstrip("/")})
    assert status == 403 and "read access only" in json.dumps(body), (status, body)
    assert get(dash, views) == (200, {"views": []})
    assert get(dash, "/api/v1/projects/team/private/views")[0] == 404
    # The private run cannot even be found.
    status, _ = dash.post_json("/api/v1/runs/team/private/p1/update", {"name": "taken"},
                               token=None, headers={"Origin": dash.base.rstrip("/")})
    assert status == 404
    assert ok(as_user(shared, 0, "list", project="team/shared-a")) == ["s1"]
    root_dash = Dashboard.of(shared[0])
    assert root_dash.json("/api/v1/runs/team/shared-a/s1")["name"] != "taken"


@needs_root
def test_an_altered_ticket_uid_is_refused(shared: tuple[DaemonProcess, Path]) -> None:
    url = ok(as_user(shared, NOBODY, "ui_url", path=""))
    expires, nonce, uid, mac = ticket_of(url).split(".")
    assert uid == str(NOBODY)
    split = urlsplit(url)
    base = f"{split.scheme}://{split.netloc}/"
    for forged in (f"{expires}.{nonce}.0.{mac}", f"{expires}.{nonce}.{mac}"):
        dash = Dashboard(base, token="")
        status, _, body = dash.open(base + "?" + urlencode({"ticket": forged}))
        assert status == 401 and dash.session() is None, (forged, status)
        assert b"not made with this dashboard" in body
    # The genuine ticket still works (the refusals did not spend it).
    assert logged_in(url).session()


@needs_root
def test_the_daemons_own_user_still_sees_everything(shared: tuple[DaemonProcess, Path]) -> None:
    url = ok(as_user(shared, 0, "ui_url", path=""))
    assert len(ticket_of(url).split(".")) == 3  # a full-access ticket, minted from the token
    status, projects = get(logged_in(url), "/api/v1/projects")
    assert status == 200, projects
    assert {"shared-a", "private"} <= {p["project"] for p in projects["projects"]}



@needs_root
def test_artifacts_follow_the_policy(shared: tuple[DaemonProcess, Path]) -> None:
    for project, run_id in (("shared-a", "sa"), ("private", "pa")):
        ok(as_user(shared, 0, "log_text", entity="team", project=project, run_id=run_id,
                   name=f"data-{project}", text=project))
    _, dash = nobody_login(shared)
    status, listed = get(dash, "/api/v1/projects/team/shared-a/artifacts")
    assert status == 200 and "data-shared-a" in json.dumps(listed), listed
    seen = "/api/v1/artifacts/team/shared-a/dataset/data-shared-a/v0"
    assert get(dash, seen)[0] == 200
    assert get(dash, seen + "/files/a.txt")[0] == 200
    hidden = "/api/v1/artifacts/team/private/dataset/data-private"
    for path in (hidden, hidden + "/v0", hidden + "/v0/files/a.txt"):
        assert get(dash, path)[0] == 404, path
    status, listed = get(dash, "/api/v1/projects/team/private/artifacts")
    assert "data-private" not in json.dumps(listed), listed
    # A reader may not move an alias of a version it may read.
    status, body = dash.post_json(seen + "/aliases", {"add": ["best"], "remove": []},
                                  token=None, headers={"Origin": dash.base.rstrip("/")})
    assert status == 403 and "may not change artifact" in json.dumps(body), (status, body)
