"""The documentation site builds with ``mkdocs build --strict``, every internal link of the
built pages resolves (the file and, when it names one, the anchor), and the settings
reference names every ``TRACKD_*`` variable the code reads.

Skipped only where MkDocs is not installed (the ``docs`` extra; the ``test`` extra pulls it
in, so CI runs this).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from trackd import Settings

pytest.importorskip("mkdocs", reason="MkDocs is not installed (pip install '.[docs]')")
pytest.importorskip("material", reason="mkdocs-material is not installed (the docs extra)")
pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (the docs extra)")

ROOT = Path(__file__).resolve().parents[2]
CODE = (ROOT / "daemon" / "trackd_daemon", ROOT / "sdk" / "python" / "trackd")
VARIABLE = re.compile(r"\bTRACKD_[A-Z0-9_]*[A-Z0-9]\b")


class _Page(HTMLParser):
    """The ids a page defines and the links (href, src) it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link")) or (name == "src" and tag in
                                                               ("img", "script")):
                self.links.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out.resolve()


def _pages(site: Path) -> dict[Path, _Page]:
    pages = {}
    for path in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path] = page
    return pages


def test_every_internal_link_resolves(site: Path) -> None:
    pages = _pages(site)
    assert len(pages) >= 25, sorted(p.name for p in pages)
    broken = []
    checked = 0
    for path, page in pages.items():
        if path.name == "404.html":  # served from any depth: its links are absolute on purpose
            continue
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file() or site not in target.parents:
                broken.append(f"{path.relative_to(site)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in pages[target].ids:
                    broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    assert checked > 500
    assert not broken, "\n".join(broken)


def test_the_pages_hold_what_they_are_for(site: Path) -> None:
    python = (site / "reference" / "python.html").read_text(encoding="utf-8")
    for name in ("trackd.init", "trackd.Run", "trackd.Settings", "trackd.Api",
                 "trackd.Artifact", "define_metric", "scan_history"):
        assert name in python, name
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    for command in ("trackd runs ls", "trackd daemon run", "trackd sweep", "--limit"):
        assert command in cli, command
    http = (site / "reference" / "http.html").read_text(encoding="utf-8")
    assert "/api/v1/projects/{entity}/{project}/runs" in http
    service = (site / "guides" / "service.html").read_text(encoding="utf-8")
    assert "Running trackd as a system service" in service  # systemd/README.md, included


def _variables_in_code() -> set[str]:
    found: set[str] = set()
    for base in CODE:
        for path in base.rglob("*.py"):
            if "v1" in path.relative_to(base).parts[:1]:
                continue  # generated protobuf code
            found |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_settings_reference_names_every_variable(site: Path) -> None:
    page = (site / "reference" / "settings.html").read_text(encoding="utf-8")
    variables = _variables_in_code()
    assert {"TRACKD_ROOT", "TRACKD_STORE_URL", "TRACKD_UI_PORT", "TRACKD_LINGER"} <= variables
    missing = sorted(v for v in variables if v not in page)
    assert not missing, f"not in docs/reference/settings.md: {missing}"
    fields = [f.name for f in dataclasses.fields(Settings)]
    absent = [f for f in fields if f"<code>{f}</code>" not in page]
    assert not absent, absent
