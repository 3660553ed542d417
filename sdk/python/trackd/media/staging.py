"""Values staged to disk while they wait for the run's media encoder (its memory bound, see
:mod:`trackd.media.pipeline`): each is written to a file under the run's staging directory and
mapped back read-only, so the value keeps working (the file is removed once encoded; the
mapping stays valid until the value is dropped)."""

from __future__ import annotations

import mmap
import os
import uuid
from typing import Any


class Staged:
    """The staged files of one value."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def put_bytes(self, directory: str, data: Any) -> mmap.mmap:
        """``data`` (bytes-like, not empty) written to a file; its read-only mapping."""
        path = os.path.join(directory, f"{uuid.uuid4().hex}.bin")
        with open(path, "wb") as f:
            f.write(data)
        self.paths.append(path)
        with open(path, "rb") as f:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def put_array(self, directory: str, array: Any) -> Any:
        """``array`` (NumPy) written to a file; a read-only array mapped from it."""
        import numpy as np

        path = os.path.join(directory, f"{uuid.uuid4().hex}.npy")
        np.save(path, array)
        self.paths.append(path)
        return np.load(path, mmap_mode="r")

    def remove(self) -> None:
        """Remove the files (once the value is encoded)."""
        for path in self.paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.paths.clear()
