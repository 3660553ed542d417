"""The footer printed when a run finishes: what W&B prints, and where to look next.

It shows the run's name, path and state, a sparkline per logged metric (each from the rows
where it has a value, see :mod:`trackd._run.footer_data`), the summary, the artifact versions the
run logged and used, the run's dashboard URL, counts of files and artifacts, and the CLI
command to see the run. On a terminal it is a rich table; otherwise plain ``trackd:`` lines
(for logs), in W&B's order ("Run history:", "Run summary:", "View run ... at: URL").

The name, path, metric names and summary values are user data: they are printed through
:func:`trackd._base.terminal.visible`, and handed to rich as ``Text``, never as markup (a run
named ``[link=...]`` or ``:smile:`` prints as it is written).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from trackd._base.terminal import visible

SPARKS = "▁▂▃▄▅▆▇█"
#: How many metrics the footer shows at most.
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
                 url: str | None = None, logged: Sequence[tuple[str, str]] = (),
                 used: Sequence[tuple[str, str]] = (), stream: TextIO | None = None) -> None:
    """Print the footer (``quiet``: the first line only). ``logged`` and ``used`` are the
    artifact versions as (``name:version``, type)."""
    out = stream or sys.stderr
    head = visible(f"Run {name or path} ({path}) {state}: {rows:,} history "
                   f"row{'s' * (rows != 1)}")
    look = visible(f"trackd sync {offline_dir}" if offline_dir else f"trackd runs show {path}")
    items = [(k, v) for k, v in summary.items() if not k.startswith("_")][:MAX_METRICS]
    history = {visible(k): v for k, v in history.items()}
    items = [(visible(k), v) for k, v in items]
    lines = _artifact_lines(logged, used)
    if url:
        lines.append(visible(f"View run {name or path} at: {url}"))
    if quiet:
        print(f"trackd: {head}", file=out)
        return
    if out.isatty():
        _rich(out, head, history, items, lines, _counts(files, media, artifacts), look)
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
    for line in lines:
        print(f"trackd: {line}", file=out)
    print(f"trackd: {_counts(files, media, artifacts)}. See it: {look}", file=out)


def _artifact_lines(logged: Sequence[tuple[str, str]],
                    used: Sequence[tuple[str, str]]) -> list[str]:
    """``Artifacts logged:`` and ``Artifacts used:`` with one indented line per version."""
    out: list[str] = []
    for title, versions in (("logged", logged), ("used", used)):
        if versions:
            out.append(f"Artifacts {title}:")
            out.extend(visible(f"  {name} ({kind})") for name, kind in versions)
    return out


def _counts(files: int, media: int, artifacts: int) -> str:
    """``Files: 2, media files: 30, artifacts: 1`` (media only when some were logged)."""
    return f"Files: {files}, " + (f"media files: {media}, " if media else "") + \
        f"artifacts: {artifacts}"


def _rich(out: TextIO, head: str, history: dict[str, list[float]],
          items: list[tuple[str, Any]], lines: list[str], counts: str, look: str) -> None:
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
    for line in lines:
        console.print(Text(line))
    console.print(Text.assemble(f"{counts}. See it: ",
                                (look, "cyan")))
