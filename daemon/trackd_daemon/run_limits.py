"""The limits on a run's fields (``trackd._shared.run_fields``) as the daemon's errors.

Every way a field reaches the daemon goes through here: ``CreateRun`` (``rpc/convert.py``),
a fork's merged config (``actors/registry.py``), and run updates and config records in the
record stream (``records.parse_intake`` and ``RunSession.measure_config``). A field over its
limit is INVALID_ARGUMENT with ``field`` in the error's metadata; for a streamed record the
whole batch is refused and nothing of it is kept, as for any malformed record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackd._shared.run_fields import ConfigChange, ConfigSize, FieldLimitError, check_run_fields
from trackd_daemon.errors import InvalidArgumentError, InvalidRecordError


def check_fields(fields: Mapping[str, Any]) -> None:
    """:raises InvalidArgumentError: a string or the tags over their limit (see
    ``check_run_fields``)."""
    try:
        check_run_fields(fields)
    except FieldLimitError as exc:
        raise InvalidArgumentError(str(exc), field=exc.field) from None


def check_record_fields(seq: int, fields: Mapping[str, Any]) -> None:
    """:func:`check_fields` for a streamed run update.

    :raises InvalidRecordError: naming the record and the field.
    """
    try:
        check_run_fields(fields)
    except FieldLimitError as exc:
        raise InvalidRecordError(f"record {seq}: {exc}", seq=str(seq),
                                 field=f"run_update.{exc.field}") from None


def check_config(config: Mapping[str, Any]) -> None:
    """A whole config (a new run's, a fork's merged one).

    :raises InvalidArgumentError: more keys or bytes than a config may have.
    """
    change = ConfigSize().change()
    try:
        change.add(config)
    except FieldLimitError as exc:
        raise InvalidArgumentError(str(exc), field="config") from None


def measure_config(size: ConfigSize, records: Iterable[Any]) -> ConfigChange:
    """The change that config ``records`` (``records.Config``) make to a run's config of
    ``size``; nothing is applied until the caller commits it.

    :raises InvalidRecordError: the config would grow over its limits (naming the record).
    """
    change = size.change()
    for rec in records:
        try:
            change.add(rec.update, rec.remove)
        except FieldLimitError as exc:
            raise InvalidRecordError(f"record {rec.seq}: {exc}", seq=str(rec.seq),
                                     field="config") from None
    return change
