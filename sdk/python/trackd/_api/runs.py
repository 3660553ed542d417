"""``Api.runs()``: a lazy list of runs, read from the daemon a page at a time (W&B's
``Runs``), and the MongoDB-style filters it applies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from trackd.errors import UsageError

#: Fetches the page after ``token`` ("" for the first): its run messages and the next token
#: ("" after the last page).
FetchPage = Callable[[str], tuple[list[Any], str]]


class Runs(Sequence[Any]):
    """The runs of a project, newest first: pages of ``per_page`` runs are read only as far as
    they are used (iterating, indexing, ``bool()``), and kept. ``len()`` reads every page, and
    so does an ``order`` other than ``-created_at`` (runs are sorted here). ``filters`` apply
    to each page as it is read."""

    def __init__(self, fetch: FetchPage, make: Callable[[Any], Any], path: str,
                 filters: dict[str, Any] | None, order: str, per_page: int) -> None:
        self._fetch = fetch
        self._make = make
        self._path = path
        self._filters = filters
        self._order = order
        self.per_page = per_page
        self._objects: list[Any] = []
        self._token = ""
        self._done = False
        #: Newest first is the daemon's order; any other is sorted here once all is read.
        self._sorted = order.lstrip("+-") == "created_at" and order.startswith("-")

    @property
    def more(self) -> bool:
        """Whether pages are left to read."""
        return not self._done

    def _next_page(self) -> None:
        runs, self._token = self._fetch(self._token)
        self._done = not self._token
        made = [self._make(r) for r in runs]
        if self._filters:
            made = [r for r in made if _matches(r._doc(), self._filters)]
        self._objects.extend(made)

    def _load(self, count: int | None = None) -> None:
        """Read pages until ``count`` runs are here (None: every page), then sort them once
        when the order asks for it."""
        if not self._sorted:
            count = None
        while not self._done and (count is None or len(self._objects) < count):
            self._next_page()
        if not self._sorted:
            key, reverse = self._order.lstrip("+-"), self._order.startswith("-")
            self._objects.sort(key=lambda r: _get(r._doc(), key) or 0, reverse=reverse)
            self._sorted = True

    def __iter__(self) -> Iterator[Any]:
        i = 0
        while True:
            if i < len(self._objects) and self._sorted:
                yield self._objects[i]
                i += 1
            elif self._done and self._sorted:
                return
            else:
                self._load(i + 1)

    def __len__(self) -> int:
        self._load()
        return len(self._objects)

    def __bool__(self) -> bool:
        self._load(1)
        return bool(self._objects)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            stop = index.stop
            everything = stop is None or stop < 0 or (index.start or 0) < 0
            self._load(None if everything else stop)
        else:
            self._load(None if index < 0 else index + 1)
        return self._objects[index]

    def __repr__(self) -> str:
        return f"<Runs {self._path} ({len(self._objects)} read{', more' if self.more else ''})>"


def _get(doc: dict[str, Any], dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


_MISSING = object()


def _matches(doc: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key, cond in flt.items():
        if key == "$and":
            if not all(_matches(doc, c) for c in cond):
                return False
        elif key == "$or":
            if not any(_matches(doc, c) for c in cond):
                return False
        elif key == "$nor":
            if any(_matches(doc, c) for c in cond):
                return False
        else:
            value = _get(doc, key)
            if not _cond(value, cond):
                return False
    return True


def _cond(value: Any, cond: Any) -> bool:
    if not (isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)):
        if isinstance(value, list) and not isinstance(cond, list):
            return cond in value
        return value is not _MISSING and value == cond
    for op, arg in cond.items():
        if op == "$eq":
            ok = _cond(value, arg)
        elif op == "$ne":
            ok = not _cond(value, arg)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            try:
                ok = value is not _MISSING and {
                    "$gt": value > arg, "$gte": value >= arg, "$lt": value < arg, "$lte": value <= arg,
                }[op]
            except TypeError:
                ok = False
        elif op == "$in":
            ok = any(_cond(value, a) for a in arg)
        elif op == "$nin":
            ok = not any(_cond(value, a) for a in arg)
        elif op == "$exists":
            ok = (value is not _MISSING) == bool(arg)
        elif op == "$regex":
            ok = isinstance(value, str) and re.search(arg, value) is not None
        elif op == "$not":
            ok = not _cond(value, arg)
        else:
            raise UsageError(f"unsupported filter operator {op!r}")
        if not ok:
            return False
    return True
