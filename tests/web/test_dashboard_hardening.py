"""The dashboard's hardening (issue 14, finding 8): every security header on every route (one
test walks the app's router), the Host allowlist against DNS rebinding, the same-origin rule
for requests that change state, TLS off loopback, and how user content is labelled."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from pathlib import Path
from urllib.parse import quote

import pytest

import trackd
from tests import helpers
from tests.faults.test_tcp_auth import _self_signed
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from trackd_daemon.web import user_content
from trackd_daemon.web.assets import Assets
from trackd_daemon.web.connections import ConnectionGuard
from trackd_daemon.web.server import make_app
from trackd_daemon.web.sessions import SessionStore


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


def check_headers(headers: dict[str, str], what: str) -> None:
    """Every header a dashboard response must carry (user content's stricter policy, or the
    pages' one)."""
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (what, csp)
    assert "unsafe-eval" not in csp and "script-src 'unsafe-inline'" not in csp, (what, csp)
    if "sandbox" not in csp:
        assert "script-src 'self';" in csp, (what, csp)
    expected = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff", "Cross-Origin-Opener-Policy": "same-origin",
                "Cross-Origin-Resource-Policy": "same-origin"}
    assert {k: headers.get(k) for k in expected} == expected, what
    assert headers.get("Cache-Control"), what


def routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path pattern) of every route of the dashboard's application."""
    app, _, _ = make_app(None, None, token="t", token_file=tmp_path / "ui-token",  # type: ignore[arg-type]
                         sessions=SessionStore(tmp_path / "s.json", "t"), port=1,
                         host="127.0.0.1", tls=False, allowed_hosts=(),
                         guard=ConnectionGuard(30.0))
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        out.add((route.method, info.get("path") or info.get("formatter") or ""))
    return out


def test_every_route_carries_every_security_header(dash: Dashboard, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "report.html").write_text("<script>alert(1)</script>")
    run = trackd.init(project="headers", settings={"console": "wrap"})
    run.save("notes.txt", policy="now")
    run.save("report.html", policy="now")
    print("console line")
    run.log({"loss": 1.0})
    run.finish()
    assets = Assets().url
    values = {"entity": run.entity, "project": "headers", "run_id": run.id, "sweep_id": "none",
              "name": "notes.txt", "type": "dataset", "selector": "v0", "path": "notes.txt"}
    walked: set[tuple[str, str]] = set()
    same = {"Origin": dash.base.rstrip("/")}
    for method, pattern in sorted(routes(tmp_path)):
        if pattern == "/static/{name}":
            paths = [assets["plotly"], assets["app.css"], "/static/none.js"]
        else:
            path = re.sub(r"\{(\w+)(:[^}]+)?\}", lambda m: values[m.group(1)], pattern)
            paths = [path + ("?runs=" + run.id if path.endswith("/compare") else "")]
        for path in paths:
            for logged_in in (True, False):
                status, headers, _ = dash.request(path, token="header" if logged_in else None,
                                                  method=method, headers=same, follow=False)
                what = f"{method} {path} ({'logged in' if logged_in else 'no login'}): {status}"
                check_headers(headers, what)
                assert logged_in or status in (200, 303, 401, 404), what
        walked.add((method, pattern))
    assert walked == routes(tmp_path)
    # Errors: 404s, a bad request, a method a route does not take, a refused Host, a file.
    dash.login()
    base = f"/api/v1/runs/{run.entity}/headers/{run.id}"
    for path, method, expect in (("/nobody/nothing/runs/x", "GET", 404),
                                 ("/api/v1/runs/a/b/c", "GET", 404),
                                 (base + "/series", "GET", 400), ("/api/v1/projects", "POST", 405),
                                 (base + "/files/report.html", "GET", 200),
                                 (base + "/files/output.log", "GET", 200)):
        status, headers, _ = dash.request(path, token=None, method=method, headers=same)
        assert status == expect, (path, status)
        check_headers(headers, f"{method} {path}: {status}")
    status, headers, _ = dash.request("/", headers={"Host": "evil.example"})
    assert status == 403
    check_headers(headers, "a foreign Host")


