"""Logging in to the dashboard in a real browser (issue 14, finding 3): the token (or a ticket)
leaves the address bar and is in no page; a link from another site opens the page logged in;
a notebook's iframe on another site shows the run with its one-time ticket, once."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import trackd
from tests.web.dash import Dashboard


class OtherSite:
    """A page served by another web server on this machine (another port, another name:
    ``localhost`` is another site than ``127.0.0.1``), as a notebook server or a chat is."""

    def __init__(self) -> None:
        self.html = ""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    yield site
    site.server.shutdown()
    site.server.server_close()


def finished_run(project: str) -> trackd.Run:
    run = trackd.init(project=project, config={"lr": 0.1})
    for i in range(50):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    return run


def test_the_token_leaves_the_address_bar_and_is_in_no_page(dash: Dashboard, page: Any) -> None:
    run = finished_run("browser-login")
    path = f"/{run.entity}/browser-login/runs/{run.id}"
    page.goto(f"{dash.base.rstrip('/')}{path}?token={dash.token}")  # a link made before tickets
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    assert page.url == dash.base.rstrip("/") + path
    assert dash.token not in page.content()
    assert dash.token not in page.evaluate("() => document.getElementById('page-data').textContent")
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly
    page.reload()  # the session cookie alone
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    page.goto(dash.ticket_url(path, x="_step"))  # what `trackd ui` opens
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    assert page.url == dash.base.rstrip("/") + path + "?x=_step"
    assert "ticket" not in page.content() and dash.token not in page.content()
    page.locator("#logout-button").click()
    page.wait_for_selector("#login-form")
    page.goto(dash.base.rstrip("/") + path)
    assert page.locator("#login-form").count() == 1  # logged out
    page.fill("#login-token", dash.token)  # the form logs in again, back to the page
    page.locator("#login-form button").click()
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    assert page.url == dash.base.rstrip("/") + path


def test_a_link_from_another_site_opens_the_page_logged_in(dash: Dashboard, page: Any,
                                                           other_site: OtherSite) -> None:
    """A SameSite=Strict cookie is not sent with a navigation from another site: the page
    that arrives without it reloads itself once, which sends it."""
    run = finished_run("browser-link")
    page.goto(dash.ticket_url("/"))
    other_site.html = f'<!doctype html><a id="go" href="{run.url}">the run</a>'
    page.goto(other_site.url)
    page.locator("#go").click()
    page.wait_for_selector('.chart[data-key="loss"][data-drawn="1"]')
    assert page.url == run.url


def test_a_notebook_view_on_another_site(dash: Dashboard, page: Any,
                                         other_site: OtherSite) -> None:
    run = finished_run("browser-notebook")
    other_site.html = f"<!doctype html><title>notebook</title>{run.to_html(height=600)}"
    page.goto(other_site.url)  # a browser never logged in to the dashboard
    frame = page.frame_locator("iframe")
    frame.locator('.chart[data-key="loss"]').scroll_into_view_if_needed()  # charts draw in view
    frame.locator('.chart[data-key="loss"][data-drawn="1"]').wait_for()
    assert frame.locator("#run-name").inner_text() == run.name
    page.reload()  # the saved output again: its ticket is spent
    frame.locator("#login-problem").wait_for()
    assert "used already" in frame.locator("#login-problem").inner_text()
    assert frame.locator("#login-form").count() == 0  # nothing to type into in another's frame
