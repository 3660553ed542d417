"""What a data type holds between its constructor and its encoding, and how it gets it.

:class:`Held` keeps a private copy (bytes read from a file, or a NumPy array) in memory until
the run's encoder asks for it to be staged on disk (``Media._spill``). :func:`read_file`
reads what a data type is given as a file: a path, or a file object (read by its name in
binary when it has one, so a file opened in text mode is stored byte for byte).
:func:`to_numpy` turns a tensor into an array without importing its library.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from trackd.errors import Error


class Held:
    """Bytes or a NumPy array kept for a later encoding; :meth:`spill` moves it to a staging
    file, :meth:`take` gives it back (read again once, the staging file removed)."""

    def __init__(self, value: bytes | Any) -> None:
        self._value: Any = value
        self._staged: str | None = None
        self._is_bytes = isinstance(value, bytes)

    @property
    def size(self) -> int:
        """Bytes held in memory (0 once staged)."""
        if self._staged is not None:
            return 0
        return len(self._value) if self._is_bytes else int(self._value.nbytes)

    def spill(self, directory: str) -> None:
        if self._staged is not None:
            return
        name = os.urandom(16).hex() + (".bin" if self._is_bytes else ".npy")
        path = os.path.join(directory, name)
        if self._is_bytes:
            with open(path, "wb") as f:
                f.write(self._value)
        else:
            import numpy as np

            np.save(path, self._value, allow_pickle=False)
        self._staged, self._value = path, None

    def take(self) -> Any:
        """The value (read back from its staging file, which is then removed)."""
        if self._staged is not None:
            if self._is_bytes:
                with open(self._staged, "rb") as f:
                    self._value = f.read()
            else:
                import numpy as np

                self._value = np.load(self._staged, allow_pickle=False)
            os.unlink(self._staged)
            self._staged = None
        return self._value


def file_path(data: Any) -> str | None:
    """The path ``data`` names: a ``str``/``PathLike``, or a file object opened on a file
    (its ``name``); None for anything else (an in-memory stream, an array...)."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    name = getattr(data, "name", None)
    if hasattr(data, "read") and isinstance(name, (str, os.PathLike)) \
            and os.path.isfile(os.fspath(name)):
        return os.fspath(name)
    return None


def read_file(path: str, what: str) -> bytes:
    """The bytes of the file at ``path``.

    :raises FileNotFoundError: there is no such file (as W&B), naming it.
    :raises ValueError: it is a directory.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file: {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"{what}: {path!r} is not a file")
    with open(path, "rb") as f:
        return f.read()


def read_stream(stream: Any) -> bytes:
    """What a file object without a file behind it holds, from its start (text as UTF-8)."""
    if hasattr(stream, "seek"):
        try:
            stream.seek(0)
        except OSError:
            pass  # a pipe or socket: read what is left
    data = stream.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def to_numpy(data: Any) -> Any:
    """``data`` as a NumPy array if it is one or a tensor (torch, TensorFlow, JAX), else None;
    torch is detected by its type's module and never imported."""
    import numpy as np

    if isinstance(data, np.ndarray):
        return data
    module = type(data).__module__.split(".", 1)[0]
    if module == "torch" and hasattr(data, "detach"):
        return data.detach().cpu().numpy()
    if module in ("tensorflow", "jax", "jaxlib") and hasattr(data, "__array__"):
        return np.asarray(data)
    if hasattr(data, "numpy") and callable(data.numpy):  # other eager tensors, as W&B
        return np.asarray(data.numpy())
    return None


def require(module: str, package: str, what: str) -> None:
    """Check that the optional ``module`` can be imported (without importing it).

    :raises trackd.errors.Error: it cannot, naming the package to install (W&B's message).
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise Error(f'{what} requires the {package} package. To get it, run "pip install '
                    f'{package}" (or "pip install trackd[media]").')
