"""The runs table: filtering, sorting, grouping and paging a project's runs (pure; CPU-bound,
so the API runs it in a worker thread).

Columns are named as in W&B's runs table: built-ins (``name``, ``id``, ``state``, ``created``,
``duration``, ``tags``, ``group``, ``job_type``, ``user``, ``sweep``, ``host``, ``notes``,
``steps``), ``config.KEY`` and ``summary.KEY`` (nested values by dotted keys). A bare ``KEY``
means ``config.KEY`` when some run has that config key, else ``summary.KEY``.

Filters are ``COLUMN OP VALUE`` with OP one of ``= != > >= < <= ~`` (``~``: contains, ignoring
case), e.g. ``lr > 0.01`` or ``summary.acc >= 0.9`` or ``tags ~ baseline``. A filter that cannot
be read (an unknown operator such as ``>>``, an unbalanced quote, a column no run has) is refused
with a message naming what is wrong, never read as one that no run passes.

Without chosen columns the table shows the user's summary metrics first (not the ``_`` keys, which
``flatten`` leaves out, nor the system metrics), then config keys.
"""

from __future__ import annotations

import math
import pwd
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.models import RunInfo
from trackd_daemon.web.charts import SYSTEM_PREFIX
from trackd_daemon.web.colors import PALETTE, run_colors

BUILTINS = ("name", "id", "state", "created", "duration", "tags", "group", "job_type", "user",
            "sweep", "host", "notes", "steps")
OPS = ("=", "!=", ">", ">=", "<", "<=", "~")
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 500
#: Runs shown per group when the table is grouped.
GROUP_RUNS = 50
#: Config columns, and summary columns, chosen when the request names none.
DEFAULT_COLUMNS = 4
DEFAULT_SUMMARY_COLUMNS = 8

_OP_CHARS = "<>=!~"
_FILTER = re.compile(r"^\s*(?P<col>[^\s<>=!~]+)\s*(?P<op>[<>=!~]+)\s*(?P<val>.*?)\s*$")
_USAGE = "expected COLUMN OP VALUE such as 'config.lr > 0.01', with OP one of " + " ".join(OPS)


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: Any


@dataclass
class Query:
    """What a runs-table request asks for (see the OpenAPI file for each parameter)."""

    text: str = ""
    states: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    group: str | None = None
    sweep: str | None = None
    ids: frozenset[str] = frozenset()
    filters: list[Filter] = field(default_factory=list)
    sort: str = "-created"
    group_by: str = ""
    columns: list[str] | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


def parse_value(raw: str) -> Any:
    """A filter value: a quoted string, true/false/null, a number, else the text itself.

    :raises InvalidArgumentError: a quote that is not closed (or not opened).
    """
    raw = raw.strip()
    if raw and (raw[0] in "'\"" or raw[-1] in "'\""):
        if len(raw) < 2 or raw[0] != raw[-1] or raw[1:-1].count(raw[0]):
            raise InvalidArgumentError(
                f"unbalanced quotes in {raw!r}: quote the whole value, as 'a b' or \"a b\"")
        return raw[1:-1]
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def parse_filter(text: str) -> Filter:
    """:raises InvalidArgumentError: not ``COLUMN OP VALUE``, an unknown operator, or a value
    that is not one (unbalanced quotes, an operator left over); the message names it."""
    m = _FILTER.match(text)
    if m is None or not m.group("val"):
        raise InvalidArgumentError(f"filter {text!r}: {_USAGE}")
    op = "=" if m.group("op") == "==" else m.group("op")
    if op not in OPS:
        raise InvalidArgumentError(f"filter {text!r}: unknown operator {op!r}; {_USAGE}")
    val = m.group("val")
    if val[0] in _OP_CHARS:
        raise InvalidArgumentError(
            f"filter {text!r}: the value {val!r} starts with an operator ({op!r} then "
            f"{val[0]!r}); {_USAGE} (quote a value that is text)")
    try:
        value = parse_value(val)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"filter {text!r}: {exc.message}") from None
    return Filter(m.group("col"), op, value)


