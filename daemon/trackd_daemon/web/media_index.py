"""Which steps of a run hold media, for the media panels: per media key (dotted when nested),
its values at steps spread evenly over the run, kept in memory per run and brought up to date
by reading only the rows logged since (history steps only grow; a run whose history shrank,
rewound, is read again).

A run's history is read once however many panels ask, and a running run's panels, which ask
again as it logs, cost a read of its new rows only. Bounds: per key at most ``KEEP`` values
(past it, every other value is dropped and then only every second, fourth... value is kept, so
what is kept stays evenly spread, and the last value is always kept besides), for at most
``RUNS`` runs (the least recently asked for is forgotten).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo

#: Media types the panels draw (W&B's ``_type`` values).
MEDIA_TYPES = frozenset({
    "image-file", "images/separated", "table-file", "histogram", "video-file", "videos",
    "audio-file", "audio", "html-file", "object3D-file", "object3D", "plotly-file",
    "graph-file",
})
#: Media types kept in the summary only (``watch(log_graph=True)`` stores the model's graph
#: there, as W&B does): the media list gives their value itself.
SUMMARY_TYPES = frozenset({"graph-file"})
#: Values kept per key: twice what one request may return (``media.MAX_VALUES``), so that an
#: even spread of that many is always there.
KEEP = 2000
#: Runs whose media are kept (a page open on each, with room to spare).
RUNS = 8
#: Rows read at a time.
PAGE = 5000


def media_paths(value: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], str]]:
    """(key path, media type) of every media value in a row or summary (nested dicts without
    ``_type`` are walked; top-level keys starting with ``_`` are not media)."""
    for k, v in value.items():
        if not isinstance(v, dict) or (not prefix and k.startswith("_")):
            continue
        kind = v.get("_type")
        if kind is None:
            yield from media_paths(v, (*prefix, k))
        elif isinstance(kind, str) and kind in MEDIA_TYPES:
            yield (*prefix, k), kind


def dig(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class KeyValues:
    """One key's values, evenly spread over the steps that hold it (see the module doc)."""

    __slots__ = ("kept", "stride", "seen", "last")

    def __init__(self) -> None:
        self.kept: list[tuple[int, Any]] = []
        self.stride = 1
        self.seen = 0
        self.last: tuple[int, Any] | None = None

    def add(self, step: int, value: Any) -> None:
        if self.seen % self.stride == 0:
            self.kept.append((step, value))
            if len(self.kept) > KEEP:
                self.kept = self.kept[::2]  # the values at multiples of the doubled stride
                self.stride *= 2
        self.seen += 1
        self.last = (step, value)

    def spread(self, limit: int) -> list[tuple[int, Any]]:
        """At most ``limit`` (>= 2) values, evenly spread, the first and the last included."""
        points = list(self.kept)
        if self.last is not None and (not points or points[-1][0] != self.last[0]):
            points.append(self.last)
        if len(points) > limit:
            n = len(points) - 1
            points = [points[(i * n) // (limit - 1)] for i in range(limit)]
        return points


@dataclass
class RunMedia:
    rows: int = 0
    last_step: int | None = None
    keys: dict[str, KeyValues] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self, page: list[tuple[int, dict[str, Any]]]) -> None:
        for step, row in page:
            for path, _kind in media_paths(row):
                self.keys.setdefault(".".join(path), KeyValues()).add(step, dig(row, path))
        self.rows += len(page)
        self.last_step = page[-1][0]


class MediaIndex:
    """The media of the runs the dashboard shows, by run (see the module doc)."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store
        #: By run: its row id and creation time (a row id of a deleted run may come back).
        self._runs: OrderedDict[tuple[int, float], RunMedia] = OrderedDict()

    async def values(self, run: RunInfo, key: str, limit: int) -> list[tuple[int, Any]] | None:
        """``key``'s values at up to ``limit`` steps of ``run`` (None: no media under it)."""
        ident = (run.pk, run.created_at)
        entry = self._runs.get(ident)
        if entry is None or run.history_rows < entry.rows or (  # new, or rewound
                entry.last_step is not None and run.last_step is not None
                and run.last_step < entry.last_step):
            entry = self._runs[ident] = RunMedia()
        self._runs.move_to_end(ident)
        while len(self._runs) > RUNS:
            self._runs.popitem(last=False)
        async with entry.lock:
            while True:
                start = None if entry.last_step is None else entry.last_step + 1
                page = await self._store.scan_history(run.pk, start, None, PAGE)
                if not page:
                    break
                await anyio.to_thread.run_sync(entry.take, page)
                if len(page) < PAGE:
                    break
            found = entry.keys.get(key)
            return None if found is None else found.spread(limit)
