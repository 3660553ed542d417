"""``trackd.Html``: an HTML page logged as a file in the run's media (``media/html/…html``).

The dashboard shows it in a sandboxed frame. With ``inject`` (the default, as in W&B) a
``<base target="_blank">`` (links open outside the frame) and a small stylesheet are put at
the start of its head; the stylesheet is inline, so the page needs nothing from elsewhere.
"""

from __future__ import annotations

import io
import os
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.inputs import file_path, read_file, read_stream
from trackd.media.sources import read_source

#: What ``inject=True`` adds at the start of the page's head.
INJECTED = ('<base target="_blank"><style>html{line-height:1.15;-webkit-text-size-adjust:100%}'
            "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
            "img,svg,video,canvas{max-width:100%}table{border-collapse:collapse}</style>")


class Html(Media):
    """An HTML page: a string of HTML, a path to an HTML file, or a file object.

    ``html`` is the page as stored (with the injected head when ``inject`` is true; a file
    logged with ``inject=False`` is stored byte for byte).

    :raises ValueError: ``data`` is neither a string nor a file object.
    """

    _log_type: ClassVar[str] = "html-file"
    _list_type: ClassVar[str | None] = "html"

    def __init__(self, data: Any, inject: bool = True) -> None:
        path = file_path(data)
        if isinstance(data, str) and not os.path.isfile(data):
            path = None  # a string that names no file is the HTML itself (as in W&B)
        if path is not None:
            raw = read_file(path, "Html")
        elif isinstance(data, str):
            raw = data.encode("utf-8")
        elif hasattr(data, "read"):
            raw = read_stream(data)
        else:
            raise ValueError("Html: data must be a string of HTML, a path or a file object "
                             f"(got {type(data).__name__})")
        if inject:
            self.html = inject_head(raw.decode("utf-8", errors="replace"))
            self._data = self.html.encode("utf-8")
        else:
            self.html = raw.decode("utf-8", errors="replace")
            self._data = raw

    def _raw_size(self) -> int:
        return len(self._data)

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        return {"_type": self._log_type, **out.put("html", "html", self._data)}

    @classmethod
    def _encode_list(cls, items: Any, out: MediaOut) -> Any:
        pages = [item._encode(out) for item in items]
        return {"_type": cls._list_type, "count": len(pages), "html": pages}

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps HTML files (W&B's layout)."""
        return "media/html"

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Html:
        """The Html again from its JSON dict as read back (its file as stored, nothing
        injected again), read through ``source`` (see
        :func:`~trackd.media.sources.read_source`)."""
        return cls(io.BytesIO(read_source(source, json["path"])), inject=False)

    def __repr__(self) -> str:
        return f"<trackd.Html {len(self._data)} bytes>"


def inject_head(html: str) -> str:
    """``html`` with :data:`INJECTED` at the start of its head (a head is made inside
    ``<html>`` when it has none; a fragment gets it in front)."""
    if "<head>" in html:
        before, after = html.split("<head>", 1)
        return f"{before}<head>{INJECTED}{after}".strip()
    if "<html>" in html:
        before, after = html.split("<html>", 1)
        return f"{before}<html><head>{INJECTED}</head>{after}".strip()
    return f"{INJECTED}{html}".strip()
