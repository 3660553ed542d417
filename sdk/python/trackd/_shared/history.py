"""History semantics of one run: step/commit rules, rows, the summary and define_metric.

:class:`RunHistory` is a pure state machine fed with decoded records, in sequence order. The
daemon's history actor runs one per run; an offline run in the SDK runs one locally so that
``run.summary`` reads the same values. Replaying a run's records from the start rebuilds the
same state (``_runtime`` is derived from client timestamps, never from the clock), which is what
makes crash recovery exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SUMMARY_OPS = ("min", "max", "mean", "last", "first", "best", "none", "copy")
GOALS = ("minimize", "maximize")

BACKWARDS_STEP = (
    "Tried to log to step {step} that is less than the current step {current}. Steps must be "
    "monotonically increasing, so this data will be ignored."
)

Path = tuple[str, ...]


def split_metric_name(name: str) -> Path:
    """Split a dotted metric name into a key path; ``\\.`` is a literal dot."""
    parts = re.split(r"(?<!\\)\.", name)
    return tuple(p.replace("\\.", ".") for p in parts)


@dataclass(frozen=True)
class MetricDef:
    """A define_metric definition (``name`` may end with ``*``: a prefix glob)."""

    name: str
    step_metric: str = ""
    step_sync: bool = False
    hidden: bool = False
    summary: tuple[str, ...] = ()
    goal: str = ""  # "", "minimize" or "maximize"

    def merged(self, newer: MetricDef) -> MetricDef:
        """Merge a later definition into this one (define_metric without overwrite)."""
        return MetricDef(
            name=self.name,
            step_metric=newer.step_metric or self.step_metric,
            step_sync=self.step_sync or newer.step_sync,
            hidden=self.hidden or newer.hidden,
            summary=tuple(dict.fromkeys(self.summary + newer.summary)),
            goal=newer.goal or self.goal,
        )


@dataclass
class _Agg:
    """Running aggregation of one summarised metric."""

    ops: tuple[str, ...]
    goal: str
    count: int = 0
    total: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    first: Any = None
    last: Any = None
    seen: bool = False

    def add(self, v: Any) -> dict[str, Any] | None:
        if not self.seen:
            self.first, self.seen = v, True
        self.last = v
        numeric = type(v) in (int, float)
        if numeric and not (isinstance(v, float) and math.isnan(v)):
            self.count += 1
            self.total += v
            self.min = min(self.min, v)
            self.max = max(self.max, v)
        if "none" in self.ops:
            return None
        out: dict[str, Any] = {}
        for op in self.ops:
            if op == "min" and self.count:
                out["min"] = self.min
            elif op == "max" and self.count:
                out["max"] = self.max
            elif op == "mean" and self.count:
                out["mean"] = self.total / self.count
            elif op == "last":
                out["last"] = self.last
            elif op == "first":
                out["first"] = self.first
            elif op == "best" and self.count:
                out["best"] = self.max if self.goal == "maximize" else self.min
        return out


@dataclass
class RunHistory:
    """The history state of one run. Feed records with the ``on_*`` methods; collect the rows
    written so far with :meth:`take_rows`."""

    start_time: float = 0.0
    current_step: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricDef] = field(default_factory=dict)
    rows_written: int = 0
    last_step: int = -1
    _pending: dict[str, Any] | None = None
    _pending_ts: float = 0.0
    _rows: list[tuple[int, dict[str, Any] | bytes]] = field(default_factory=list)
    _aggs: dict[Path, _Agg] = field(default_factory=dict)
    _explicit: set[Path] = field(default_factory=set)
    _resolved: dict[Path, MetricDef | None] = field(default_factory=dict)
    _step_values: dict[str, Any] = field(default_factory=dict)
    summary_dirty: bool = False
    #: When a set (the daemon's state of a shared run): the top-level summary keys changed
    #: (set or removed) since the caller last emptied it.
    summary_changes: set[str] | None = None

    # -- records -------------------------------------------------------------------------------

    def on_history(
        self, data: Mapping[str, Any], step: int | None, commit: bool | None, timestamp: float
    ) -> str | None:
        """Apply one ``log()``; returns a notice for the user when the data was dropped.

        ``data`` must be a dict the caller no longer uses: it becomes the row (no copy is made,
        which matters for wide rows)."""
        if step is not None:
            if step < self.current_step:
                return BACKWARDS_STEP.format(step=step, current=self.current_step)
            if step > self.current_step:
                self._flush()
                self.current_step = step
        if self._pending is None:
            self._pending = data  # type: ignore[assignment]  # owned: see on_history's doc
        else:
            self._pending.update(data)
        self._pending_ts = timestamp
        if commit or (commit is None and step is None):
            self._flush()
        return None

    def on_rows(self, rows: list[tuple[dict[str, Any], float]]) -> None:
        """``on_history(data, None, None, timestamp)`` for each ``(data, timestamp)`` of
        ``rows``, in order: the same rows, steps and summary, in one loop where the summary is
        plain (no metric definitions, no explicit summary values, not a shared run's), which is
        the path of most rows (a ``log()`` without step or commit)."""
        if not self.plain_summary or not rows:
            for data, timestamp in rows:
                self.on_history(data, None, None, timestamp)
            return
        if self._pending is not None:  # a partial row (commit=False) takes the first
            data, timestamp = rows[0]
            self.on_history(data, None, None, timestamp)
            rows = rows[1:]
        summary = self.summary
        out = self._rows
        start = self.start_time
        step = self.current_step
        written = 0
        ts = self._pending_ts
        for data, ts in rows:
            this = step
            step += 1
            if not data:
                continue  # an empty row only advances the step
            stamp = data.get("_timestamp", ts)
            if type(stamp) not in (int, float):
                stamp = ts
            data["_step"] = this
            data["_runtime"] = max(0.0, float(stamp) - start)
            data["_timestamp"] = stamp
            out.append((this, data))
            written += 1
            if dict in map(type, data.values()):
                self._update_summary(data)  # nested values merge into the summary
            else:
                summary.update(data)
        self._pending_ts = ts
        self.current_step = step
        if written:
            self.rows_written += written
            self.last_step = out[-1][0]
            self.summary_dirty = True

    @property
    def plain_summary(self) -> bool:
        """True while a row's summary is its values (no metric definitions, no explicit
        summary values, not a shared run's): what :meth:`add_encoded_rows` needs."""
        return not (self.metrics or self._explicit or self.summary_changes is not None)

    def add_encoded_rows(self, rows: list[tuple[int, bytes]], values: list[dict[str, Any]],
                         timestamp: float) -> None:
        """Rows of plain values the caller encoded for storage itself (the daemon's rows
        that stay packed), at the steps from ``current_step`` on, ``_step``, ``_runtime``
        and ``_timestamp`` included: what :meth:`on_rows` does for rows without step or
        commit. ``values`` updates the summary, in order: each row as on_rows makes it (its
        values and the three keys added), or only the last of each run of rows with the same
        keys; ``timestamp`` is the last row's. Only while :attr:`plain_summary` and with no
        partial row pending."""
        if not rows:
            return
        summary = self.summary
        for v in values:
            summary.update(v)
        self._rows.extend(rows)
        self.current_step = rows[-1][0] + 1
        self.rows_written += len(rows)
        self.last_step = rows[-1][0]
        self._pending_ts = timestamp
        self.summary_dirty = True

    def on_summary(self, updates: list[tuple[Path, Any]], removes: list[Path]) -> None:
        """Apply explicit summary changes; an explicit value ends that key's aggregation."""
        for path, value in updates:
            _set_path(self.summary, path, value)
            self._explicit.add(path)
            self._aggs.pop(path, None)
        for path in removes:
            _del_path(self.summary, path)
        self.summary_dirty = True
        if self.summary_changes is not None:
            self.summary_changes.update(p[0] for p in (*[u[0] for u in updates], *removes) if p)

    def on_metric(self, definition: MetricDef, overwrite: bool) -> MetricDef:
        """Record a define_metric call; returns the effective definition."""
        old = self.metrics.get(definition.name)
        new = definition if (overwrite or old is None) else old.merged(definition)
        self.metrics[definition.name] = new
        self._resolved.clear()
        return new

    def on_exit(self) -> None:
        """Write the pending row, if any."""
        self._flush()

    def on_resume(self, start_time: float, next_step: int | None = None) -> None:
        """The run continues: ``_runtime`` counts from ``start_time``; with ``next_step`` the
        next row gets that step (a fork or rewind goes on after its branch step)."""
        self.start_time = start_time
        if next_step is not None:
            self._flush()
            self.current_step = max(self.current_step, next_step)

    def on_rewind(self) -> None:
        """Forget all history state (summary, aggregations, definitions, steps); the rows that
        are kept are fed again afterwards and rebuild it."""
        start = self.start_time
        self.__init__(start_time=start)  # type: ignore[misc]
        self.summary_dirty = True

    def take_rows(self) -> list[tuple[int, dict[str, Any] | bytes]]:
        """Rows written since the last call, as ``(step, row)``: a row is a dict, or the
        stored encoding of one (:meth:`add_encoded_rows`)."""
        rows, self._rows = self._rows, []
        return rows

    @property
    def has_pending(self) -> bool:
        """True while a partial row waits for its commit."""
        return self._pending is not None

    # -- internals -----------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self._pending
        if data is None:
            return
        self._pending = None
        step = self.current_step
        self.current_step = step + 1
        if not data:
            return  # an empty row only advances the step
        ts = data.get("_timestamp", self._pending_ts)
        if type(ts) not in (int, float):
            ts = self._pending_ts
        row = data
        if self.metrics:
            self._sync_step_metrics(row)
        row["_step"] = step
        row["_runtime"] = max(0.0, float(ts) - self.start_time)
        row["_timestamp"] = ts
        self._rows.append((step, row))
        self.rows_written += 1
        self.last_step = step
        self._update_summary(row)

    def _sync_step_metrics(self, row: dict[str, Any]) -> None:
        for key in list(row):
            d = self._metric_for((key,))
            if d is not None and d.step_metric and d.step_sync and d.step_metric not in row:
                row[d.step_metric] = self._last_step_value(d.step_metric)
        for d in self.metrics.values():
            if d.step_metric and d.step_metric in row:
                self._step_values[d.step_metric] = row[d.step_metric]

    def _last_step_value(self, name: str) -> Any:
        """The last value logged for a step metric (also before it was declared one), else 0."""
        if name in self._step_values:
            return self._step_values[name]
        latest = self.summary.get(name)
        return latest if type(latest) in (int, float) else 0

    def _update_summary(self, row: dict[str, Any]) -> None:
        self.summary_dirty = True
        if self.summary_changes is not None:
            self.summary_changes.update(row)
        summary = self.summary
        if not self.metrics and not self._explicit:
            if dict not in map(type, row.values()):  # the common flat row: one C-level update
                summary.update(row)
                return
            for k, v in row.items():
                if type(v) is dict and not _is_typed(v):
                    _merge_into(summary, (k,), v, self)
                else:
                    summary[k] = v
            return
        for k, v in row.items():
            if type(v) is dict and not _is_typed(v):
                _merge_into(summary, (k,), v, self)
            else:
                self._summarise_leaf((k,), v)

    def _summarise_leaf(self, path: Path, v: Any) -> None:
        if path in self._explicit:
            _set_path(self.summary, path, v)
            return
        d = self._metric_for(path)
        if d is None or not d.summary or set(d.summary) <= {"copy"}:
            _set_path(self.summary, path, v)
            return
        agg = self._aggs.get(path)
        if agg is None:
            agg = self._aggs[path] = _Agg(ops=d.summary, goal=d.goal)
        elif agg.ops != d.summary or agg.goal != d.goal:  # redefined: same data, new ops
            agg.ops, agg.goal = d.summary, d.goal
        out = agg.add(v)
        if out is None:
            _del_path(self.summary, path)
        else:
            _set_path(self.summary, path, out)

    def _metric_for(self, path: Path) -> MetricDef | None:
        try:
            return self._resolved[path]
        except KeyError:
            pass
        found: MetricDef | None = None
        for d in self.metrics.values():
            if not d.name.endswith("*") and split_metric_name(d.name) == path:
                found = d
                break
        if found is None and not path[0].startswith("_"):
            dotted = ".".join(path)
            best = ""
            for d in self.metrics.values():
                if d.name.endswith("*") and dotted.startswith(d.name[:-1]) and len(d.name) > len(best):
                    found, best = replace(d, name=dotted), d.name
        self._resolved[path] = found
        return found


def _is_typed(v: dict[str, Any]) -> bool:
    """Media and histogram values are dicts with a ``_type``: summarised whole, not merged."""
    return "_type" in v


def _merge_into(summary: dict[str, Any], path: Path, value: dict[str, Any], h: RunHistory) -> None:
    for k, v in value.items():
        p = path + (k,)
        if type(v) is dict and not _is_typed(v):
            _merge_into(summary, p, v, h)
        elif h.metrics or h._explicit:
            h._summarise_leaf(p, v)
        else:
            _set_path(summary, p, v)


def _set_path(d: dict[str, Any], path: Path, value: Any) -> None:
    for k in path[:-1]:
        nxt = d.get(k)
        if type(nxt) is not dict or _is_typed(nxt):
            nxt = d[k] = {}
        d = nxt
    d[path[-1]] = value


def _del_path(d: dict[str, Any], path: Path) -> None:
    for k in path[:-1]:
        nxt = d.get(k)
        if type(nxt) is not dict:
            return
        d = nxt
    d.pop(path[-1], None)
