"""Editing a run from its page in a real browser (``run_edit.js``): rename in place, notes,
tags added and removed as chips, a move to another project, a deletion after a confirmation
naming what goes; each read back through ``trackd.Api()``. A running run's Move and Delete say
why they wait, and come back when it ends. And the cross-site attack in a browser: a page of
another origin, opened while the user is logged in to the dashboard, posts forms and fetches
to the editing routes; nothing changes."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from trackd import Api


def _run(project: str, **init: Any) -> trackd.Run:
    rng = np.random.default_rng(1)
    with trackd.init(project=project, **init) as run:
        for i in range(3):
            run.log({"loss": 1.0 / (i + 1)})
        run.log({"sample": trackd.Image(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))})
    return run


def _page_path(run: trackd.Run, project: str | None = None) -> str:
    return f"/{run.entity}/{project or run.project}/runs/{run.id}"


def test_rename_notes_tags_move_and_delete_read_back_through_api(
        dash: Dashboard, page: Any, shot: Any) -> None:
    doomed = _run("browser-edit", name="before", tags=["a", "b"])
    mover = _run("browser-edit", name="mover")
    page.goto(dash.ticket_url(_page_path(doomed)))
    page.wait_for_selector("#run-actions:not([hidden])")
    assert page.locator("#edit-reason").inner_text() == ""  # a finished run: all may be done

    # Rename in place.
    page.locator("#rename-button").click()
    page.locator("#rename-input").fill("after")
    page.locator("#rename-input").press("Enter")
    page.wait_for_selector("#rename-input", state="detached")
    assert page.locator("#run-name").inner_text() == "after"
    assert page.locator("#crumb-run").inner_text() == "after"
    assert page.title().startswith("after ·")
    # Tags: one added, one removed.
    page.locator("#tag-input").fill("new-tag")
    page.locator("#tag-input").press("Enter")
    page.wait_for_selector('.chip[data-tag="new-tag"]')
    page.locator('.chip[data-tag="a"] .chip-remove').click()
    page.wait_for_selector('.chip[data-tag="a"]', state="detached")
    # Notes over two lines (set as text: markup stays text).
    page.locator("#notes-edit").click()
    page.locator("#notes-input").fill("line one\n<b>line two</b>")
    page.locator("#notes-save").click()
    page.wait_for_selector("#notes-text")
    assert page.locator("#notes-text").inner_text() == "line one\n<b>line two</b>"
    assert page.locator("#edit-status").inner_text() == ""
    shot(page, "run-editing")

    stored = Api().run(doomed.path)
    assert (stored.name, stored.tags, stored.notes) == ("after", ["b", "new-tag"],
                                                        "line one\n<b>line two</b>")
    page.reload()
    assert page.locator("#run-name").inner_text() == "after"
    chips = page.locator(".chip").evaluate_all("els => els.map(e => e.dataset.tag)")
    assert chips == ["b", "new-tag"]

    # A refused name says why and changes nothing.
    page.locator("#rename-button").click()
    page.locator("#rename-input").fill("x" * 300)
    page.locator("#rename-input").press("Enter")
    page.wait_for_selector("#edit-status.error")
    assert "name" in page.locator("#edit-status").inner_text()
    page.locator("#rename-input").press("Escape")
    assert page.locator("#run-name").inner_text() == "after"
    assert Api().run(doomed.path).name == "after"

    # Delete: the dialog says what goes; cancel first, then confirm.
    page.locator("#delete-button").click()
    page.wait_for_selector("#delete-dialog[open] #delete-media")
    assert "1 media file" in page.locator("#delete-media").inner_text()
    assert "4 rows" in page.locator("#delete-list").inner_text()
    assert page.locator("#delete-run-name").inner_text() == "after"
    shot(page, "run-delete-dialog")
    page.locator("#delete-cancel").click()
    page.wait_for_selector("#delete-dialog", state="hidden")
    assert Api().run(doomed.path).id == doomed.id
    page.locator("#delete-button").click()
    page.wait_for_selector("#delete-dialog[open] #delete-media")
    page.locator("#delete-confirm").click()
    page.wait_for_url(dash.base.rstrip("/") + f"/{doomed.entity}/browser-edit")
    with pytest.raises(trackd.errors.RunNotFoundError):
        Api().run(doomed.path)
    assert {r.id for r in Api().runs("browser-edit")} == {mover.id}
    page.wait_for_selector("tr.run-row")
    assert page.locator(f'tr.run-row[data-id="{doomed.id}"]').count() == 0

    # Move: asked for the project, then the run's new page.
    page.goto(dash.base.rstrip("/") + _page_path(mover))
    page.once("dialog", lambda d: d.accept("browser-moved"))
    page.locator("#move-button").click()
    page.wait_for_url(dash.base.rstrip("/") + _page_path(mover, "browser-moved"))
    assert page.locator("#run-name").inner_text() == "mover"
    moved = Api().run(f"{mover.entity}/browser-moved/{mover.id}")
    assert [r.get("loss") for r in moved.history(pandas=False)][:3] == [1.0, 0.5, 1.0 / 3]
    # Deleting the project's last run goes to the projects page.
    page.locator("#delete-button").click()
    page.wait_for_selector("#delete-dialog[open] #delete-media")
    page.locator("#delete-confirm").click()
    page.wait_for_url(dash.base)
    assert not list(Api().runs("browser-moved"))


def test_a_running_runs_move_and_delete_say_why_they_wait(dash: Dashboard, page: Any) -> None:
    run = trackd.init(project="browser-edit-live")
    try:
        run.log({"x": 1})
        page.goto(dash.ticket_url(_page_path(run)))
        page.wait_for_selector("#run-actions:not([hidden])")
        assert page.locator("#move-button").is_disabled()
        assert page.locator("#delete-button").is_disabled()
        reason = page.locator("#edit-reason").inner_text()
        assert "running" in reason and "finished" in reason
        assert "running" in (page.locator("#delete-button").get_attribute("title") or "")
        # A running run is renamed all the same.
        page.locator("#rename-button").click()
        page.locator("#rename-input").fill("live-renamed")
        page.locator("#rename-input").press("Enter")
        page.wait_for_selector("#rename-input", state="detached")
        assert Api().run(run.path).name == "live-renamed"
    finally:
        run.finish()
    # Its end reaches the page: Move and Delete are offered.
    page.wait_for_selector("#delete-button:not([disabled])")
    assert not page.locator("#move-button").is_disabled()
    assert page.locator("#edit-reason").inner_text() == ""


#: The attacker's page: once loaded, it posts the forms and fetches it is given (forms into
#: frames of its own, so each is sent), then says so in its title.
EVIL_PAGE = """<!doctype html><html><body>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<form id="rename" method="post" target="f1" action="{update}">
  <input name="name" value="pwned"><input name="tags" value="[]"></form>
