"""W&B's ``wandb.util`` helpers that libraries call (ray: ``json_dumps_safer``; W&B-owned
integrations: ``get_module``, ``generate_id``...), with trackd's value conversion: what
``run.log`` accepts (numpy and torch values, enums, dates, paths...) converts the same here.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

from trackd._init.init import generate_id
from trackd._shared.values import normalize
from trackd.errors import Error

__all__ = ["WandBJSONEncoder", "generate_id", "get_module", "json_dumps_safer",
           "json_dumps_safer_history", "json_friendly", "json_friendly_val",
           "make_artifact_name_safe", "to_forward_slash_path"]

_PLAIN = (dict, list, tuple, str, int, float, bool, type(None))


def json_friendly(obj: Any) -> tuple[Any, bool]:
    """``(value, converted)``: ``obj`` as a value JSON can hold and whether it had to be
    converted. Containers and JSON values come back as they are (an encoder descends into
    them); a value trackd cannot log comes back unconverted."""
    if isinstance(obj, _PLAIN) and type(obj) in _PLAIN:
        return obj, False
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace"), True
    try:
        return normalize(obj, "value"), True
    except (TypeError, ValueError):
        return obj, False


def json_friendly_val(val: Any) -> Any:
    """``val`` with every nested value made JSON-friendly (unconvertible values are left)."""
    if isinstance(val, dict):
        return {k: json_friendly_val(v) for k, v in val.items()}
    if isinstance(val, (list, tuple)):
        return [json_friendly_val(v) for v in val]
    converted, _ = json_friendly(val)
    return converted


class WandBJSONEncoder(json.JSONEncoder):
    """A JSON encoder that converts what :func:`json_friendly` converts and refuses the rest
    (``TypeError``, as ``json.dumps`` does)."""

    def default(self, o: Any) -> Any:
        converted, ok = json_friendly(o)
        if ok:
            return converted
        return super().default(o)


def json_dumps_safer(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that also writes numpy/torch values, enums, dates...; ``TypeError`` for a
    value that has no JSON form."""
    return json.dumps(obj, cls=WandBJSONEncoder, **kwargs)


def json_dumps_safer_history(obj: Any, **kwargs: Any) -> str:
    """:func:`json_dumps_safer` (W&B's variant for history rows)."""
    return json_dumps_safer(obj, **kwargs)


def get_module(name: str, required: str | bool | None = None, lazy: bool = True) -> Any:
    """Import and return module ``name``; None when it is not installed, or
    :class:`trackd.Error` with ``required`` as the message (when it is a string) if
    ``required``. Imported at once (``lazy`` is accepted for W&B's signature)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if required:
            message = required if isinstance(required, str) else f"{name} is required"
            raise Error(message) from None
        return None


def to_forward_slash_path(path: str) -> str:
    """``path`` with backslashes turned into forward slashes."""
    return path.replace("\\", "/")


def make_artifact_name_safe(name: str) -> str:
    """``name`` with every character an artifact name cannot hold replaced by ``_`` (at most
    128 characters, as W&B cuts them)."""
    cleaned = re.sub(r"[^a-zA-Z0-9_\-.]", "_", name)
    if len(cleaned) <= 128:
        return cleaned
    return cleaned[:63] + ".." + cleaned[-63:]
