"""``run.summary``: one value per key, shown for the run as a whole.

By default a key's summary is the last value logged; ``define_metric`` can make it an
aggregate (min/max/mean/first/last/best). Reads ask the daemon (after everything logged before
the read has been delivered), so they see its aggregations; writes are sent as summary records
and end any aggregation of that key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trackd._shared.values import normalize
from trackd.media.pipeline import Jobs


class Summary:
    """Dict-like view of a run's summary."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        send: Callable[..., None],  # (updates, removes[, jobs]): the run's summary writer
    ) -> None:
        object.__setattr__(self, "_fetch", fetch)
        object.__setattr__(self, "_send", send)

    def _as_dict(self) -> dict[str, Any]:
        return self._fetch()

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several keys."""
        data = dict(d or {}, **kwargs)
        for k in data:
            if not isinstance(k, str):
                raise TypeError(f"summary keys must be strings, got {k!r}")
        jobs = Jobs()  # data types stored as files (trackd.Image...): encoded in the background
        self._send([((k,), normalize(v, k, jobs)) for k, v in data.items()], [], jobs)

    def get(self, key: str, default: Any = None) -> Any:
        data = self._fetch()
        return _wrap(self, (key,), data[key]) if key in data else default

    def keys(self) -> list[str]:
        return list(self._fetch().keys())

    def values(self) -> list[Any]:
        return list(self._fetch().values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._fetch().items())

    def __getitem__(self, key: str) -> Any:
        return _wrap(self, (key,), self._fetch()[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self._fetch():
            raise KeyError(key)
        self._send([], [(key,)])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        data = self._fetch()
        if key not in data:
            raise AttributeError(f"summary has no key {key!r}")
        return _wrap(self, (key,), data[key])

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __contains__(self, key: object) -> bool:
        return key in self._fetch()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._fetch())

    def __repr__(self) -> str:
        return repr(self._fetch())


class SummarySubDict(dict):  # type: ignore[type-arg]
    """A nested summary value; setting an item sets that nested key in the run's summary."""

    def __init__(self, owner: Summary, path: tuple[str, ...], data: dict[str, Any]) -> None:
        super().__init__(data)
        self._owner = owner
        self._path = path

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._owner, self._path + (key,), super().__getitem__(key))

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        jobs = Jobs()
        self._owner._send([(self._path + (key,), normalize(value, key, jobs))], [], jobs)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._owner._send([], [self._path + (key,)])


def _wrap(owner: Summary, path: tuple[str, ...], value: Any) -> Any:
    if type(value) is dict:
        return SummarySubDict(owner, path, value)
    return value
