"""Static files: the dashboard's own scripts and styles (package data beside this module) and
plotly.js, the bundle that ships inside the ``plotly`` package (``plotly/package_data``), so
that nothing needs a JavaScript toolchain. URLs carry a content hash (plotly: its version), so
browsers may keep them for a long time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
CACHE_FOREVER = "private, max-age=31536000, immutable"


class AssetError(RuntimeError):
    """A file the dashboard serves is missing; the message says which and where it looked."""


@dataclass(frozen=True)
class Asset:
    path: Path
    url: str
    content_type: str


def plotly_bundle() -> Path:
    """plotly.min.js from the installed ``plotly`` package (found without importing it).

    :raises AssetError: plotly is not installed or has no bundle.
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise AssetError("the 'plotly' package is not installed; the dashboard draws its "
                         "charts with the plotly.js bundle it ships (pip install plotly)")
    for location in spec.submodule_search_locations:
        path = Path(location) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    raise AssetError(f"no package_data/plotly.min.js in the installed 'plotly' package "
                     f"({', '.join(spec.submodule_search_locations)})")


def _plotly_version(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(200).decode("ascii", "replace")
    m = re.search(r"plotly\.js v([\w.\-]+)", head)
    return m.group(1) if m else hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class Assets:
    """The served files by logical name (``plotly``, ``app.css``, ``run.js``, ...)."""

    def __init__(self) -> None:
        self._by_url: dict[str, Asset] = {}
        self.url: dict[str, str] = {}
        bundle = plotly_bundle()
        self._add("plotly", bundle, f"/static/plotly-{_plotly_version(bundle)}.min.js")
        for path in sorted(STATIC_DIR.iterdir()):
            if path.suffix in (".js", ".css"):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
                self._add(path.name, path, f"/static/{path.stem}-{digest}{path.suffix}")
        #: The media panels' scripts (``media_<kind>.js``), loaded after ``media.js``.
        self.media_scripts = sorted(n for n in self.url if n.startswith("media_")
                                    and n != "media_start.js")
        missing = {"app.css", "common.js", "runs.js", "run.js", "compare.js", "media.js",
                   "media_start.js"} - set(self.url)
        if missing:
            raise AssetError(f"dashboard files missing from {STATIC_DIR}: {sorted(missing)}")

    def _add(self, name: str, path: Path, url: str) -> None:
        kind = "text/css" if path.suffix == ".css" else "text/javascript"
        self._by_url[url] = Asset(path, url, kind)
        self.url[name] = url

    async def serve(self, request: web.Request) -> web.StreamResponse:
        asset = self._by_url.get(request.path)
        if asset is None:
            raise web.HTTPNotFound(text=f"no static file {request.path}")
        response = web.FileResponse(asset.path, headers={"Cache-Control": CACHE_FOREVER,
                                                         "Content-Type": asset.content_type})
        return response
