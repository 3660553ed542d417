"""The footer printed when a run finishes: what W&B prints, and where to look next.

It shows the run's name, path and state, a sparkline per logged metric (from history rows
sampled by the daemon), the summary, counts of files and artifacts, and the CLI command to see
the run. On a terminal it is a rich table; otherwise plain ``trackd:`` lines (for logs).

The name, path, metric names and summary values are user data: they are printed through
:func:`trackd._terminal.visible`, and handed to rich as ``Text``, never as markup (a run
named ``[link=...]`` or ``:smile:`` prints as it is written).
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from trackd._terminal import visible

SPARKS = "▁▂▃▄▅▆▇█"
#: Sampled rows per sparkline, and how many metrics the footer shows at most.
SAMPLES = 40
MAX_METRICS = 20


def sparkline(values: list[float]) -> str:
    """A one-line chart of ``values`` (NaN and infinities are left out)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo
    return "".join(
        SPARKS[min(len(SPARKS) - 1, int((v - lo) / span * len(SPARKS))) if span else 3]
        for v in finite
    )


def series(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Numeric top-level metrics (not ``_``-prefixed) of sampled rows, in first-seen order."""
    out: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            if k.startswith("_") or type(v) not in (int, float):
                continue
            if k not in out and len(out) >= MAX_METRICS:
                continue
            out.setdefault(k, []).append(float(v))
    return out


def _fmt(value: Any) -> str:
    """A summary value in one short line, escaped for the terminal."""
    return visible(_short(value))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        if "_type" in value:
            return f"<{value['_type']}>"
        return " ".join(f"{k}={_short(v)}" for k, v in value.items())
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def print_footer(*, name: str | None, path: str, state: str, rows: int, summary: dict[str, Any],
                 history: dict[str, list[float]], files: int = 0, artifacts: int = 0,
                 media: int = 0, offline_dir: str | None = None, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
    """Print the footer (``quiet``: the first line only)."""
    out = stream or sys.stderr
    head = visible(f"Run {name or path} ({path}) {state}: {rows:,} history "
                   f"row{'s' * (rows != 1)}")
    look = visible(f"trackd sync {offline_dir}" if offline_dir else f"trackd runs show {path}")
    items = [(k, v) for k, v in summary.items() if not k.startswith("_")][:MAX_METRICS]
    history = {visible(k): v for k, v in history.items()}
    items = [(visible(k), v) for k, v in items]
    if quiet:
        print(f"trackd: {head}", file=out)
        return
    if out.isatty():
        _rich(out, head, history, items, _counts(files, media, artifacts), look)
        return
    print(f"trackd: {head}", file=out)
    if history:
        print("trackd: Run history:", file=out)
        width = max(len(k) for k in history)
        for k, values in history.items():
            print(f"trackd:   {k:<{width}} {sparkline(values)}", file=out)
    if items:
        print("trackd: Run summary:", file=out)
        width = max(len(k) for k, _ in items)
        for k, v in items:
            print(f"trackd:   {k:<{width}} {_fmt(v)}", file=out)
    print(f"trackd: {_counts(files, media, artifacts)}. See it: {look}", file=out)


def _counts(files: int, media: int, artifacts: int) -> str:
    """``Files: 2, media files: 30, artifacts: 1`` (media only when some were logged)."""
    return f"Files: {files}, " + (f"media files: {media}, " if media else "") + \
        f"artifacts: {artifacts}"


def _rich(out: TextIO, head: str, history: dict[str, list[float]],
          items: list[tuple[str, Any]], counts: str, look: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text cells, and no markup or emoji codes even in the fixed parts: nothing user-written
    # is ever parsed by rich.
    console = Console(file=out, highlight=False, markup=False, emoji=False)
    console.print(Text.assemble(("trackd:", "bold"), " ", head))
    if history or items:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("metric")
        table.add_column("history")
        table.add_column("summary", overflow="fold")
        keys = list(dict.fromkeys([*history, *(k for k, _ in items)]))[:MAX_METRICS]
        summary = dict(items)
        for k in keys:
            table.add_row(Text(k), Text(sparkline(history.get(k, []))),
                          Text(_fmt(summary[k]) if k in summary else ""))
        console.print(table)
    console.print(Text.assemble(f"{counts}. See it: ",
                                (look, "cyan")))
