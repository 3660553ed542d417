"""Responses that carry bytes a user logged — run files now, artifact files and media later:
the one place that decides what a browser may do with them.

Nothing a user logged may run script on the dashboard's origin, where it could call the API
with the viewer's session (on a shared daemon: the owner opening another user's
``report.html``). So:

- only types that cannot run script are shown in the browser: text-like files (by suffix;
  shown as ``text/plain``, whatever they contain), raster images (PNG, JPEG, GIF, WebP, BMP;
  not SVG, which is a script-capable document) and audio and video (what the media panels
  play: MP4, WebM, Ogg, WAV, MP3, FLAC). Everything else — HTML, SVG, XML, XHTML, PDF,
  unknown — is a download: ``Content-Disposition: attachment``, typed
  ``application/octet-stream``;
- every such response carries ``Content-Security-Policy: sandbox; default-src 'none'`` (a
  unique opaque origin, no script, nothing loaded; ``style-src 'unsafe-inline'`` only for the
  styles a browser's own image and text viewers apply) and ``frame-ancestors 'none'``,
  ``X-Content-Type-Options: nosniff`` (the declared type is final) and ``Cache-Control:
  no-store``; the file name is given RFC 6266 style (an ASCII fallback, and ``filename*`` in
  UTF-8).

Logged Html (``trackd.Html``) is the one exception, and only through its own route
(``media.py``): it is served as a page, with ``html_headers``' policy ``sandbox allow-scripts``
and no ``allow-same-origin``: its scripts run, in a unique opaque origin, which reads no cookie
of the dashboard's and whose requests to the dashboard carry none (nor may it make any:
``connect-src 'none'``); nothing is loaded from elsewhere, and only the dashboard may frame it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from urllib.parse import quote

from aiohttp import web

#: Shown as text: logs, code, configuration and data files.
TEXT_SUFFIXES = frozenset({
    ".log", ".txt", ".py", ".json", ".jsonl", ".yaml", ".yml", ".patch", ".diff", ".md",
    ".csv", ".tsv", ".toml", ".cfg", ".ini", ".sh", ".out", ".err",
})
#: Shown as images: raster formats, which run no script.
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp", ".bmp": "image/bmp"}
#: Played by the media panels: audio and video, which run no script.
AV_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg", ".ogg": "audio/ogg",
            ".oga": "audio/ogg", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac"}
#: Logged Html, shown as a page in its own sandbox by ``html_headers``.
HTML_SUFFIXES = frozenset({".html", ".htm"})
HTML_CSP = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' "
            "'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; media-src data: "
            "blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'; "
            "frame-ancestors 'self'")
CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def content_type(name: str) -> tuple[str, bool]:
    """The type a file is served as, and whether it is shown inline."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text/plain; charset=utf-8", True
    if suffix in IMAGE_TYPES:
        return IMAGE_TYPES[suffix], True
    if suffix in AV_TYPES:
        return AV_TYPES[suffix], True
    return "application/octet-stream", False


def disposition(name: str, inline: bool) -> str:
    """``Content-Disposition`` for a file of ``name`` (its base name): RFC 6266, with an ASCII
    fallback (anything else, quotes and backslashes as ``_``) and the exact name in
    ``filename*``."""
    base = name.rsplit("/", 1)[-1] or "file"
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in base)
    return (f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; "
            f"filename*=UTF-8''{quote(base, safe='')}")


def headers(name: str) -> dict[str, str]:
    """Every header a response carrying the user's file ``name`` needs (see the module doc)."""
    ctype, inline = content_type(name)
    return {"Content-Type": ctype, "Content-Disposition": disposition(name, inline),
            "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store"}


def html_headers(name: str) -> dict[str, str]:
    """The headers of logged Html shown as a page, in its sandbox (see the module doc);
    framed by the dashboard's own pages only."""
    return {"Content-Type": "text/html; charset=utf-8",
            "Content-Disposition": disposition(name, True), "Content-Security-Policy": HTML_CSP,
            "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store"}


async def send(request: web.Request, name: str, chunks: AsyncIterator[bytes],
               size: int | None = None, labels: dict[str, str] | None = None,
               ) -> web.StreamResponse:
    """Stream the user's file ``name`` (``size`` bytes, when known) to the browser, with
    ``labels`` for headers (by default :func:`headers` of the name)."""
    response = web.StreamResponse(headers=labels or headers(name))
    if size is not None:
        response.content_length = size
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
