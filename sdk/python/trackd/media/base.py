"""What every data type stored as files has in common (W&B's ``wandb.sdk.data_types.Media``).

A data type is made in the caller's thread: its constructor validates the input (errors reach
the caller) and keeps a private copy of what it needs (a later change to the caller's array
does not change what is logged), but encodes nothing. The encoding (PNG, GIF, WAV, JSON...)
runs later in :meth:`Media._encode`, on a background worker of the run
(:mod:`trackd.media.pipeline`) or, for ``Artifact.add``, in the call. ``_encode`` writes each
file it makes through a :class:`MediaOut` and returns W&B's JSON dict for the value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from trackd.media.staging import Held


class MediaOut(Protocol):
    """Where an encoded data type puts its files: a run's files directory (named
    ``media/<subdir>/<key>_<step>_<sha256[:20]>.<ext>``) or an artifact (named by content)."""

    def put(self, subdir: str, ext: str, data: bytes) -> dict[str, Any]:
        """Store ``data`` as one file; returns ``{"path", "sha256", "size"}`` for the JSON."""
        ...


class Media:
    """Base of the data types logged as files.

    Subclasses set ``_log_type`` (W&B's ``_type``, such as ``"image-file"``) and implement
    ``_encode``; what they keep until then is in :class:`~trackd.media.staging.Held` copies
    that ``_held`` lists: the run's encoder bounds the memory they take (``_raw_size``) and
    stages them to disk past that bound (``_spill``); ``_encode`` reads each with ``take``.
    """

    #: Marks the data types stored as files, for code that cannot import this module.
    _trackd_media: ClassVar[bool] = True
    _log_type: ClassVar[str] = ""
    #: W&B's ``_type`` of a list of this type logged under one key (``None``: a plain list).
    _list_type: ClassVar[str | None] = None

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        """Encode this value, write its files through ``out``; returns its JSON dict.
        Runs on a background thread: it must not touch the caller's objects."""
        raise TypeError(f"{type(self).__name__} does not define how it is stored")

    def _held(self) -> Sequence[Held]:
        """The private copies this value keeps until it is encoded (its pixels, samples, a
        file's bytes...); what :meth:`_raw_size` counts and :meth:`_spill` stages."""
        return ()

    def _raw_size(self) -> int:
        """Bytes this value holds in memory until it is encoded (for the encoder's memory
        bound)."""
        return sum(held.size for held in self._held())

    def _spill(self, directory: str) -> None:
        """Stage what this value holds in memory to files under ``directory`` (the run's
        staging directory, see :class:`~trackd.media.staging.Held`)."""
        for held in self._held():
            held.spill(directory)

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        """A list of values of this type logged under one key: W&B's grouped dict where it
        has one (``images/separated``, ``videos``...), else a list of the values' dicts."""
        return [item._encode(out) for item in items]

    @classmethod
    def from_json(cls, json_obj: dict[str, Any], source_artifact: Any) -> Media:
        """W&B's name for making a value again from its JSON dict as read back:
        ``source_artifact`` is where its files are (a run from ``trackd.Api()``, an artifact,
        a directory...; see :func:`trackd.media.sources.read_source`)."""
        return cls._from_json(json_obj, source_artifact)

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Media:
        """Make the value again from its JSON dict as read back; ``source(path)`` returns the
        local path of the file a ``path`` names (a run's or an artifact's, fetched when needed)."""
        raise TypeError(f"{cls.__name__} cannot be made again from what was logged")


def digest(data: bytes) -> str:
    """The SHA-256 hex digest W&B puts in a media dict (and, cut to 20, in its file name)."""
    return hashlib.sha256(data).hexdigest()


class MemoryOut:
    """A :class:`MediaOut` that keeps the files in memory (``files``: name -> bytes), named
    ``media/<subdir>/<sha256[:20]>.<ext>``: what ``Artifact.add`` and tests use."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, subdir: str, ext: str, data: bytes) -> dict[str, Any]:
        sha = digest(data)
        path = f"media/{subdir}/{sha[:20]}.{ext}"
        self.files[path] = data
        return {"path": path, "sha256": sha, "size": len(data)}
