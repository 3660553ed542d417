"""Decoding and validation of streamed records (protobuf -> plain Python).

Runs in a worker thread for each incoming batch, before anything is written: a malformed
record fails the whole batch with :class:`InvalidRecordError` and nothing of it is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from typing import Any, NamedTuple

from google.protobuf.message import DecodeError

from trackd._shared.history import SUMMARY_OPS, MetricDef
from trackd._shared.record_spans import MAX_ROWS
from trackd._shared.values import (
    MAX_KEYS,
    MAX_ROW_BYTES,
    MalformedValueError,
    check_keys,
    map_to_python,
    to_python,
    unpack_map,
    unpack_maps,
)
from trackd.v1 import record_pb2, run_pb2
from trackd_daemon.errors import InvalidArgumentError, InvalidRecordError
from trackd_daemon.packed_rows import Layout, layout_of
from trackd_daemon.run_limits import check_record_fields

_GOAL_NAMES = {
    run_pb2.METRIC_GOAL_UNSPECIFIED: "",
    run_pb2.METRIC_GOAL_MINIMIZE: "minimize",
    run_pb2.METRIC_GOAL_MAXIMIZE: "maximize",
}
GOAL_VALUES = {v: k for k, v in _GOAL_NAMES.items()}


class History(NamedTuple):
    """One ``log()``. A named tuple, where the other records are frozen dataclasses: the
    daemon makes one per row it ingests (100,000 a second), and a tuple is made in a third of
    the time (measured)."""

    seq: int
    data: dict[str, Any]
    step: int | None
    commit: bool | None
    timestamp: float


#: ``History(*fields)`` without the Python-level ``__new__`` of a NamedTuple (rows in bulk).
_new_history = partial(tuple.__new__, History)


class Rows(NamedTuple):
    """Consecutive rows of plain numbers that stay packed (see packed_rows.py): the records
    ``seq`` to ``last``, each a ``log()`` without step or commit, of one ``layout``, each
    row's bytes and timestamp in a list. One record for a request's rows, where the others
    are one a seq: the daemon makes no object for a row of them (two a row, made and freed,
    were a sixth of its time ingesting rows of ten floats)."""

    seq: int
    last: int
    blobs: list[bytes]
    timestamps: list[float]
    layout: Layout

    def after(self, seq: int) -> Rows:
        """The rows from ``seq`` on (``self.seq < seq <= self.last``)."""
        cut = seq - self.seq
        return Rows(seq, self.last, self.blobs[cut:], self.timestamps[cut:], self.layout)

    def decoded(self) -> list[tuple[dict[str, Any], float]]:
        """``(row, timestamp)`` for each row, decoded."""
        return list(zip(map(self.layout.row, self.blobs), self.timestamps))

    def history(self) -> list[History]:
        """The same rows as History records, one a seq."""
        return [History(self.seq + i, row, None, None, ts)
                for i, (row, ts) in enumerate(self.decoded())]


@dataclass(frozen=True)
class Summary:
    seq: int
    updates: list[tuple[tuple[str, ...], Any]]
    removes: list[tuple[str, ...]]


@dataclass(frozen=True)
class Config:
    seq: int
    update: dict[str, Any]
    remove: list[str]


@dataclass(frozen=True)
class Metric:
    seq: int
    definition: MetricDef
    overwrite: bool


@dataclass(frozen=True)
class RunUpdate:
    seq: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class Exit:
    seq: int
    exit_code: int


@dataclass(frozen=True)
class Resume:
    seq: int
    start_time: float
    next_step: int | None = None


@dataclass(frozen=True)
class Rewind:
    seq: int
    step: int


@dataclass(frozen=True)
class Preempting:
    seq: int


@dataclass(frozen=True)
class Alert:
    seq: int
    title: str
    text: str
    level: str
    wait_ms: int
    timestamp: float


@dataclass(frozen=True)
class Console:
    """Console lines (stream 1 stdout, 2 stderr; each line numbered in its stream)."""

    seq: int
    lines: list[tuple[int, int, float, str]]  # (stream, line, timestamp, text)


ALERT_LEVELS = {0: "INFO", 1: "INFO", 2: "WARN", 3: "ERROR"}
#: Console records: lines per record and bytes per line (the SDK splits longer lines).
MAX_CONSOLE_LINES = 1000
MAX_CONSOLE_LINE_BYTES = 64 << 10
#: One record's encoded size limit: a row's limit plus room for its framing.
MAX_RECORD_BYTES = MAX_ROW_BYTES + (1 << 20)
#: A request of up to this many bytes is decoded (and its records applied to the run's state)
#: on the event loop rather than in a worker thread: a hand-off to a worker thread and back
#: costs 120-150 µs of CPU on a machine whose threads sleep between requests (measured, 2
#: cores), more than decoding or applying 16 KiB of rows of ten floats (about 130 rows: some
#: 60 µs each), and other rows of 16 KiB take a few hundred µs at most. A training loop's
#: requests are mostly this small (its rows of 0.1 s); larger ones keep the event loop free
#: while they are worked on.
INLINE_BYTES = 16 << 10

Decoded = (
    History | Rows | Summary | Config | Metric | RunUpdate | Exit | Resume | Rewind | Preempting
    | Alert | Console
)


def alert_suppressed(last: dict[str, float], alert: Alert) -> bool:
    """Rate limit per title: True when the last delivered alert of this title is less than
    ``wait_ms`` old; otherwise the alert counts as the title's last one."""
    previous = last.get(alert.title)
    if previous is not None and (alert.timestamp - previous) * 1000 < alert.wait_ms:
        return True
    last[alert.title] = alert.timestamp
    return False


