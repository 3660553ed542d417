"""``trackd.plot.line``, ``scatter``, ``bar``, ``histogram`` and ``line_series``: custom
charts of a table, with W&B's signatures and Vega specs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trackd.media.table import Table
from trackd.plot.custom_chart import CustomChart


def line(table: Table, x: str, y: str, stroke: str | None = None, title: str = "",
         split_table: bool = False) -> CustomChart:
    """A line chart of columns ``x`` and ``y`` (one line per value of ``stroke``)."""
    return CustomChart("wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke},
                       {"title": title}, split_table)


def scatter(table: Table, x: str, y: str, title: str = "",
            split_table: bool = False) -> CustomChart:
    """A scatter plot of columns ``x`` and ``y``."""
    return CustomChart("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title},
                       split_table)


def bar(table: Table, label: str, value: str, title: str = "",
        split_table: bool = False) -> CustomChart:
    """A bar chart: one bar per row, named by column ``label``, as long as column ``value``."""
    return CustomChart("wandb/bar/v0", table, {"label": label, "value": value},
                       {"title": title}, split_table)


def histogram(table: Table, value: str, title: str = "",
              split_table: bool = False) -> CustomChart:
    """A histogram of column ``value`` (binned when drawn)."""
    return CustomChart("wandb/histogram/v0", table, {"value": value}, {"title": title},
                       split_table)


def line_series(xs: Sequence[Any] | Sequence[Sequence[Any]], ys: Iterable[Iterable[Any]],
                keys: Iterable[str] | None = None, title: str = "", xname: str = "x",
                split_table: bool = False) -> CustomChart:
    """Several lines on one chart: ``ys[i]`` against ``xs`` (one x sequence for all, or one
    per line), named ``keys[i]`` (default ``key_0``, ``key_1``...).

    :raises ValueError: as many xs sequences as lines are needed, the names must be one per
        line, and each line as long as its xs.
    """
    lines = [_values(y) for y in ys]
    if not lines:
        raise ValueError("line_series: ys must hold at least one line")
    xs_list = _values(xs)
    if xs_list and all(isinstance(x, list) for x in xs_list):
        if len(xs_list) != len(lines):
            raise ValueError(f"line_series: {len(xs_list)} xs sequences for {len(lines)} lines")
        per_line = xs_list
    else:
        per_line = [xs_list] * len(lines)
    names = [f"key_{i}" for i in range(len(lines))] if keys is None else [str(k) for k in keys]
    if len(names) != len(lines):
        raise ValueError(f"line_series: {len(names)} keys for {len(lines)} lines")
    table = Table(columns=["step", "lineKey", "lineVal"])
    for name, x_values, y_values in zip(names, per_line, lines, strict=True):
        if len(x_values) != len(y_values):
            raise ValueError(f"line_series: line {name!r} has {len(y_values)} values for "
                             f"{len(x_values)} xs")
        for x, y in zip(x_values, y_values, strict=True):
            table.add_data(x, name, y)
    return CustomChart("wandb/lineseries/v0", table,
                       {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
                       {"title": title, "xname": xname}, split_table)


def _values(seq: Any) -> list[Any]:
    """``seq`` as a list (of lists, for nested sequences or arrays)."""
    if hasattr(seq, "tolist"):
        return seq.tolist()
    return [v.tolist() if hasattr(v, "tolist") else list(v) if isinstance(v, (list, tuple))
            else v for v in seq]
