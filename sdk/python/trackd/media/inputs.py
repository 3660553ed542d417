"""What the data types are given, read: files and streams, arrays and tensors.

:func:`file_path` and :func:`read_file` read what a data type is given as a file: a path, or a
file object (read by its name in binary when it has one, so a file opened in text mode is
stored byte for byte); :func:`read_stream` a file object with no file behind it.
:func:`to_numpy` turns a tensor into an array without importing its library (torch is never
imported: a tensor is told apart by the module of its type, :func:`is_torch`).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from trackd.errors import Error


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


def is_torch(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch)."""
    return type(value).__module__.split(".", 1)[0] == "torch"


def to_numpy(data: Any) -> Any:
    """``data`` as a NumPy array if it is one or a tensor (torch, TensorFlow, JAX), else None;
    torch is detected by its type's module and never imported. A torch tensor may be on any
    device, and what its graph holds is not needed."""
    import numpy as np

    if isinstance(data, np.ndarray):
        return data
    if is_torch(data) and hasattr(data, "detach"):
        return data.detach().cpu().numpy()
    module = type(data).__module__.split(".", 1)[0]
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
