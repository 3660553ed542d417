"""Rendering for the CLI: aligned tables and one-cell text for stored values."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Sequence
from typing import Any, TextIO

#: Table cells longer than this are cut (a histogram or a long string would hide the rest).
MAX_CELL = 40


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[int] = (),
    indent: str = "",
    out: TextIO | None = None,
) -> None:
    """Print ``rows`` under ``headers`` in columns two spaces apart; the columns whose index
    is in ``right`` are right-aligned (numbers)."""
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    for row in (headers, *rows):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.write(indent + "  ".join(cells).rstrip() + "\n")


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text of a stored value; NaN and infinities stay (as ``NaN``/``Infinity``)."""
    separators = None if indent is not None else (",", ":")
    return json.dumps(value, indent=indent, allow_nan=True, ensure_ascii=False, default=str,
                      separators=separators)


def csv_cell(value: Any) -> str:
    """A value as one CSV field: floats exactly (``repr``: ``nan``, ``inf``), booleans as
    ``true``/``false``, missing as empty, lists and dicts as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    return to_json(value)


def table_cell(value: Any) -> str:
    """A value for a table: floats to 6 significant digits, long text cut."""
    text = _short_float(value) if isinstance(value, float) else csv_cell(value)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _short_float(value: float) -> str:
    """6 significant digits; large values such as timestamps keep every integer digit."""
    if math.isfinite(value) and 1e6 <= abs(value) < 1e15:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.6g}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