<form id="move" method="post" target="f2" action="{move}">
  <input name="project" value="stolen"></form>
<form id="delete" method="post" target="f3" action="{delete}" enctype="text/plain">
  <input name='{{"runs": ["{run_id}"], "x": "' value='"}}'></form>
<script>
const sent = [];
for (const f of document.forms) f.submit();
const tries = [
  ["{update}", JSON.stringify({{name: "pwned-by-fetch"}})],
  ["{move}", JSON.stringify({{project: "stolen-by-fetch"}})],
  ["{delete}", JSON.stringify({{runs: ["{run_id}"]}})],
];
Promise.all(tries.map(([url, body]) => fetch(url, {{method: "POST", mode: "no-cors",
    credentials: "include", headers: {{"Content-Type": "text/plain"}}, body}})
  .then(() => sent.push(url), () => sent.push(url))))
  .then(() => setTimeout(() => {{ document.title = "sent " + sent.length; }}, 1500));
</script></body></html>"""


@pytest.fixture
def evil_site(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A web server of another origin (its own port) serving ``tmp_path/evil``."""
    root = tmp_path / "evil"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_page_of_another_origin_cannot_edit_the_run(
        clean_sdk: DaemonProcess, dash: Dashboard, page: Any,
        evil_site: tuple[Path, int]) -> None:
    run = _run("browser-csrf", name="original", tags=["t"])
    root, port = evil_site
    api = dash.base.rstrip("/") + f"/api/v1/runs/{run.entity}/browser-csrf/{run.id}"
    (root / "index.html").write_text(EVIL_PAGE.format(
        update=api + "/update", move=api + "/move", run_id=run.id,
        delete=dash.base.rstrip("/") + f"/api/v1/projects/{run.entity}/browser-csrf/runs/delete"))
    # The user is logged in to the dashboard: the browser holds its session cookie.
    page.goto(dash.ticket_url(_page_path(run)))
    page.wait_for_selector("#run-actions:not([hidden])")
    refused: list[tuple[str, int]] = []
    page.on("response", lambda r: refused.append((r.url, r.status))
            if "/api/v1/" in r.url and r.request.method == "POST" else None)
    # The same host on another port (same site, another origin), then another site's name.
    for host in ("127.0.0.1", "localhost"):
        refused.clear()
        page.goto(f"http://{host}:{port}/index.html")
        page.wait_for_function("document.title.startsWith('sent')")
        assert page.title() == "sent 3"
        forms = [status for url, status in refused]
        assert len(forms) >= 3 and set(forms) == {403}, refused
        stored = Api().run(run.path)
        assert (stored.name, stored.tags, stored.project) == ("original", ["t"], "browser-csrf")
    # The dashboard's own page still edits it.
    page.goto(dash.base.rstrip("/") + _page_path(run))
    page.locator("#rename-button").click()
    page.locator("#rename-input").fill("mine")
    page.locator("#rename-input").press("Enter")
    page.wait_for_selector("#rename-input", state="detached")
    assert Api().run(run.path).name == "mine"
