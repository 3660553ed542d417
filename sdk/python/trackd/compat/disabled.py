"""W&B's ``wandb.sdk.lib.disabled``: ``RunDisabled`` and ``SummaryDisabled``.

In trackd (as in W&B since 0.19) ``init(mode="disabled")`` returns a real ``trackd.Run``, so
nothing is a ``RunDisabled``. The class stays for the integrations that name it in an
``isinstance`` check next to ``Run`` (Lightning, ray), where it must import.
"""

from __future__ import annotations

from typing import Any


class RunDisabled:
    """Placeholder W&B keeps for ``isinstance(run, (Run, RunDisabled))`` checks; disabled runs
    are :class:`trackd.Run` objects."""


class SummaryDisabled(dict):  # type: ignore[type-arg]
    """A dict whose keys read and write as attributes (nested dicts too), W&B's summary of a
    disabled run in older releases."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if isinstance(value, dict) and not isinstance(value, SummaryDisabled):
            value = SummaryDisabled(value)
            dict.__setitem__(self, key, value)
        return value
