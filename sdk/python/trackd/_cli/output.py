"""Rendering for the CLI: aligned tables and one-cell text for stored values.

Every table cell and header goes through :func:`trackd._base.terminal.visible`: what the tables
show is user data (see that module for why and how it is escaped). JSON output is exact and
still safe for a terminal (:func:`to_json`); CSV is exact unless written to a terminal
(:func:`csv_line`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TextIO, TypeVar

from trackd._base.terminal import json_escapes, visible

T = TypeVar("T")

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
    is in ``right`` are right-aligned (numbers). Cells are escaped for the terminal here
    (escaping twice changes nothing), so no caller can forget it."""
    out = out or sys.stdout
    headers = [visible(h) for h in headers]
    rows = [[visible(cell) for cell in row] for row in rows]
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
    """JSON text of a stored value; NaN and infinities stay (as ``NaN``/``Infinity``).

    Non-ASCII text stays readable, except the characters that could act on a terminal or
    hide text, which are written as ``\\u`` escapes: the output is exact for a JSON reader and
    safe to print."""
    separators = None if indent is not None else (",", ":")
    return json_escapes(json.dumps(value, indent=indent, allow_nan=True, ensure_ascii=False,
                                   default=str, separators=separators))


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


#: A CSV field with one of these is quoted (RFC 4180). Python's csv module would leave a lone
#: CR unquoted when lines end in LF, and a reader then splits the record there.
_CSV_QUOTED = re.compile(r'[,"\r\n]')


def csv_line(cells: Sequence[str], *, to_terminal: bool) -> str:
    """One CSV record, LF-terminated. The fields are exact, unless they go to a terminal,
    where a person reads them and control characters would act on the terminal: there they
    are escaped as in tables (``ls`` makes the same choice for file names)."""
    fields = [visible(c) for c in cells] if to_terminal else cells
    quoted = ['"' + f.replace('"', '""') + '"' if _CSV_QUOTED.search(f) else f for f in fields]
    if quoted == [""]:
        quoted = ['""']  # a record of one empty field would read as an empty line
    return ",".join(quoted) + "\n"


def table_cell(value: Any) -> str:
    """A value for a table: floats to 6 significant digits, long text cut, and escaped
    before it is cut (a line feed shows as ``\\n``: one row stays one line)."""
    text = _short_float(value) if isinstance(value, float) else csv_cell(value)
    text = visible(text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _short_float(value: float) -> str:
    """6 significant digits; large values such as timestamps keep every integer digit."""
    if math.isfinite(value) and 1e6 <= abs(value) < 1e15:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.6g}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def add_list_options(parser: argparse.ArgumentParser, *, default_limit: int | None) -> None:
    """``--json`` and ``--limit N``, which every listing command takes (for scripts)."""
    parser.add_argument("--json", action="store_true",
                        help="print a JSON array (one object per row) instead of a table")
    parser.add_argument("--limit", type=_positive, default=default_limit, metavar="N",
                        help="list at most N" + (f" (default {default_limit})"
                                                 if default_limit else " (default: all)"))


def limited(items: Iterable[T], limit: int | None) -> list[T]:
    """The first ``limit`` of ``items`` (all when ``limit`` is None), reading no further."""
    return list(items if limit is None else itertools.islice(items, limit))


def print_json_rows(rows: Sequence[dict[str, Any]]) -> None:
    """A listing as JSON: an array of objects, one per line, exact and safe for a terminal."""
    sys.stdout.write("[" + ",\n ".join(to_json(row) for row in rows) + "]\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
