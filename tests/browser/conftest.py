"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``), headless, on the
loopback dashboard of the session's test daemon.

Chromium is a system package (``apt-get install chromium``; ``.ci/run`` installs it). Without it
these tests are skipped, saying so; with it they run. Screenshots of the main pages are kept in
``test-artifacts/browser/`` (``$TRACKD_TEST_ARTIFACTS`` to put them elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard

CHROMIUM = Path(os.environ.get("TRACKD_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("TRACKD_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "test-artifacts") / "browser"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
                ".ci/run installs it)", allow_module_level=True)


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    """The session daemon's dashboard, with a fresh SDK state."""
    return Dashboard.of(clean_sdk)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module: Playwright's sync API keeps an event loop of its own running
    while it is open, which must be gone before tests that run their own loops."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


#: Reports every Content-Security-Policy violation of a page on its console: the dashboard's
#: pages must run under their policy without one (plotly.js included).
CSP_PROBE = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  "CSP violation: " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber));"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.add_init_script(CSP_PROBE)
    pg.on("console", lambda m: errors.append(m.text) if m.text.startswith("CSP violation") else None)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    assert not errors, f"script errors or policy violations on the page: {errors}"


@pytest.fixture
def shot() -> Any:
    """shot(page, name): keep a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
