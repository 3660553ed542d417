"""The cells of a :class:`trackd.Table`: what a cell may hold, the type of a column, and a
cell's JSON in the table file.

A cell holds a number, a string, a bool, None, a list or dict of those, a date or time
(stored as milliseconds since the epoch, as W&B stores them), or a data type
(:class:`~trackd.media.base.Media` such as ``trackd.Image``, or an inline one such as
``trackd.Histogram``). Plain values are copied when the row is added (a later change to the
caller's list does not change the table); data types are already private copies.

Column types are W&B's ``wb_type`` names: ``number``, ``string``, ``boolean``, ``list``,
``dict``, ``timestamp``, a data type's ``_type`` (``image-file``, ``histogram``...), or
``any`` (``allow_mixed_types``); a column is optional (may hold None) unless made otherwise.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from trackd._shared.values import normalize
from trackd.media.base import Media, MediaOut

#: ``wb_type`` of a column that accepts anything.
ANY = "any"
#: ``wb_type`` of None (a column whose values are all None so far has no type yet).
NONE = "none"
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_PYTHON_TYPES = {int: "number", float: "number", str: "string", bool: "boolean",
                 list: "list", tuple: "list", dict: "dict", _dt.datetime: "timestamp",
                 _dt.date: "timestamp"}


def cell_value(value: Any, where: str) -> Any:
    """A private, loggable copy of one cell.

    :raises TypeError: a value that cannot be stored in a table.
    """
    if isinstance(value, Media) or getattr(type(value), "_trackd_json", None) is not None:
        return value  # data types keep their own private copy
    module = type(value).__module__.split(".", 1)[0]
    if module == "numpy":
        if type(value).__name__ == "datetime64":
            value = value.astype("datetime64[ms]").astype(object)
        elif hasattr(value, "tolist"):
            value = value.tolist()  # arrays stay lists in a table (no histogram)
    elif module == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu().tolist()
    elif module == "pandas" and type(value).__name__ == "Timestamp":
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return int((moment - _EPOCH).total_seconds() * 1000)
    if isinstance(value, _dt.date):
        return int((_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
                    - _EPOCH).total_seconds() * 1000)
    if isinstance(value, float) and value != value:
        return value  # NaN: a missing number, kept
    return normalize(value, where)


def kind_of(value: Any) -> str:
    """The ``wb_type`` of one cell (as stored by :func:`cell_value`)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, Media):
        return type(value)._log_type or type(value).__name__
    if getattr(type(value), "_trackd_json", None) is not None:
        return str(value._trackd_json().get("_type", type(value).__name__))
    return ANY


def type_of_dtype(dtype: Any) -> str:
    """The ``wb_type`` for a ``dtype`` given to ``Table`` or ``cast``: a Python type (``int``,
    ``str``...), a data type class (``trackd.Image``...), or a ``wb_type`` name.

    :raises TypeError: anything else.
    """
    if isinstance(dtype, str):
        return dtype
    if dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    if isinstance(dtype, type) and issubclass(dtype, Media) and dtype._log_type:
        return dtype._log_type
    if isinstance(dtype, type) and getattr(dtype, "_trackd_json", None) is not None:
        return dtype.__name__.lower()
    if dtype is None or dtype is Any:
        return ANY
    raise TypeError(f"Table: {dtype!r} is not a column type (give int, float, str, bool, list, "
                    "dict, a data type such as trackd.Image, or a type name)")


def accepts(column_type: str, optional: bool, kind: str) -> bool:
    """Whether a column of ``column_type`` takes a cell of ``kind``."""
    if kind == NONE:
        return optional
    return column_type in (ANY, NONE, kind)


def cell_json(value: Any, out: MediaOut | None) -> Any:
    """One cell as the table file holds it: a data type's JSON dict (its files written through
    ``out``), else the value itself."""
    if isinstance(value, Media):
        if out is None:
            return type(value).__name__  # no place for its files
        return value._encode(out)
    to_json = getattr(type(value), "_trackd_json", None)
    if to_json is not None:
        return to_json(value)
    return value


def column_types_json(types: dict[str, str], optional: dict[str, bool]) -> dict[str, Any]:
    """W&B's ``column_types`` of a table file (a ``typedDict`` of the columns' types)."""
    type_map: dict[str, Any] = {}
    for name, kind in types.items():
        one = {"wb_type": kind}
        if optional.get(name, True) and kind not in (ANY, NONE):
            one = {"wb_type": "union", "params": {"allowed_types": [one, {"wb_type": NONE}]}}
        type_map[name] = one
    return {"wb_type": "typedDict", "params": {"type_map": type_map}}


def column_types_from_json(json: Any) -> tuple[dict[str, str], dict[str, bool]]:
    """The columns' types and whether each is optional, from W&B's ``column_types``."""
    types: dict[str, str] = {}
    optional: dict[str, bool] = {}
    type_map = (json or {}).get("params", {}).get("type_map", {}) if isinstance(json, dict) else {}
    for name, one in type_map.items():
        if not isinstance(one, dict):
            continue
        if one.get("wb_type") == "union":
            allowed = [a.get("wb_type") for a in one.get("params", {}).get("allowed_types", [])
                       if isinstance(a, dict)]
            rest = [a for a in allowed if a != NONE]
            types[name] = rest[0] if len(rest) == 1 else ANY
            optional[name] = NONE in allowed
        else:
            types[name] = str(one.get("wb_type", ANY))
            optional[name] = types[name] in (ANY, NONE)
    return types, optional
