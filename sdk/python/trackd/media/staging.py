"""What a data type holds between its constructor and its encoding, and its staging to disk for
the run's media encoder (its memory bound, see :mod:`trackd.media.pipeline`).

A :class:`Held` is a private copy (bytes, or a NumPy array): later changes to the caller's data
never reach it. Past the encoder's memory bound it is written to a file under the run's staging
directory and mapped back read-only (:meth:`Held.spill`), so the value keeps working in any
thread; the file is removed once the value is read for its encoding (:meth:`Held.take`; the
mapping stays valid until the value is dropped).
"""

from __future__ import annotations

import mmap
import os
import uuid
from typing import Any


class Held:
    """Bytes or a NumPy array kept for a later encoding: ``value`` is it, in memory or (once
    staged) a read-only mapping of its staging file."""

    __slots__ = ("_path", "staged", "value")

    def __init__(self, value: Any) -> None:
        self.value: Any = value
        self.staged = False
        self._path: str | None = None

    @property
    def size(self) -> int:
        """Bytes held in memory (0 once staged)."""
        if self.staged:
            return 0
        nbytes = getattr(self.value, "nbytes", None)
        return int(nbytes) if nbytes is not None else len(self.value)

    def spill(self, directory: str) -> None:
        """Write the value to a file under ``directory`` and keep a read-only mapping of it."""
        if self.staged or self.size == 0:  # an empty file cannot be mapped; nothing to free
            return
        if isinstance(self.value, (bytes, bytearray, memoryview)):
            path = os.path.join(directory, f"{uuid.uuid4().hex}.bin")
            with open(path, "wb") as f:
                f.write(self.value)
            with open(path, "rb") as f:
                mapped: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            import numpy as np

            path = os.path.join(directory, f"{uuid.uuid4().hex}.npy")
            np.save(path, self.value, allow_pickle=False)
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        self.value, self.staged, self._path = mapped, True, path

    def take(self) -> Any:
        """The value, for its encoding: its staging file (if any) is removed."""
        if self._path is not None:
            try:
                os.unlink(self._path)
            except OSError:
                pass
            self._path = None
        return self.value
