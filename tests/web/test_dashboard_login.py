"""Logging in to the dashboard (issue 14, finding 3): the cookie holds a random, expiring
session id, never the token; a ticket works once and not after its expiry; sessions survive a
restart; `trackd ui --rotate-token` refuses every earlier cookie, ticket and the old token;
the login form; a notebook view's session."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess
from tests.web.dash import Dashboard
from trackd._shared.ui_auth import TICKET_SECONDS, check_ticket, mint_ticket


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


def cli(daemon: DaemonProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **daemon.dirs.env}
    proc = subprocess.run([sys.executable, "-m", "trackd._cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=90, check=False)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def page_data(body: bytes) -> dict[str, object]:
    found = re.search(rb'<script id="page-data" type="application/json">(.*?)</script>', body)
    assert found
    return json.loads(found.group(1))


def test_the_cookie_holds_a_random_session_never_the_token(dash: Dashboard) -> None:
    # A link with the token (as trackd printed before tickets) logs a browser in...
    status, headers, _ = dash.open(f"{dash.base}?{urlencode({'token': dash.token})}",
                                   follow=False)
    assert dash.token not in headers["Set-Cookie"]  # ...with a cookie that is not the token
    assert status == 303 and headers["Location"] == "/"
    status, headers, _ = dash.open(dash.ticket_url("/", q="x"), follow=False)
    assert status == 303 and headers["Location"] == "/?q=x"  # the ticket left the URL
    cookie = headers["Set-Cookie"]
    name, value = cookie.split(";", 1)[0].split("=", 1)
    assert name == f"trackd-ui-{dash.port}"
    assert dash.token not in cookie and value != dash.token and len(value) >= 43
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= set(attributes)
    assert attributes["samesite"] == "SameSite=Strict" and attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={14 * 24 * 3600}" and "secure" not in attributes
    assert not any(dash.token in v for v in headers.values())
    # Two logins, two sessions.
    status, second, _ = dash.open(dash.ticket_url("/"), follow=False)
    assert status == 303 and second["Set-Cookie"].split(";")[0] != cookie.split(";")[0]
    # The session works; no page or API answer carries the token.
    dash.login()
    run = trackd.init(project="login")
    run.log({"loss": 1.0})
    run.finish()
    for path in ("/", f"/{run.entity}/login", f"/{run.entity}/login/runs/{run.id}",
                 f"/api/v1/runs/{run.entity}/login/{run.id}", "/api/v1/projects"):
        status, _, body = dash.open(dash.base.rstrip("/") + path)
        assert status == 200 and dash.token.encode() not in body, path
    # The sessions file keeps neither the ids nor the token, and is the owner's alone.
    sessions = Path(os.environ["TRACKD_STATE_DIR"]) / "ui-sessions.json"
    text = sessions.read_text()
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o600
    assert dash.session() not in text and value not in text and dash.token not in text


def test_a_ticket_works_once_and_not_after_its_expiry(dash: Dashboard) -> None:
    url = dash.ticket_url("/")
    assert dash.open(url, method="HEAD", follow=False)[0] == 401  # a link preview spends none
    status, headers, _ = dash.open(url, follow=False)
    assert status == 303 and "Set-Cookie" in headers
    dash.jar.clear()
    status, headers, body = dash.open(url, follow=False)  # the same ticket again
    assert status == 401 and "Set-Cookie" not in headers and b"used already" in body
    assert b'id="login-form"' in body
    expired = dash.ticket_url("/", now=time.time() - TICKET_SECONDS - 1)
    status, _, body = dash.open(expired, follow=False)
    assert status == 401 and b"expired" in body
    forged = mint_ticket("not-the-token")
    status, _, body = dash.open(f"{dash.base}?{urlencode({'ticket': forged})}", follow=False)
    assert status == 401 and b"current token" in body
    too_long = dash.ticket_url("/", seconds=7 * 24 * 3600)
    assert dash.open(too_long, follow=False)[0] == 401
    assert dash.session() is None
    # The check itself (shared by the SDK and the daemon).
    ticket = mint_ticket("t", now=1000.0)
    assert check_ticket("t", ticket, now=1000.0 + TICKET_SECONDS - 1).expires == 1000 + TICKET_SECONDS
    for bad in (ticket + "x", "1.2", "", "a.b.c", ticket.replace(".", "..", 1)):
        with pytest.raises(ValueError):
            check_ticket("t", bad, now=1000.0)


def test_an_old_link_with_the_token_logs_in_and_leaves_the_address_bar(dash: Dashboard) -> None:
    status, headers, _ = dash.open(f"{dash.base}?{urlencode({'token': dash.token})}",
                                   follow=False)
    assert status == 303 and headers["Location"] == "/" and dash.token not in headers["Set-Cookie"]
    status, _, body = dash.open(f"{dash.base}?{urlencode({'token': dash.token})}")
    assert status == 200 and b"Projects" in body and dash.token.encode() not in body


def test_the_login_form_and_logging_out(dash: Dashboard) -> None:
    same = {"Origin": dash.base.rstrip("/"), "Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = dash.open(dash.base.rstrip("/") + "/some/where")
    assert status == 401 and b'name="next" value="/some/where"' in body
    form = urlencode({"token": "wrong", "next": "/"}).encode()
    status, headers, body = dash.open(dash.base + "login", method="POST", headers=same,
                                      data=form, follow=False)
    assert status == 401 and b"not this dashboard" in body and "Set-Cookie" not in headers
    # A page of another site cannot post it (not even with the right token).
    form = urlencode({"token": dash.token, "next": "//evil.example/"}).encode()
    for cross in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        status, headers, _ = dash.open(dash.base + "login", method="POST", data=form,
                                       headers={**same, **cross}, follow=False)
        assert status == 403 and "Set-Cookie" not in headers
    status, headers, _ = dash.open(dash.base + "login", method="POST", headers=same, data=form,
                                   follow=False)
    assert status == 303 and headers["Location"] == "/"  # never to another site
    assert "Set-Cookie" in headers
    dash.login()
    session = dash.session()
    assert dash.open(dash.base)[0] == 200
    status, headers, _ = dash.open(dash.base + "logout", method="POST", headers=same,
                                   follow=False)
    assert status == 303 and headers["Location"] == "/login"
    dash.jar.clear()
    status, _, _ = dash.open(dash.base, headers={"Cookie": f"{dash.cookie_name}={session}"})
    assert status == 401  # the session ended


def test_a_notebook_view_holds_a_spent_ticket_and_its_session_in_memory(dash: Dashboard) -> None:
    run = trackd.init(project="notebook")
    run.log({"loss": 0.5})
    run.finish()
    html = run.to_html()
    src = re.search(r'src="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "ticket=" in src and "jupyter=true" in src and dash.token not in html
    status, headers, body = dash.open(src, follow=False)
    assert status == 200 and "Set-Cookie" not in headers  # another site's iframe keeps none
    session = page_data(body)["session"]
    assert isinstance(session, str) and dash.token.encode() not in body
    # This page may be framed (the daemon's user asked for it with a ticket); nothing else.
    assert "X-Frame-Options" not in headers
    assert "frame-ancestors" not in headers["Content-Security-Policy"]
    assert dash.request("/", token=None)[1]["X-Frame-Options"] == "DENY"
    # The page's scripts send the id in a header.
    api = f"/api/v1/runs/{run.entity}/notebook/{run.id}"
    assert dash.request(api, token=None, headers={"X-Trackd-Session": session})[0] == 200
    assert dash.request(api, token=None, headers={"X-Trackd-Session": "x" * 43})[0] == 401
    # The saved output is worth nothing now.
    status, _, body = dash.open(src, follow=False)
    assert status == 401 and b"used already" in body


def test_sessions_and_spent_tickets_survive_a_restart(own_daemon: DaemonProcess) -> None:
    dash = Dashboard.of(own_daemon)
    url = dash.ticket_url("/")
    assert dash.open(url)[0] == 200
    session = dash.session()
    own_daemon.stop()
    own_daemon.start()
    dash = Dashboard.of(own_daemon)  # a new port: the cookie goes by name
    status, _, _ = dash.open(dash.base, headers={"Cookie": f"{dash.cookie_name}={session}"})
    assert status == 200  # still logged in
    spent = url.replace(url.split("/?")[0] + "/", dash.base)
    assert dash.open(spent, follow=False)[0] == 401  # and the ticket still spent


def _replay(dash: Dashboard, session: str) -> int:
    return dash.open(dash.base, headers={"Cookie": f"{dash.cookie_name}={session}"})[0]


def test_rotate_token_refuses_every_earlier_session_ticket_and_the_old_token(
        own_daemon: DaemonProcess) -> None:
    dash = Dashboard.of(own_daemon)
    session = dash.login()
    outstanding = dash.ticket_url("/")
    assert _replay(dash, session) == 200 and dash.request("/api/v1/projects")[0] == 200
    done = cli(own_daemon, "ui", "--no-browser", "--rotate-token")
    assert "rotated the dashboard token" in done.stderr and "1 browser session(s) ended" in done.stderr
    new = Dashboard.of(own_daemon)
    assert new.token != dash.token
    assert _replay(dash, session) == 401  # the replayed cookie
    assert dash.open(outstanding, follow=False)[0] == 401  # a ticket of the old token
    assert dash.request("/api/v1/projects")[0] == 401  # the old token itself
    assert new.request("/api/v1/projects")[0] == 200
    fresh = Dashboard(new.base, new.token)
    status, _, _ = fresh.open(done.stdout.strip())  # the URL it printed logs in
    assert status == 200 and fresh.session()


def test_rotate_token_of_a_stopped_daemon(own_daemon: DaemonProcess) -> None:
    dash = Dashboard.of(own_daemon)
    session = dash.login()
    own_daemon.stop()
    state = Path(own_daemon.dirs.env["TRACKD_STATE_DIR"])
    assert (state / "ui-sessions.json").exists()
    done = cli(own_daemon, "ui", "--no-browser", "--rotate-token")
    try:
        assert "the daemon was not running" in done.stderr
        token = (state / "ui-token").read_text().strip()
        assert token != dash.token and stat.S_IMODE((state / "ui-token").stat().st_mode) == 0o600
        new = Dashboard.of(own_daemon)  # the daemon `trackd ui` started
        assert new.token == token
        assert _replay(new, session) == 401
        assert new.request("/api/v1/projects", token=dash.token)[0] == 401
        assert new.request("/api/v1/projects")[0] == 200
    finally:
        cli(own_daemon, "daemon", "stop", check=False)


AS_OTHER_USER = """
import os, sys
import grpc
from trackd._transport.connection import make_stub
from trackd.v1 import daemon_service_pb2 as pb
os.setgid(61002); os.setuid(61002)
with grpc.insecure_channel(sys.argv[1]) as ch:
    stub = make_stub(ch, pb, "DaemonService")
    try:
        stub.RotateDashboardToken(pb.RotateDashboardTokenRequest(), timeout=10)
        print("ROTATED")
    except grpc.RpcError as exc:
        print(exc.code().name, exc.details())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user needs root")
def test_only_the_daemons_user_may_rotate_the_token() -> None:
    dirs = DaemonDirs.make()
    dirs.env["TRACKD_SOCKET_MODE"] = "0666"
    d = DaemonProcess(dirs)
    d.start()
    try:
        token = (Path(dirs.env["TRACKD_STATE_DIR"]) / "ui-token").read_text()
        out = subprocess.run([sys.executable, "-c", AS_OTHER_USER, f"unix:{dirs.socket}"],
                             capture_output=True, text=True, timeout=60, check=False,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert out.stdout.startswith("PERMISSION_DENIED"), (out.stdout, out.stderr)
        assert "may not rotate the daemon's dashboard token" in out.stdout
        assert (Path(dirs.env["TRACKD_STATE_DIR"]) / "ui-token").read_text() == token
    finally:
        d.stop()
        dirs.cleanup()