@dataclass(frozen=True)
class Batch:
    """A parsed request or log entry."""

    ref: run_pb2.RunRef | None
    records: list[Decoded]
    writer: str
    #: The record types the batch holds (checks for one kind then look at no record).
    kinds: frozenset[type] = frozenset()


def parse_batch(raw: bytes) -> Batch:
    """Parse one ``StreamRecordsRequest`` (or ``WalEntry``: same layout) and decode its records.

    :raises InvalidRecordError: undecodable bytes, a record of no/unknown kind, bad values, or
        seqs that do not increase by one.
    """
    try:
        entry = record_pb2.WalEntry.FromString(raw)
    except DecodeError as exc:
        raise InvalidRecordError(f"undecodable record batch: {exc}") from None
    out: list[Decoded] = []
    kinds: set[type] = set()
    prev = None
    big = len(raw) > MAX_RECORD_BYTES
    for rec in entry.records:
        if big and rec.ByteSize() > MAX_RECORD_BYTES:
            raise InvalidRecordError(
                f"record {rec.seq} is {rec.ByteSize() >> 20} MiB; one record may be at most "
                f"{MAX_RECORD_BYTES >> 20} MiB", seq=str(rec.seq), field="records")
        if prev is not None and rec.seq != prev + 1:
            raise InvalidRecordError(
                f"records in a batch must have consecutive seqs; {rec.seq} follows {prev}"
            )
        if rec.WhichOneof("kind") == "history_rows":
            prev = _decode_rows(rec, out)
            kinds.add(type(out[-1]))
            continue
        prev = rec.seq
        decoded = decode_record(rec)
        kinds.add(type(decoded))
        out.append(decoded)
    return Batch(entry.run if entry.HasField("run") else None, out, entry.writer,
                 frozenset(kinds))


def _decode_rows(rec: record_pb2.Record, out: list[Decoded]) -> int:
    """Append the rows of a ``HistoryRowsRecord`` to ``out``: one :class:`Rows` when they
    stay packed, else one History of its own seq each; returns the last seq they stand for.

    :raises InvalidRecordError: no rows or more than ``MAX_ROWS``, timestamps not one per row,
        or a row that is malformed or breaks a row limit (its seq named).
    """
    seq = rec.seq
    if seq < 1:
        raise InvalidRecordError(f"record seq must be >= 1, got {seq}", seq=str(seq))
    rows = rec.history_rows
    n = len(rows.packed_data)
    if not 0 < n <= MAX_ROWS or len(rows.timestamps) != n:
        raise InvalidRecordError(
            f"record {seq}: history_rows needs 1 to {MAX_ROWS} rows and one timestamp each "
            f"(got {n} rows, {len(rows.timestamps)} timestamps)", seq=str(seq),
            field="history_rows")
    checked = _CHECKED_KEYS
    blobs = list(rows.packed_data)
    layout = layout_of(blobs, checked)
    if layout is not None:  # plain numbers under keys checked before: they stay packed
        out.append(Rows(seq, seq + n - 1, blobs, list(rows.timestamps), layout))
        return seq + n - 1
    decoded = unpack_maps(blobs)
    if decoded is None:  # a row is malformed: name it
        for i, packed in enumerate(blobs):
            try:
                unpack_map(packed)
            except MalformedValueError as exc:
                raise InvalidRecordError(f"record {seq + i}: {exc}", seq=str(seq + i)) from None
        raise InvalidRecordError(f"record {seq}: packed rows are not well-formed", seq=str(seq))
    key_sets = list(map(tuple, decoded))  # most rows of a run have the keys of the row before
    unchecked = set(key_sets).difference(checked)
    if unchecked:
        first = dict(zip(reversed(key_sets), range(n - 1, -1, -1)))  # a key set's first row
        for keys in sorted(unchecked, key=first.__getitem__):  # the first bad row is named
            i = first[keys]
            _check_keys(decoded[i], seq + i)
            if len(keys) <= _CHECKED_KEYS_MAX_LEN:
                if len(checked) >= _CHECKED_KEYS_MAX:
                    checked.clear()
                checked.add(keys)
    # History(seq + i, data, None, None, timestamp) for each row, built in C.
    out.extend(map(_new_history, zip(range(seq, seq + n), decoded, repeat(None), repeat(None),
                                     rows.timestamps)))
    return seq + n - 1


