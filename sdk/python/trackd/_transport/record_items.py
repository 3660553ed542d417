"""What the sender buffers between ``log()`` and the wire, and how each becomes a Record.

A record is a tuple whose first element is its kind:

* ``("h", seq, data, step, commit, timestamp)`` history (log); ``data`` is a normalised row,
  or the packed encoding of one (``pack_row``)
* ``("s", seq, updates, removes)``               summary
* ``("c", seq, update, remove)``                 config
* ``("m", seq, definition_dict, overwrite)``     define_metric
* ``("u", seq, fields)``                         run update
* ``("x", seq, exit_code)``                      exit
* ``("p", seq)``                                 the run is about to be preempted
* ``("a", seq, title, text, level, wait_ms, ts)`` an alert
* ``("o", seq, [(stream, line, ts, text), ...])`` console lines

Consecutive rows ``log()`` packed (``pack_row``) are buffered as one :class:`Rows` item,
and a record that waits for its data types' encoding as an :class:`AfterMedia`.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Self

from trackd._shared.values import fill_map, fill_value, pack_map
from trackd.v1 import record_pb2, run_pb2

GOALS = {"": run_pb2.METRIC_GOAL_UNSPECIFIED, "minimize": run_pb2.METRIC_GOAL_MINIMIZE,
         "maximize": run_pb2.METRIC_GOAL_MAXIMIZE}


class Rows:
    """Consecutive rows ``put_row`` queued: one buffered item (two list appends a row, where a
    record tuple of its own costs a tuple and a deque entry), sent as one HistoryRowsRecord
    whose rows take the seqs from ``seq`` on. The item at the buffer's tail (``Sender._tail``,
    the open item) takes the next rows until it is sealed (by the loop taking it, or a record
    queued after it), its ``room`` is spent or its rows reach ``limit`` bytes; both are set
    when a row opens it, from ``ROWS_PER_ITEM``, ``ITEM_BYTES`` and the room the buffer's
    bounds leave.
    """

    __slots__ = ("limit", "packed", "room", "seq", "size", "stamps")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.packed: list[bytes] = []
        self.stamps: list[float] = []
        self.size = 0  # bytes of the packed rows
        self.room = 0  # rows it may take yet
        self.limit = 0  # bytes of rows past which it takes no more


#: Rows one ``Rows`` item holds at most: a request of ``record_buffer.MAX_BATCH_RECORDS`` takes
#: it whole (the loop seals it sooner when it catches up); and the bytes, so that a request of
#: wide rows stays near its ``MAX_BATCH_BYTES``.
ROWS_PER_ITEM = 256
ITEM_BYTES = 256 * 1024


class AfterMedia(tuple):  # type: ignore[type-arg]
    """A buffered record sent once ``media`` (its data types' encoding) is done."""

    media: concurrent.futures.Future[None]

    def __new__(cls, item: tuple[Any, ...], media: concurrent.futures.Future[None]) -> Self:
        self = super().__new__(cls, item)
        self.media = media
        return self


def packed_size(item: tuple[Any, ...]) -> int:
    """The bytes a buffered record counts against ``MAX_BUFFERED_BYTES`` (its packed row)."""
    return len(item[2]) if item[0] == "h" and type(item[2]) is bytes else 0


def encode(rec: record_pb2.Record, item: tuple[Any, ...]) -> None:
    """Fill one Record from a buffered tuple (see the module doc)."""
    kind = item[0]
    rec.seq = item[1]
    if kind == "h":
        h = rec.history
        data = item[2]  # packed by log() already, or a normalised row (data types, nesting)
        # One C call, where a Value tree costs one per value.
        h.packed_data = data if type(data) is bytes else pack_map(data)
        if item[3] is not None:
            h.step = item[3]
        if item[4] is not None:
            h.commit = item[4]
        h.timestamp = item[5]
    elif kind == "s":
        s = rec.summary
        s.SetInParent()
        for path, value in item[2]:
            fill_value(s.update.add(path=path).value, value)
        for path in item[3]:
            s.remove.add(path=path)
    elif kind == "c":
        c = rec.config
        c.update.SetInParent()
        fill_map(c.update, item[2])
        c.remove.extend(item[3])
    elif kind == "m":
        d = item[2]
        rec.metric.definition.CopyFrom(run_pb2.MetricDefinition(
            name=d["name"], step_metric=d.get("step_metric") or "", step_sync=bool(d.get("step_sync")),
            hidden=bool(d.get("hidden")), summary=d.get("summary") or [],
            goal=GOALS[d.get("goal") or ""],
        ))
        rec.metric.overwrite = bool(item[3])
    elif kind == "u":
        u = rec.run_update
        u.SetInParent()
        for name, value in item[2].items():
            if name == "tags":
                u.tags.SetInParent()
                u.tags.tags.extend(value)
            else:
                setattr(u, name, value)
    elif kind == "x":
        rec.exit.exit_code = item[2]
    elif kind == "p":
        rec.preempting.SetInParent()
    elif kind == "a":
        a = rec.alert
        a.title, a.text, a.level, a.wait_duration_ms, a.timestamp = item[2:7]
    elif kind == "o":
        c = rec.console
        c.SetInParent()
        add = c.lines.add
        for stream, line, ts, text in item[2]:
            add(stream=stream, line=line, timestamp=ts, text=text)
    else:
        raise ValueError(f"unknown record kind {kind!r}")