def test_user_content_is_labelled_so_it_cannot_run(dash: Dashboard, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    names = ["report.html", "chart.svg", "data.xml", "page.xhtml", "notes.txt", "plot.png",
             "weights.bin", "résumé \"final\".html"]
    run = trackd.init(project="labels")
    for name in names:
        (tmp_path / name).write_text("<html></html>")
        run.save(name, policy="now")
    run.finish()
    dash.login()
    got = {}
    for name in names:
        status, headers, _ = dash.request(
            f"/api/v1/runs/{run.entity}/labels/{run.id}/files/{quote(name)}", token=None)
        assert status == 200, name
        assert headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        got[name] = (headers["Content-Type"], headers["Content-Disposition"].split(";")[0])
    assert got == {
        "report.html": ("application/octet-stream", "attachment"),
        "chart.svg": ("application/octet-stream", "attachment"),
        "data.xml": ("application/octet-stream", "attachment"),
        "page.xhtml": ("application/octet-stream", "attachment"),
        "notes.txt": ("text/plain; charset=utf-8", "inline"),
        "plot.png": ("image/png", "inline"),
        "weights.bin": ("application/octet-stream", "attachment"),
        "résumé \"final\".html": ("application/octet-stream", "attachment"),
    }
    assert user_content.disposition('dir/résumé "final".html', False) == (
        "attachment; filename=\"r_sum_ _final_.html\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.html")


def raw_get(port: int, host: str | None, token: str) -> tuple[int, bytes]:
    """GET /api/v1/projects with exactly this Host header (None: none at all)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        lines = ["GET /api/v1/projects HTTP/1.1", f"Authorization: Bearer {token}",
                 "Connection: close"]
        if host is not None:
            lines.insert(1, f"Host: {host}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_a_foreign_host_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends its
    requests with that name in Host; they are refused, whatever else they carry."""
    with helpers.own_daemon(monkeypatch, {"TRACKD_UI_ALLOWED_HOSTS": "tracker.lan, Box.Local."}) as d:
        dash = Dashboard.of(d)
        port = dash.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}",
                     "127.0.0.2", f"tracker.lan:{port}", "box.local"):
            assert raw_get(port, host, dash.token)[0] == 200, host
        for host in (f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}",
                     "10.1.2.3", f"127.0.0.1.nip.io:{port}"):
            status, body = raw_get(port, host, dash.token)
            assert status == 403 and b"TRACKD_UI_ALLOWED_HOSTS" in body, host
        assert raw_get(port, None, dash.token)[0] == 400


def test_requests_that_change_state_must_come_from_the_dashboard(dash: Dashboard) -> None:
    session = dash.login()
    cookie = {"Cookie": f"{dash.cookie_name}={session}"}
    own = dash.base.rstrip("/")
    other_port = f"http://127.0.0.1:{dash.port + 1}"
    for path in ("/logout", "/api/v1/projects", "/login"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            for cross in ({"Origin": "http://evil.example"}, {"Origin": other_port},
                          {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                          {"Sec-Fetch-Site": "same-site"},  # another port of this host
                          {"Sec-Fetch-Site": "same-site", "Origin": own},
                          {}):  # a form of another site that sends neither: a cookie only
                status, _, body = dash.open(dash.base.rstrip("/") + path, method=method,
                                            headers={**cookie, **cross}, data=b"x=1",
                                            follow=False)
                assert status == 403 and b"did not come from this dashboard" in body, (
                    path, method, cross, status)
    assert _replay(dash, session) == 200  # the refused logouts ended nothing
    # From the dashboard's own pages, or from a program with the token.
    status, _, _ = dash.open(own + "/api/v1/projects", method="POST", data=b"{}",
                             headers={**cookie, "Sec-Fetch-Site": "same-origin"})
    assert status == 405  # let through, to a route that takes no POST
    status, _, _ = dash.open(own + "/api/v1/projects", method="POST", data=b"{}",
                             headers={"Authorization": f"Bearer {dash.token}"})
    assert status == 405
    status, _, _ = dash.open(own + "/logout", method="POST", headers={**cookie, "Origin": own},
                             follow=False)
    assert status == 303 and _replay(dash, session) == 401


def _replay(dash: Dashboard, session: str) -> int:
    return dash.open(dash.base, headers={"Cookie": f"{dash.cookie_name}={session}"})[0]


def test_off_loopback_the_dashboard_needs_tls_and_serves_https(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with helpers.own_daemon(monkeypatch, {"TRACKD_UI_HOST": "0.0.0.0"}) as d:
        assert "only with TLS" in d.log_text()
        from trackd._transport.connection import drop_connection, get_connection
        from trackd._transport.dashboard import _cache, dashboard

        _cache.clear()
        try:
            assert dashboard(get_connection(f"unix:{d.dirs.socket}")) is None  # none served
        finally:
            drop_connection()
    cert, key = _self_signed(tmp_path)
    with helpers.own_daemon(monkeypatch, {"TRACKD_UI_HOST": "0.0.0.0",
                                          "TRACKD_TLS_CERT": str(cert),
                                          "TRACKD_TLS_KEY": str(key)}) as d:
        dash = Dashboard.of(d)
        assert dash.base.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", dash.port, context=context, timeout=10)
        conn.request("GET", "/?" + dash.ticket_url("/").split("?", 1)[1])
        response = conn.getresponse()
        response.read()
        assert response.status == 303
        cookie = response.getheader("Set-Cookie") or ""
        assert "Secure" in cookie and "HttpOnly" in cookie  # sent over https only
        conn.request("GET", "/api/v1/projects", headers={"Authorization": f"Bearer {dash.token}"})
        assert conn.getresponse().status == 200
        plain = http.client.HTTPConnection("127.0.0.1", dash.port, timeout=5)
        try:
            plain.request("GET", "/")
            answered: int | None = plain.getresponse().status
        except (OSError, http.client.HTTPException):
            answered = None
        assert answered is None  # no plain http on that port