def last_seq(records: Sequence[Decoded]) -> int:
    """The last seq that ``records`` (consecutive, at least one) stand for."""
    rec = records[-1]
    return rec.last if type(rec) is Rows else rec.seq


def each_seq(records: list[Decoded]) -> list[Decoded]:
    """``records`` with each :class:`Rows` as History records: one record a seq."""
    if not any(type(r) is Rows for r in records):
        return records
    out: list[Decoded] = []
    for r in records:
        if type(r) is Rows:
            out += r.history()
        else:
            out.append(r)
    return out


#: Key sets of rows that passed ``_check_keys`` (it costs more than decoding a row of ten
#: floats): at most this many sets of at most this many keys (a few MiB), cleared when full.
#: Worker threads share it; a set is only added once checked, and a race at worst checks a
#: set again.
_CHECKED_KEYS: set[tuple[str, ...]] = set()
_CHECKED_KEYS_MAX = 4096
_CHECKED_KEYS_MAX_LEN = 1024


def parse_intake(raw: bytes) -> Batch:
    """:func:`parse_batch` for a request arriving on a record stream: run updates are held to
    the run field limits too (a log entry already accepted is never refused again: a log
    written before a limit existed still replays).

    :raises InvalidRecordError: see :func:`parse_batch`; or a run update over a limit.
    """
    batch = parse_batch(raw)
    if RunUpdate in batch.kinds:
        for rec in batch.records:
            if isinstance(rec, RunUpdate):
                check_record_fields(rec.seq, rec.fields)
    return batch


def with_writer(raw: bytes, writer: str) -> bytes:
    """A request's bytes as a log entry of ``writer`` (another writer than the primary)."""
    entry = record_pb2.WalEntry.FromString(raw)
    entry.ClearField("run")
    entry.writer = writer
    return entry.SerializeToString()


def decode_record(rec: record_pb2.Record) -> Decoded:
    """Decode one record. :raises InvalidRecordError: see :func:`parse_batch`."""
    seq = rec.seq
    if seq < 1:
        raise InvalidRecordError(f"record seq must be >= 1, got {seq}", seq=str(seq))
    kind = rec.WhichOneof("kind")
    try:
        if kind == "history":
            h = rec.history
            if h.packed_data:
                if h.HasField("data"):
                    raise InvalidRecordError(f"record {seq}: history sets both data and "
                                             "packed_data", seq=str(seq), field="history")
                data = unpack_map(h.packed_data)
            else:
                data = map_to_python(h.data)
            _check_keys(data, seq)
            return History(
                seq, data, h.step if h.HasField("step") else None,
                h.commit if h.HasField("commit") else None, h.timestamp,
            )
        if kind == "summary":
            s = rec.summary
            updates = []
            for item in s.update:
                if not item.path:
                    raise InvalidRecordError(f"record {seq}: summary item with an empty path")
                updates.append((tuple(item.path), to_python(item.value)))
            removes = [tuple(p.path) for p in s.remove if p.path]
            return Summary(seq, updates, removes)
        if kind == "config":
            return Config(seq, map_to_python(rec.config.update), list(rec.config.remove))
        if kind == "metric":
            return Metric(seq, metric_from_pb(rec.metric.definition), rec.metric.overwrite)
        if kind == "run_update":
            u = rec.run_update
            fields: dict[str, Any] = {}
            for name in ("name", "notes", "group", "job_type"):
                if u.HasField(name):
                    fields[name] = getattr(u, name)
            if u.HasField("tags"):
                fields["tags"] = list(u.tags.tags)
            return RunUpdate(seq, fields)
        if kind == "exit":
            return Exit(seq, rec.exit.exit_code)
        if kind == "resume":
            r = rec.resume
            return Resume(seq, r.start_time, r.next_step if r.HasField("next_step") else None)
        if kind == "rewind":
            return Rewind(seq, rec.rewind.step)
        if kind == "preempting":
            return Preempting(seq)
        if kind == "alert":
            a = rec.alert
            if not a.title:
                raise InvalidRecordError(f"record {seq}: an alert needs a title", seq=str(seq))
            if a.level not in ALERT_LEVELS:
                raise InvalidRecordError(f"record {seq}: unknown alert level {a.level}")
            _check_time(seq, a.timestamp, "alert.timestamp")
            return Alert(seq, a.title, a.text, ALERT_LEVELS[a.level], max(0, a.wait_duration_ms),
                         a.timestamp)
        if kind == "console":
            return _console(seq, rec.console)
    except MalformedValueError as exc:
        raise InvalidRecordError(f"record {seq}: {exc}", seq=str(seq)) from None
    if kind is None:
        raise InvalidRecordError(f"record {seq} has no kind set (or a kind this daemon does not know)",
                                 seq=str(seq))
    raise InvalidRecordError(f"record {seq} has unknown kind {kind!r}", seq=str(seq))


