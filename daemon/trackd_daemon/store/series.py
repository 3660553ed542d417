"""Metric series for charts: which history values are chartable, and server-side downsampling.

A *series* is one numeric key of a run's history as (step, value) points in step order. Nested
dict values are reached by dotted keys (``{"a": {"b": 1}}`` is the series ``a.b``); media and
other typed values (dicts with ``_type``), text, booleans and ``None`` are not chartable. The
step itself (``_step``) is every row's x value, not a series; ``_runtime`` and ``_timestamp``
are series like any other, so that charts can use them as x axes.

Downsampling keeps what a chart must show: the points of a range are split into at most
``buckets`` buckets of equal width along the x axis, and each bucket keeps its minimum, maximum
and last value, so a spike anywhere in a million points is still drawn. A range that holds no
more points than ``buckets`` comes back whole (full resolution), which is what zooming in relies
on. Every backend answers ``downsample_history`` with :func:`bucketize`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trackd_daemon.errors import InvalidArgumentError

# NumPy is imported by the functions that use it, for charts: a daemon that only takes
# history never loads it (some 10 MiB of its memory, which is measured against W&B's).
if TYPE_CHECKING:
    import numpy as np

    Loader = Callable[[str], tuple[np.ndarray, np.ndarray]]

#: The x axis that needs no series of its own.
STEP = "_step"
#: Bounds of a downsampling request's bucket count.
MIN_BUCKETS, MAX_BUCKETS = 2, 10_000


@dataclass(frozen=True)
class Series:
    """One metric over a range of the x axis: per bucket (or per point, when ``sampled`` is
    False) the x of the bucket's last point, the last value, the minimum, the maximum and how
    many points the bucket holds. Non-finite values (NaN, infinities) are ``None``."""

    key: str
    x: list[float]
    last: list[float | None]
    min: list[float | None]
    max: list[float | None]
    count: list[int]
    #: Points of the key in the requested range (before bucketing).
    total: int
    #: True when buckets hold several points (the range had more points than buckets).
    sampled: bool

    @classmethod
    def empty(cls, key: str) -> Series:
        return cls(key, [], [], [], [], [], 0, False)


def numeric_items(row: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """The chartable values of a history row as (dotted key, float); ``_step`` excluded."""
    for k, v in row.items():
        t = type(v)
        if t is float or t is int:
            if prefix or k != STEP:
                yield prefix + k, float(v)
        elif t is dict and "_type" not in v:
            yield from numeric_items(v, f"{prefix}{k}.")


_NUMBER_TYPES = frozenset((int, float))


def columnize(rows: Sequence[tuple[int, Mapping[str, Any]]]) -> dict[str, tuple[np.ndarray,
                                                                                  np.ndarray]]:
    """The chartable values of ``rows`` (step order) as (steps int64, values float64) arrays per
    key, in step order: what :func:`numeric_items` yields row by row, computed column-wise.
    Rows with the same keys are transposed at once, so a column of plain numbers costs no
    Python work per value."""
    import numpy as np

    groups: dict[tuple[str, ...], list[int]] = {}
    for i, (_, row) in enumerate(rows):
        groups.setdefault(tuple(row), []).append(i)
    parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def add(key: str, steps: np.ndarray, values: np.ndarray) -> None:
        got = parts.setdefault(key, ([], []))
        got[0].append(steps)
        got[1].append(values)

    for keys, members in groups.items():
        steps = np.fromiter((rows[i][0] for i in members), dtype=np.int64, count=len(members))
        columns = zip(*(rows[i][1].values() for i in members), strict=True)
        for key, column in zip(keys, columns, strict=True):
            if key == STEP:
                continue
            if set(map(type, column)) <= _NUMBER_TYPES:
                add(key, steps, np.asarray(column, dtype=np.float64))
                continue
            # Text, None, booleans, media, nested dicts: value by value.
            found: dict[str, tuple[list[int], list[float]]] = {}
            for step, v in zip(steps.tolist(), column, strict=True):
                for k, x in numeric_items({key: v}):
                    pair = found.setdefault(k, ([], []))
                    pair[0].append(step)
                    pair[1].append(x)
            for k, (ks, kv) in found.items():
                add(k, np.asarray(ks, dtype=np.int64), np.asarray(kv, dtype=np.float64))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, (step_parts, value_parts) in parts.items():
        if len(step_parts) == 1:
            out[key] = (step_parts[0], value_parts[0])
            continue
        key_steps, values = np.concatenate(step_parts), np.concatenate(value_parts)
        order = np.argsort(key_steps, kind="stable")  # filled from several groups
        out[key] = (key_steps[order], values[order])
    return out


def check_buckets(buckets: int) -> None:
    """:raises InvalidArgumentError: ``buckets`` is out of bounds."""
    if not MIN_BUCKETS <= buckets <= MAX_BUCKETS:
        raise InvalidArgumentError(
            f"buckets must be between {MIN_BUCKETS} and {MAX_BUCKETS}, got {buckets}")


def align(steps: np.ndarray, x_steps: np.ndarray, x_values: np.ndarray) -> tuple[np.ndarray,
                                                                                   np.ndarray]:
    """For each of ``steps`` (sorted), the x value logged at the same step; returns the mask of
    the steps that have one and those x values. Both inputs are in step order."""
    import numpy as np

    if len(x_steps) == 0:
        return np.zeros(len(steps), dtype=bool), np.empty(0)
    idx = np.searchsorted(x_steps, steps)
    idx_clipped = np.minimum(idx, len(x_steps) - 1)
    found = (idx < len(x_steps)) & (x_steps[idx_clipped] == steps)
    return found, x_values[idx_clipped[found]]


def bucketize(key: str, xs: np.ndarray, ys: np.ndarray, x_min: float | None,
              x_max: float | None, buckets: int) -> Series:
    """Downsample the points (``xs[i]``, ``ys[i]``), given in step order, to at most
    ``buckets`` buckets over ``[x_min, x_max]`` (inclusive; None: unbounded)."""
    import numpy as np

    check_buckets(buckets)
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    keep = np.isfinite(xs)
    if not keep.all():
        xs, ys = xs[keep], ys[keep]
    if len(xs) > 1 and not bool(np.all(xs[1:] >= xs[:-1])):
        # An x axis that goes back (a step metric that was reset): order by x, ties by step.
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    lo = 0 if x_min is None else int(np.searchsorted(xs, x_min, side="left"))
    hi = len(xs) if x_max is None else int(np.searchsorted(xs, x_max, side="right"))
    xs, ys = xs[lo:hi], ys[lo:hi]
    n = len(xs)
    if n == 0:
        return Series.empty(key)
    if n <= buckets:
        values = _json_floats(ys)
        return Series(key, xs.tolist(), values, values, values, [1] * n, n, False)
    first, last = float(xs[0]), float(xs[-1])
    if first == last:
        starts = np.array([0])
    else:
        edges = np.linspace(first, last, buckets + 1)[1:-1]
        bounds = np.concatenate(([0], np.searchsorted(xs, edges, side="left")))
        starts = np.unique(bounds)  # drops empty buckets
    ends = np.append(starts[1:], n)
    with np.errstate(invalid="ignore"):
        mins = np.fmin.reduceat(ys, starts)
        maxs = np.fmax.reduceat(ys, starts)
    return Series(
        key, xs[ends - 1].tolist(), _json_floats(ys[ends - 1]), _json_floats(mins),
        _json_floats(maxs), (ends - starts).tolist(), n, True,
    )


def _json_floats(a: np.ndarray) -> list[float | None]:
    """Floats for JSON: NaN and infinities become None."""
    import numpy as np

    if bool(np.isfinite(a).all()):
        return a.tolist()  # type: ignore[no-any-return]
    return [v if math.isfinite(v) else None for v in a.tolist()]


def downsample(load: Loader, keys: Sequence[str], x_key: str, x_min: float | None,
               x_max: float | None, buckets: int) -> dict[str, Series]:
    """Each of ``keys`` against ``x_key``, bucketed; ``load(key)`` gives a key's (steps,
    values) in step order. A point whose step has no ``x_key`` value is left out (W&B plots a
    metric against a step metric only where both were logged); an ``x_key`` the run never
    logged gives empty series.

    :raises InvalidArgumentError: an empty key or x key, or ``buckets`` out of bounds.
    """
    import numpy as np

    check_buckets(buckets)
    if not x_key or any(not k for k in keys):
        raise InvalidArgumentError("series keys and the x axis key must be non-empty")
    x_steps = x_values = None
    if x_key != STEP:
        x_steps, x_values = load(x_key)
    out: dict[str, Series] = {}
    for key in dict.fromkeys(keys):
        steps, values = load(key)
        if x_steps is None or x_values is None:
            xs = steps.astype(np.float64)
        else:
            found, xs = align(steps, x_steps, x_values)
            values = values[found]
        out[key] = bucketize(key, xs, values, x_min, x_max, buckets)
    return out
