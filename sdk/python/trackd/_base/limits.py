"""The run field limits (``trackd._shared.run_fields``) as the SDK's error, raised where the
user sets a field: ``init()``, ``run.name``/``notes``/``tags``, ``run.config`` changes. A
field over its limit never reaches the record stream (the daemon would refuse the whole batch
it travels in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackd._shared.run_fields import ConfigChange, FieldLimitError, check_run_fields
from trackd.errors import FieldTooLargeError


def check_fields(fields: Mapping[str, Any]) -> None:
    """:raises FieldTooLargeError: a name, notes, tags, group or job type over its limit."""
    try:
        check_run_fields(fields)
    except FieldLimitError as exc:
        raise FieldTooLargeError(str(exc), exc.field) from None


def add_config(change: ConfigChange, update: Mapping[str, Any], remove: Iterable[str] = ()) -> None:
    """:raises FieldTooLargeError: the config would grow over its limits."""
    try:
        change.add(update, remove)
    except FieldLimitError as exc:
        raise FieldTooLargeError(str(exc), exc.field) from None
