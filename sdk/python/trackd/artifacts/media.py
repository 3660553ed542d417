"""Data types in artifacts (W&B's ``Artifact.add(obj, name)`` and ``Artifact.get(name)``).

``add`` encodes the value in the call: its JSON goes into the artifact as
``<name>.<type>.json`` (``samples.table.json``, ``cat.image-file.json``,
``grads.histogram.json``) and its files under ``media/<subdir>/`` named by their content, the
paths in the JSON relative to the artifact's root. ``get`` reads the JSON back and makes the
value again (:mod:`trackd.media.registry`), fetching the files it names from the artifact.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from trackd._base import messages
from trackd._transport.setup import current_settings
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.media.base import Media, MemoryOut
from trackd.media.registry import from_json
from trackd.media.table import Table

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact


def add(artifact: Artifact, obj: Any, name: str, overwrite: bool) -> ArtifactManifestEntry:
    """Add ``obj`` (a data type) as ``<name>.<type>.json`` and its files.

    :raises TypeError: ``obj`` is not a data type.
    :raises ValueError: ``name`` is taken (without ``overwrite``), or a table over
        ``Table.MAX_ARTIFACT_ROWS`` rows while the settings ask for an error.
    """
    out = MemoryOut()
    if isinstance(obj, Table):
        type_name, body = "table", _table(obj)._artifact_json(out)
    elif isinstance(obj, Media):
        type_name = type(obj)._log_type
        body = obj._encode(out)
    elif getattr(type(obj), "_trackd_json", None) is not None:
        body = obj._trackd_json()
        type_name = str(body.get("_type", type(obj).__name__.lower()))
    else:
        raise TypeError(f"Artifact.add takes a data type (trackd.Table, trackd.Image, "
                        f"trackd.Histogram...), got {type(obj).__name__}; add files with "
                        "add_file() or new_file()")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Artifact.add: name must be a non-empty string, got {name!r}")
    suffix = f".{type_name}.json"
    path = name if name.endswith(suffix) else name + suffix
    if not overwrite and path in artifact.manifest.entries:
        raise ValueError(f"File with name {path!r} already exists in the artifact")
    for file_path, data in out.files.items():  # named by content: the same name, the same bytes
        with artifact.new_file(file_path, mode="wb") as f:
            f.write(data)
    with artifact.new_file(path, mode="w", encoding="utf-8") as f:
        json.dump(body, f, separators=(",", ":"))
    return artifact.manifest.entries[path]


def _table(table: Table) -> Table:
    """The rows that go into an artifact: at most ``Table.MAX_ARTIFACT_ROWS`` (W&B's limit)."""
    limit = Table.MAX_ARTIFACT_ROWS
    if len(table.data) > limit:
        settings = current_settings()
        if settings.get("table_raise_on_max_row_limit_exceeded") or settings.get("strict"):
            raise ValueError(f"Table row limit exceeded: table has {len(table.data)} rows, limit "
                             f"is {limit}. To increase the maximum number of allowed rows in a "
                             "trackd.Table, override the limit with "
                             "`trackd.Table.MAX_ARTIFACT_ROWS = X` and try again.")
        messages.warn(settings, f"Truncating trackd.Table object to {limit} rows.", stacklevel=4)
    return table._snapshot(0, limit)


def get(artifact: Artifact, name: str) -> Any:
    """The data type stored as ``name`` (``name.<type>.json``, or that exact path), made again;
    None when there is none."""
    entries = artifact.manifest.entries
    found = name if name in entries else next(
        (p for p in entries if p.startswith(f"{name}.") and p.endswith(".json")
         and "/" not in p[len(name) + 1:]), None)
    if found is None:
        return None

    def source(path: str) -> str:
        return artifact.get_entry(path).download()

    with open(source(found), encoding="utf-8") as f:
        body = json.load(f)
    if not isinstance(body, dict):
        raise ValueError(f"Artifact.get: {found!r} does not hold a data type's JSON")
    if "_type" not in body:  # written elsewhere: the type its name gives (<name>.<type>.json)
        body = {**body, "_type": found.removesuffix(".json").rsplit(".", 1)[-1]}
    return from_json(body, source)