def _console(seq: int, c: record_pb2.ConsoleRecord) -> Console:
    if len(c.lines) > MAX_CONSOLE_LINES:
        raise InvalidRecordError(f"record {seq}: {len(c.lines)} console lines; at most "
                                 f"{MAX_CONSOLE_LINES} per record", seq=str(seq),
                                 field="console.lines")
    lines = []
    for ln in c.lines:
        if ln.stream not in (0, 1, 2):
            raise InvalidRecordError(f"record {seq}: unknown console stream {ln.stream}",
                                     seq=str(seq), field="console.lines.stream")
        if ln.line < 0:
            raise InvalidRecordError(f"record {seq}: console line numbers start at 0, got "
                                     f"{ln.line}", seq=str(seq), field="console.lines.line")
        _check_time(seq, ln.timestamp, "console.lines.timestamp")
        if len(ln.text) > MAX_CONSOLE_LINE_BYTES and len(ln.text.encode()) > MAX_CONSOLE_LINE_BYTES:
            raise InvalidRecordError(f"record {seq}: a console line is at most "
                                     f"{MAX_CONSOLE_LINE_BYTES >> 10} KiB", seq=str(seq),
                                     field="console.lines.text")
        lines.append((ln.stream or 1, ln.line, ln.timestamp, ln.text))
    return Console(seq, lines)


def _check_time(seq: int, timestamp: float, field: str) -> None:
    """:raises InvalidRecordError: a timestamp the store cannot keep (NaN) or that is no time
    (infinite)."""
    if not math.isfinite(timestamp):
        raise InvalidRecordError(f"record {seq}: {field} must be Unix seconds, got {timestamp}",
                                 seq=str(seq), field=field)


def _check_keys(data: dict[str, Any], seq: int) -> None:
    """The row limits of ``trackd._shared.values`` (the SDK checks them before sending)."""
    if len(data) > MAX_KEYS:
        raise InvalidRecordError(f"record {seq}: history.data has {len(data)} keys; the limit is "
                                 f"{MAX_KEYS}", seq=str(seq), field="history.data")
    if data:
        try:
            check_keys(data, f"record {seq}: history.data")
        except ValueError as exc:
            raise InvalidRecordError(str(exc), seq=str(seq), field="history.data") from None


def metric_from_pb(d: run_pb2.MetricDefinition) -> MetricDef:
    """Validate and convert a metric definition."""
    name = d.name
    if not name or "*" in name[:-1]:
        raise InvalidArgumentError(f"invalid metric name {name!r}: '*' may only end a glob")
    ops = tuple(op.lower() for op in d.summary)
    for op in ops:
        if op not in SUMMARY_OPS:
            raise InvalidArgumentError(f"unknown summary op {op!r} for metric {name!r}")
    if d.goal not in _GOAL_NAMES:
        raise InvalidArgumentError(f"unknown goal {d.goal} for metric {name!r}")
    return MetricDef(name, d.step_metric, d.step_sync, d.hidden, ops, _GOAL_NAMES[d.goal])


def metric_to_dict(d: MetricDef) -> dict[str, Any]:
    return {"name": d.name, "step_metric": d.step_metric, "step_sync": d.step_sync,
            "hidden": d.hidden, "summary": list(d.summary), "goal": d.goal}


def metric_to_pb(d: dict[str, Any]) -> run_pb2.MetricDefinition:
    """A stored metric definition as a message."""
    return run_pb2.MetricDefinition(
        name=d["name"], step_metric=d.get("step_metric", ""), step_sync=d.get("step_sync", False),
        hidden=d.get("hidden", False), summary=d.get("summary", []),
        goal=GOAL_VALUES.get(d.get("goal", ""), 0),
    )
