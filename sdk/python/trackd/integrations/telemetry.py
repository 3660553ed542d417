"""W&B's ``wandb.sdk.lib.telemetry.context``, which every W&B-owned integration enters to mark
the features it uses: ``with telemetry.context(run=run) as tel: tel.feature.keras = True``.

trackd sends no usage telemetry anywhere; the context hands out a :class:`Record` that takes
such marks (any attribute path) and keeps them on the record, readable while it lives, so the
integrations run unchanged and nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Record:
    """Attributes set on it are kept; reading an unset one gives a nested record (so
    ``tel.feature.sb3 = True`` works), as W&B's protobuf message does."""

    def __init__(self) -> None:
        object.__setattr__(self, "_fields", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "_fields")
        if name not in fields:
            fields[name] = Record()
        return fields[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self._fields[name] = value

    def as_dict(self) -> dict[str, Any]:
        """What was set, nested records as dicts (records never set are left out)."""
        out: dict[str, Any] = {}
        for name, value in self._fields.items():
            if isinstance(value, Record):
                value = value.as_dict()
                if not value:
                    continue
            out[name] = value
        return out


@contextmanager
def context(run: Any = None, obj: Any = None) -> Iterator[Record]:
    """Yield a :class:`Record` for the caller's marks (``obj``: one to fill instead)."""
    yield obj if isinstance(obj, Record) else Record()