def _positive(raw: str | None, name: str, default: int, upper: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= upper:
        raise InvalidArgumentError(f"{name} must be a whole number from 1 to {upper}, got {raw!r}")
    return value


def _split(values: Iterable[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def parse_query(params: Mapping[str, str], multi: Mapping[str, list[str]]) -> Query:
    """A :class:`Query` from URL parameters (``multi``: every value of repeated ones).

    :raises InvalidArgumentError: a malformed parameter, naming it.
    """
    sort = params.get("sort") or "-created"
    if not sort.lstrip("-"):
        raise InvalidArgumentError("sort must name a column, optionally with '-' for descending")
    columns = _split(multi.get("columns", [])) if "columns" in params else None
    return Query(
        text=params.get("q", "").strip(),
        states=frozenset(_split(multi.get("state", []))),
        tags=frozenset(_split(multi.get("tag", []))),
        group=params.get("group") or None,
        sweep=params.get("sweep") or None,
        ids=frozenset(_split(multi.get("ids", []))),
        filters=[parse_filter(f) for f in multi.get("filter", []) if f.strip()],
        sort=sort,
        group_by=params.get("group_by", "").strip(),
        columns=columns,
        page=_positive(params.get("page"), "page", 1, 10**9),
        per_page=_positive(params.get("per_page"), "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


# -- one run as a table row ---------------------------------------------------------------------


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar leaves by dotted key; media (``_type``) as ``<type>``, lists as themselves.
    Keys starting with ``_`` at the top are left out (W&B hides them)."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        if not prefix and k.startswith("_"):
            continue
        if isinstance(v, dict):
            if "_type" in v:
                out[prefix + k] = f"<{v['_type']}>"
            else:
                out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


_users: dict[int, str] = {}


def user_name(uid: int) -> str:
    """The login name of ``uid`` ("" when unknown; blocking: NSS)."""
    if uid < 0:
        return ""
    name = _users.get(uid)
    if name is None:
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        _users[uid] = name
    return name


def run_user(run: RunInfo) -> str:
    """Who made ``run``: the user name it records (its machine's, which in a team store may
    differ from this one's), else its uid's name here (blocking: NSS)."""
    return run.owner_name or user_name(run.owner_uid)


@dataclass
class Row:
    """A run, flattened once for the table."""

    run: RunInfo
    config: dict[str, Any]
    summary: dict[str, Any]
    builtins: dict[str, Any]

    def get(self, column: str) -> Any:
        if column.startswith("config."):
            return self.config.get(column[7:])
        if column.startswith("summary."):
            return self.summary.get(column[8:])
        return self.builtins.get(column)

    def has(self, column: str) -> bool:
        if column.startswith("config."):
            return column[7:] in self.config
        if column.startswith("summary."):
            return column[8:] in self.summary
        return column in self.builtins


def duration(run: RunInfo, now: float) -> float:
    runtime = run.summary.get("_runtime")
    if type(runtime) in (int, float) and math.isfinite(runtime):
        return float(runtime)
    start = run.start_time or run.created_at
    end = run.finished_at if run.finished_at else (now if run.state == "running" else
                                                   run.updated_at)
    return max(0.0, end - start)


def make_row(run: RunInfo, now: float) -> Row:
    return Row(run, flatten(run.config), flatten(run.summary), {
        "name": run.name, "id": run.key.run_id, "state": run.state, "created": run.created_at,
        "duration": duration(run, now), "tags": list(run.tags), "group": run.group,
        "job_type": run.job_type, "user": run_user(run), "sweep": run.sweep_id,
        "host": run.host, "notes": run.notes, "steps": run.history_rows,
    })


class RowCache:
    """Flattened rows by run, reused while the run is unchanged (its ``updated_at``); running
    runs are flattened again (their duration moves)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._rows: dict[int, tuple[float, Row]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def rows(self, runs: Sequence[RunInfo]) -> list[Row]:
        now = time.time()
        out = []
        with self._lock:
            for run in runs:
                hit = self._rows.get(run.pk)
                if hit is not None and hit[0] == run.updated_at and run.state != "running":
                    row = hit[1]
                    row.run = run
                else:
                    row = make_row(run, now)
                    if len(self._rows) >= self._limit:
                        self._rows.clear()
                    self._rows[run.pk] = (run.updated_at, row)
                out.append(row)
        return out


# -- the query ---------------------------------------------------------------------------------


def resolve(column: str, rows: Sequence[Row]) -> str:
    """A column name in full (``lr`` -> ``config.lr`` or ``summary.lr``).

    :raises InvalidArgumentError: a name that is no built-in and no key of any run.
    """
    if column in BUILTINS or column.startswith(("config.", "summary.")):
        return column
    if any(column in r.config for r in rows):
        return f"config.{column}"
    if any(column in r.summary for r in rows):
        return f"summary.{column}"
    raise InvalidArgumentError(
        f"unknown column {column!r}: use one of {', '.join(BUILTINS)}, config.KEY or "
        "summary.KEY (no run of this project has that key)")


def resolve_filter(column: str, rows: Sequence[Row]) -> str:
    """A filter's column in full; unlike a shown column, a ``config.KEY`` or ``summary.KEY``
    that no run has is refused (a filter on it would pass no run, or every run, silently).

    :raises InvalidArgumentError: a column that is no built-in and no key of any run.
    """
    try:
        full = resolve(column, rows)
    except InvalidArgumentError:
        full = column
    if full in BUILTINS or any(r.has(full) for r in rows):
        return full
    raise InvalidArgumentError(
        f"unknown column {column!r} in a filter: no run of this project has it (use one of "
        f"{', '.join(BUILTINS)}, config.KEY or summary.KEY)")


def _number(v: Any) -> float | None:
    if type(v) in (int, float):
        return float(v)
    return None


def matches(row: Row, f: Filter) -> bool:
    """Whether a row passes one filter (a run without the column never does, but for !=)."""
    if not row.has(f.column):
        return f.op == "!="
    v = row.get(f.column)
    if isinstance(v, list):  # tags, or a list value: any element
        if f.op == "!=":
            return not any(_compare(x, "=", f.value) for x in v)
        return any(_compare(x, f.op, f.value) for x in v)
    return _compare(v, f.op, f.value)


def _compare(v: Any, op: str, target: Any) -> bool:
    if op == "~":
        return str(target).lower() in str(v).lower()
    a, b = _number(v), _number(target)
    if a is not None and b is not None:
        pair: tuple[Any, Any] = (a, b)
    elif isinstance(v, str) and isinstance(target, str):
        pair = (v, target)
    else:
        return (v == target) if op == "=" else (v != target) if op == "!=" else False
    x, y = pair
    return {"=": x == y, "!=": x != y, ">": x > y, ">=": x >= y, "<": x < y,
            "<=": x <= y}[op]


def _sort_key(v: Any) -> tuple[int, Any]:
    n = _number(v)
    if n is not None:
        return (0, -math.inf if math.isnan(n) else n)
    if isinstance(v, bool):
        return (0, float(v))
    if isinstance(v, str):
        return (1, v.lower())
    return (2, str(v))


def sort_rows(rows: list[Row], column: str) -> list[Row]:
    """Sorted by one column; runs without it come last in either direction."""
    descending = column.startswith("-")
    column = column.lstrip("-")
    present = [r for r in rows if r.has(column) and r.get(column) is not None]
    missing = [r for r in rows if not (r.has(column) and r.get(column) is not None)]
    present.sort(key=lambda r: (_sort_key(r.get(column)), r.run.created_at, r.run.pk),
                 reverse=descending)
    return present + missing


def select(rows: Sequence[Row], q: Query) -> list[Row]:
    """The rows passing every condition of ``q``."""
    filters = [Filter(resolve_filter(f.column, rows), f.op, f.value) for f in q.filters]
    text = q.text.lower()
    out = []
    for r in rows:
        run = r.run
        if q.states and run.state not in q.states:
            continue
        if q.ids and run.key.run_id not in q.ids:
            continue
        if q.tags and not q.tags <= set(run.tags):
            continue
        if q.group is not None and run.group != q.group:
            continue
        if q.sweep is not None and run.sweep_id != q.sweep:
            continue
        if text and not any(text in s.lower() for s in (
                run.name, run.key.run_id, run.notes, run.group, run.job_type, *run.tags)):
            continue
        if all(matches(r, f) for f in filters):
            out.append(r)
    return out


def available_columns(rows: Sequence[Row]) -> tuple[list[str], list[str]]:
    """Config and summary keys, most common first."""
    config: Counter[str] = Counter()
    summary: Counter[str] = Counter()
    for r in rows:
        config.update(r.config.keys())
        summary.update(r.summary.keys())
    return ([k for k, _ in config.most_common()], [k for k, _ in summary.most_common()])


def default_columns(config_keys: Sequence[str], summary_keys: Sequence[str]) -> list[str]:
    """The columns shown when the request chooses none: the user's summary metrics (not the
    system metrics), then config keys, the most common first."""
    user = [k for k in summary_keys if not k.startswith(SYSTEM_PREFIX)]
    return ([f"summary.{k}" for k in user[:DEFAULT_SUMMARY_COLUMNS]]
            + [f"config.{k}" for k in config_keys[:DEFAULT_COLUMNS]])


def run_json(row: Row, columns: Sequence[str], color: str = PALETTE[0]) -> dict[str, Any]:
    run = row.run
    b = row.builtins
    return {
        "entity": run.key.entity, "project": run.key.project, "id": run.key.run_id,
        "name": run.name, "state": run.state, "created_at": run.created_at,
        "duration": b["duration"], "tags": b["tags"], "group": run.group,
        "job_type": run.job_type, "user": b["user"], "host": run.host, "sweep_id": run.sweep_id,
        "history_rows": run.history_rows, "color": color,
        "values": {c: jsonable(row.get(c)) for c in columns},
    }


def jsonable(v: Any) -> Any:
    """A value for JSON: non-finite floats as the strings NaN, Infinity, -Infinity."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def run_query(rows: Sequence[Row], q: Query) -> dict[str, Any]:
    """Answer a runs-table query (the JSON of ``GET /api/v1/projects/{e}/{p}/runs``)."""
    config_keys, summary_keys = available_columns(rows)
    if q.columns is None:
        columns = default_columns(config_keys, summary_keys)
    else:
        columns = [resolve(c, rows) for c in q.columns]
    colors = run_colors(r.run for r in rows)
    descending = "-" if q.sort.startswith("-") else ""
    chosen = sort_rows(select(rows, q), descending + resolve(q.sort.lstrip("-"), rows))
    out: dict[str, Any] = {
        "total": len(chosen), "total_in_project": len(rows), "page": q.page,
        "per_page": q.per_page, "sort": q.sort, "columns": columns,
        "available": {"config": config_keys, "summary": summary_keys},
        "running": sum(1 for r in chosen if r.run.state == "running"),
    }
    start = (q.page - 1) * q.per_page
    if not q.group_by:
        out["pages"] = max(1, math.ceil(len(chosen) / q.per_page))
        out["runs"] = [run_json(r, columns, colors[r.run.key.run_id])
                       for r in chosen[start:start + q.per_page]]
        return out
    by = resolve(q.group_by, rows)
    groups: dict[Any, list[Row]] = {}
    for r in chosen:
        value = r.get(by)
        groups.setdefault(value if isinstance(value, str | int | float | bool) or value is None
                          else str(value), []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))
    out["group_by"] = by
    out["pages"] = max(1, math.ceil(len(ordered) / q.per_page))
    out["groups"] = [
        {"value": jsonable(value), "count": len(members),
         "states": dict(Counter(m.run.state for m in members)),
         "runs": [run_json(m, columns, colors[m.run.key.run_id]) for m in members[:GROUP_RUNS]]}
        for value, members in ordered[start:start + q.per_page]
    ]
    return out
