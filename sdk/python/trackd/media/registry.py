"""Data types made again from their JSON dicts as read back (W&B's ``_type`` names them):
what ``Table`` cells, ``Artifact.get`` and readers of a run's history use.

``source(path)`` returns the local path of the file that a dict's ``path`` names (a run's
file or an artifact's entry, fetched when needed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from trackd.media.base import Media
from trackd.media.histogram import Histogram

Source = Callable[[str], str]


def _subclasses(cls: type[Media]) -> Iterator[type[Media]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def media_class(type_name: str) -> type[Media] | None:
    """The data type stored as ``type_name`` (its ``_type``, or the name in an artifact's
    ``<name>.<type>.json``), among the data types loaded."""
    for cls in _subclasses(Media):
        if type_name in (cls._log_type, getattr(cls, "_artifact_type", None)):
            return cls
    return None


def from_json(json: dict[str, Any], source: Source) -> Any:
    """The value a JSON dict stands for: a data type made again, or the dict itself when its
    ``_type`` is none this version knows."""
    type_name = json.get("_type")
    if type_name == "histogram":
        return Histogram(np_histogram=(json.get("values", []), json.get("bins", [])))
    cls = media_class(str(type_name)) if type_name else None
    if cls is None or cls._from_json.__func__ is Media._from_json.__func__:  # type: ignore[attr-defined]
        return json  # a type this version cannot make again: its dict as read
    return cls._from_json(json, source)
