"""Records that stand for several seqs: a ``HistoryRowsRecord`` holds consecutive rows, one
seq each (see ``record.proto``). A reader that works record by record (``trackd sync``)
expands one into the ``HistoryRecord`` of each of its rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trackd.v1 import record_pb2

#: Rows one HistoryRowsRecord may hold (a writer's batch holds fewer).
MAX_ROWS = 10_000


def expand(rec: Any) -> Iterator[Any]:
    """``rec`` (a ``Record``) as the records of one seq each it stands for."""
    if rec.WhichOneof("kind") != "history_rows":
        yield rec
        return
    rows = rec.history_rows
    for i, (packed, timestamp) in enumerate(zip(rows.packed_data, rows.timestamps,
                                                 strict=False)):
        one = record_pb2.Record(seq=rec.seq + i)
        one.history.packed_data = packed
        one.history.timestamp = timestamp
        yield one
