"""A run's saved files opened from the dashboard's Files tab run no script on its origin
(issue 14, finding 2): a saved HTML, SVG, XML or XHTML page whose script would read the
session cookie and call the API is downloaded, never shown; text is shown as text, raster
images as images, and nothing of either runs.

The browser context exposes ``pwned`` to every page and frame it opens: a payload that ran
anywhere would call it."""

from __future__ import annotations

import contextlib
import struct
import zlib
from pathlib import Path
from typing import Any

import trackd
from tests.web.dash import Dashboard

#: What every payload does once it runs: report the cookie it can read and the API's answer.
STEAL = ("pwned('ran: ' + document.cookie); fetch('/api/v1/projects').then((r) => r.text())"
         ".then((t) => pwned('api: ' + t), (e) => pwned('api error: ' + e))")
PAYLOADS = {
    "report.html": f"<!doctype html><title>report</title><p>results</p><script>{STEAL}</script>",
    "page.htm": f"<html><body><img src=x onerror=\"{STEAL}\"><script>{STEAL}</script></body></html>",
    "chart.svg": ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
                  f'onload="{STEAL}"><script>{STEAL}</script></svg>'),
    "data.xml": ('<?xml version="1.0"?><root><script xmlns="http://www.w3.org/1999/xhtml">'
                 f"{STEAL}</script></root>"),
    "page.xhtml": ('<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head>'
                   f"<body><script>{STEAL}</script></body></html>"),
    "notes.txt": f"<html><body><script>{STEAL}</script></body></html>",
}


def tiny_png() -> bytes:
    """A 2x2 red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def shown_now(popup: Any) -> bool:
    """Whether a popup shows a document of the dashboard (rather than becoming a download)."""
    if popup.is_closed() or not popup.url.startswith("http"):
        return False
    try:
        return popup.evaluate("() => document.readyState") == "complete"
    except Exception:  # noqa: BLE001 - navigating (or closing for a download) meanwhile
        return False


def test_saved_pages_opened_from_the_files_tab_run_no_script(
        dash: Dashboard, page: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="browser-xss", name="xss-run")
    for name, text in PAYLOADS.items():
        (tmp_path / name).write_text(text)
        run.save(name, policy="now")
    (tmp_path / "plot.png").write_bytes(tiny_png())
    run.save("plot.png", policy="now")
    run.finish()

    calls: list[str] = []
    page.context.expose_binding("pwned", lambda source, what: calls.append(str(what)))
    page.goto(dash.ticket_url(f"/{run.entity}/browser-xss/runs/{run.id}"))
    page.locator('#run-tabs .tab[data-tab="files-tab"]').click()
    page.wait_for_selector('#files-table tr[data-name="report.html"]')
    hrefs = page.locator("#files-table a").evaluate_all("as => as.map(a => a.href)")
    assert hrefs and not any("token" in h or "ticket" in h for h in hrefs)  # no credential

    started: dict[str, Any] = {}  # downloads by file name (Chromium reports them on the opener)
    page.on("download", lambda d: started.setdefault(d.suggested_filename, d))
    downloads: dict[str, bytes] = {}
    shown: dict[str, Any] = {}
    for name in [*PAYLOADS, "plot.png"]:
        with page.expect_popup() as popup_info:
            page.locator(f'#files-table tr[data-name="{name}"] a').click()
        popup = popup_info.value
        for _ in range(100):
            if name in started:
                downloads[name] = Path(started[name].path()).read_bytes()
                break
            if shown_now(popup):
                shown[name] = popup
                break
            page.wait_for_timeout(100)
        else:
            raise AssertionError(f"{name}: neither downloaded nor shown")
    page.wait_for_timeout(1500)  # time for any script that did run to report
    assert calls == [], f"a saved file ran script on the dashboard's origin: {calls}"

    # The pages were downloaded (intact), not shown.
    for name in ("report.html", "page.htm", "chart.svg", "data.xml", "page.xhtml"):
        assert downloads.get(name) == PAYLOADS[name].encode(), name
    # Text is shown as text: the markup is there to read, and ran nothing.
    text = shown["notes.txt"]
    assert text.evaluate("() => document.body.innerText") == PAYLOADS["notes.txt"]
    # A raster image is shown as one.
    image = shown["plot.png"]
    assert image.evaluate("() => document.images[0] && document.images[0].naturalWidth") == 2


def test_a_saved_page_opened_directly_runs_no_script(dash: Dashboard, page: Any,
                                                      tmp_path: Path, monkeypatch: Any) -> None:
    """The same file's URL typed into the address bar (a top-level navigation, no Files tab):
    a download, and nothing runs."""
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="browser-xss", name="direct-run")
    (tmp_path / "report.html").write_text(PAYLOADS["report.html"])
    run.save("report.html", policy="now")
    run.finish()
    calls: list[str] = []
    page.context.expose_binding("pwned", lambda source, what: calls.append(str(what)))
    page.goto(dash.ticket_url("/"))  # logged in
    url = f"{dash.base}api/v1/runs/{run.entity}/browser-xss/{run.id}/files/report.html"
    other = page.context.new_page()
    downloads: list[Any] = []
    other.on("download", lambda d: downloads.append(d))
    with contextlib.suppress(Exception):  # Playwright: "Download is starting"
        other.goto(url)
    page.wait_for_timeout(1500)
    assert calls == [], f"a saved file ran script on the dashboard's origin: {calls}"
    assert [d.suggested_filename for d in downloads] == ["report.html"]
