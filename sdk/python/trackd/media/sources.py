"""Where a data type made again from what was read back (``Image._from_json``...) gets the
bytes of the files its JSON names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_source(source: Any, path: str) -> bytes:
    """The bytes of the file ``path`` (as a media dict names it) from ``source``: a run read
    back with ``trackd.Api().run(...)`` (its files), an artifact (its entries), a
    :class:`~trackd.media.base.MemoryOut` or a mapping of names to bytes, a directory the
    files were downloaded into, or a callable taking the path and returning the bytes (or a
    local file's path).

    :raises TypeError: ``source`` is none of these.
    """
    files = getattr(source, "files", None)
    if isinstance(source, Mapping) or isinstance(files, Mapping):
        data = (source if isinstance(source, Mapping) else files)[path]
        return bytes(data)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source).resolve()
        file = (root / path).resolve()
        if not file.is_relative_to(root):
            raise ValueError(f"refusing to read {path!r}: it is outside {os.fspath(source)!r}")
        return file.read_bytes()
    if hasattr(source, "get_entry"):  # an artifact
        return Path(source.get_entry(path).download()).read_bytes()
    if callable(getattr(source, "file", None)):  # a run from trackd.Api()
        return bytes(source.file(path).read_bytes())
    if callable(source):
        got = source(path)
        return Path(got).read_bytes() if isinstance(got, (str, os.PathLike)) else bytes(got)
    raise TypeError(f"cannot read {path!r} from a {type(source).__name__}: give a run from "
                    "trackd.Api(), an artifact, a directory or a callable")
