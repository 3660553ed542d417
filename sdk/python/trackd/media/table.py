"""``trackd.Table``: rows and columns logged as a table file (W&B's ``wandb.Table``).

``run.log({"samples": table})`` writes ``media/table/<key>_<step>_<hash>.table.json``
(``{"columns": [...], "data": [[...]], ...}``, a data type in a cell written as its JSON dict
whose ``path`` names the cell's own media file) and puts W&B's ``table-file`` dict in the row;
the run also logs it as a ``run_table`` artifact (:mod:`trackd._run.tables`).
``artifact.add(table, "name")`` stores it as ``name.table.json`` in an artifact.

The table is encoded on the run's media encoder, from a snapshot taken when it is logged: rows
added afterwards are not part of that row.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from trackd._shared.values import CONVERTERS
from trackd.errors import Error
from trackd.media import table_cells as cells
from trackd.media.base import Media, MediaOut
from trackd.media.registry import from_json
from trackd.media.sources import read_source

#: W&B's log modes: logged once (IMMUTABLE), logged again after each change (MUTABLE), or
#: logged as the rows added since the last log (INCREMENTAL).
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
DEFAULT_COLUMNS = ["Input", "Output", "Expected"]
IMMUTABLE_CHANGED = ("You are mutating a Table with log_mode='IMMUTABLE' that has been logged "
                     "already. Subsequent log() calls will have no effect. Set "
                     "log_mode='MUTABLE' to enable re-logging after mutations")


class Table(Media):
    """A table of rows: numbers, text, lists, dicts, dates, and data types (``trackd.Image``,
    ``trackd.Histogram``...) in its cells.

    :param columns: the column names (default ``["Input", "Output", "Expected"]``; a
        DataFrame's own columns with ``dataframe``).
    :param data: the rows (a list of lists, a 2-D NumPy array or a ``pandas.DataFrame``);
        ``rows`` is the older name.
    :param dtype: one column type for all columns, or a list of one per column (``int``,
        ``str``, ``trackd.Image``...); otherwise a column takes the type of its first value.
    :param optional: whether columns may hold None (one bool, or one per column).
    :param allow_mixed_types: columns accept values of any type.
    :param log_mode: ``IMMUTABLE`` (default), ``MUTABLE`` or ``INCREMENTAL``.
    :raises ValueError: a row whose length is not the number of columns, an unknown
        ``log_mode``, columns that are not a list of str or int.
    :raises TypeError: a value whose type is not its column's.
    """

    #: Rows of a table logged to a run, and of one added to an artifact (W&B's limits).
    MAX_ROWS: ClassVar[int] = 10_000
    MAX_ARTIFACT_ROWS: ClassVar[int] = 200_000
    _log_type: ClassVar[str] = "table-file"
    #: ``<name>.<_artifact_type>.json`` in an artifact.
    _artifact_type: ClassVar[str] = "table"

    def __init__(self, columns: Sequence[Any] | None = None, data: Any = None,
                 rows: Any = None, dataframe: Any = None, dtype: Any = None,
                 optional: bool | Sequence[bool] = True, allow_mixed_types: bool = False,
                 log_mode: str | None = "IMMUTABLE") -> None:
        mode = "IMMUTABLE" if log_mode is None else log_mode
        if mode not in LOG_MODES:
            raise ValueError(f"Table: log_mode must be one of {', '.join(LOG_MODES)}, got "
                             f"{log_mode!r}")
        self.log_mode: str = mode
        self._lock = threading.RLock()
        self._version = 0  # changes made so far (a MUTABLE table is logged again after one)
        self._log_state: dict[str, Any] = {}  # kept by the runs that log it
        if dataframe is None and _is_dataframe(data):
            dataframe, data = data, None
        if dataframe is not None:
            columns = [str(c) if not isinstance(c, int) else c for c in dataframe.columns]
            data = [[None if _missing(v) else v for v in row]  # pandas' NaN/NaT/NA: None
                    for row in dataframe.itertuples(index=False, name=None)]
        elif data is None:
            data = rows
        if columns is None:
            columns = list(DEFAULT_COLUMNS)
        self._set_columns(columns, dtype, optional, allow_mixed_types)
        self.data: list[list[Any]] = []
        if data is not None:
            if type(data).__module__.split(".", 1)[0] == "numpy":
                if data.ndim != 2:
                    raise ValueError(f"Table: data must be 2-D (rows × columns), got an array "
                                     f"of shape {data.shape}")
            elif not isinstance(data, (list, tuple)):
                raise TypeError(f"Table: data must be a list of rows, a 2-D NumPy array or a "
                                f"pandas.DataFrame, got {type(data).__name__}")
            for row in data:
                self.add_data(*row)

    def _set_columns(self, columns: Any, dtype: Any, optional: Any,
                     allow_mixed_types: bool) -> None:
        if not isinstance(columns, (list, tuple)) or not all(
                type(c) in (str, int) for c in columns):
            raise ValueError(f"Table: columns must be a list of str (or int), got {columns!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"Table: column names must be unique, got {list(columns)!r}")
        self.columns: list[Any] = list(columns)
        n = len(self.columns)
        dtypes = dtype if isinstance(dtype, (list, tuple)) else [dtype] * n
        optionals = optional if isinstance(optional, (list, tuple)) else [optional] * n
        if len(dtypes) != n or len(optionals) != n:
            raise ValueError(f"Table: give one dtype and one optional per column ({n} columns)")
        self._types: dict[Any, str] = {}
        self._optional: dict[Any, bool] = {}
        for name, one, opt in zip(self.columns, dtypes, optionals, strict=True):
            self._types[name] = cells.ANY if allow_mixed_types else (
                cells.NONE if one is None else cells.type_of_dtype(one))
            self._optional[name] = bool(opt)

    # -- changing it ---------------------------------------------------------------------------

    def _changed(self) -> None:
        self._version += 1
        if self.log_mode == "IMMUTABLE" and self._log_state.get("logged"):
            warnings.warn(IMMUTABLE_CHANGED, UserWarning, stacklevel=3)

    def _not_incremental(self, operation: str) -> None:
        if self.log_mode == "INCREMENTAL":
            raise Error(f"Operation '{operation}' is not supported for tables with "
                        "log_mode='INCREMENTAL'. Use a different log mode like 'MUTABLE' or "
                        "'IMMUTABLE'.")

    def _checked_row(self, values: Sequence[Any], where: str) -> list[Any]:
        if len(values) != len(self.columns):
            raise ValueError(f"This table expects {len(self.columns)} columns: {self.columns}, "
                             f"found {len(values)}")
        row = []
        for name, value in zip(self.columns, values, strict=True):
            cell = cells.cell_value(value, f"{where}[{name!r}]")
            self._check_cell(name, cell, where)
            row.append(cell)
        return row

    def _check_cell(self, name: Any, cell: Any, where: str) -> None:
        kind = cells.kind_of(cell)
        have = self._types[name]
        if not cells.accepts(have, self._optional[name], kind):
            what = "None" if kind == cells.NONE else f"a {kind}"
            raise TypeError(f"Table: {where} column {name!r} holds {what}, but the column's type "
                            f"is {have}{'' if self._optional[name] else ' (not optional)'}; "
                            "use allow_mixed_types=True or cast() the column")

    def _learn_types(self, row: list[Any]) -> None:
        for name, cell in zip(self.columns, row, strict=True):
            if self._types[name] == cells.NONE and cell is not None:
                self._types[name] = cells.kind_of(cell)

    def add_data(self, *data: Any) -> None:
        """Add one row (one value per column).

        :raises ValueError: not one value per column.
        :raises TypeError: a value whose type is not its column's.
        """
        with self._lock:
            row = self._checked_row(data, f"row {len(self.data)}")
            self._learn_types(row)
            self.data.append(row)
            self._changed()

    def add_row(self, *row: Any) -> None:
        """The older name of :meth:`add_data`."""
        self.add_data(*row)

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Add a column (one value per row; for an empty table, the rows it makes).

        :raises ValueError: the name is taken, or not one value per row.
        :raises TypeError: the values are not all of one type.
        """
        self._not_incremental("add_column")
        if type(name) not in (str, int) or name in self.columns:
            raise ValueError(f"Table: column name {name!r} must be a new str")
        values = data.tolist() if hasattr(data, "tolist") else data
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"Table: column data must be a list or an array, got "
                            f"{type(data).__name__}")
        with self._lock:
            if self.data and len(values) != len(self.data):
                raise ValueError(f"Table: expected {len(self.data)} values for column {name!r} "
                                 f"(one per row), found {len(values)}")
            new = [cells.cell_value(v, f"column {name!r}") for v in values]
            kinds = {cells.kind_of(v) for v in new} - {cells.NONE}
            if len(kinds) > 1:
                raise TypeError(f"Table: column {name!r} holds values of several types "
                                f"({', '.join(sorted(kinds))})")
            if any(v is None for v in new) and not optional:
                raise TypeError(f"Table: column {name!r} holds None but is not optional")
            self.columns.append(name)
            self._types[name] = kinds.pop() if kinds else cells.NONE
            self._optional[name] = bool(optional)
            if self.data:
                self.data = [[*row, v] for row, v in zip(self.data, new, strict=True)]
            else:
                self.data = [[None] * (len(self.columns) - 1) + [v] for v in new]
            self._changed()

    def add_computed_columns(self, fn: Callable[[int, dict[str, Any]], dict[str, Any]]) -> None:
        """Add the columns ``fn(index, row)`` returns (a dict of name to value) for each row."""
        self._not_incremental("add_computed_columns")
        computed = [fn(i, dict(zip(self.columns, row, strict=True)))
                    for i, row in enumerate(self.data)]
        for name in (computed[0] if computed else {}):
            self.add_column(name, [c[name] for c in computed], optional=True)

    def cast(self, col_name: Any, dtype: Any, optional: bool = False) -> None:
        """Set the type of column ``col_name`` (``int``, ``str``, ``trackd.Image``...).

        :raises ValueError: no such column.
        :raises TypeError: a value already in the column is not of that type.
        """
        if col_name not in self.columns:
            raise ValueError(f"Table: no column {col_name!r} (columns: {self.columns})")
        kind = cells.type_of_dtype(dtype)
        with self._lock:
            index = self.columns.index(col_name)
            for i, row in enumerate(self.data):
                have = cells.kind_of(row[index])
                if not cells.accepts(kind, optional, have):
                    raise TypeError(f"Table: cannot cast column {col_name!r} to {kind}: row {i} "
                                    f"holds {'None' if have == cells.NONE else 'a ' + have}")
            self._types[col_name] = kind
            self._optional[col_name] = bool(optional)
            self._changed()

    # -- reading it ----------------------------------------------------------------------------

    def get_column(self, name: Any, convert_to: str | None = None) -> Any:
        """The values of column ``name``; ``convert_to="numpy"`` for a NumPy array.

        :raises ValueError: no such column, or another ``convert_to``.
        """
        if name not in self.columns:
            raise ValueError(f"Table: no column {name!r} (columns: {self.columns})")
        if convert_to not in (None, "numpy"):
            raise ValueError(f"Table: convert_to must be None or 'numpy', got {convert_to!r}")
        index = self.columns.index(name)
        values = [row[index] for row in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        """The rows' indexes (0, 1, ...)."""
        return list(range(len(self.data)))

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for each row."""
        for i, row in enumerate(self.data):
            yield i, row

    def get_dataframe(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs pandas: ``pip install trackd[media]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Table.get_dataframe() needs pandas: pip install pandas (or "
                              "trackd[media])") from None
        return pd.DataFrame(data=[list(r) for r in self.data], columns=list(self.columns))

    @property
    def ncols(self) -> int:
        return len(self.columns)

    @property
    def nrows(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Table) and self.columns == other.columns
                and self.data == other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<trackd.Table {len(self.data)} rows × {len(self.columns)} columns>"

    # -- logging and reading back --------------------------------------------------------------

    def _snapshot(self, first: int = 0, limit: int | None = None) -> Table:
        """A copy of rows ``first:first+limit`` that later changes to this table do not reach
        (rows are never changed in place, so the row lists are shared)."""
        with self._lock:
            copy = object.__new__(Table)
            copy.log_mode = self.log_mode
            copy._lock = threading.RLock()
            copy._version = self._version
            copy._log_state = {}
            copy.columns = list(self.columns)
            copy._types = dict(self._types)
            copy._optional = dict(self._optional)
            end = None if limit is None else first + limit
            copy.data = self.data[first:end]
            copy._total_rows = len(self.data)
            copy._is_snapshot = True
            return copy

    #: Set on a snapshot logged to a run: more fields for its JSON, and what to do once its
    #: files are written (log the run_table artifact).
    _extra_json: dict[str, Any] = {}
    _on_stored: Callable[[MediaOut, dict[str, Any]], None] | None = None
    _encoded: dict[str, Any] | None = None
    _total_rows: int | None = None
    _is_snapshot = False

    def _raw_size(self) -> int:
        return sum(c._raw_size() for row in self.data for c in row if isinstance(c, Media))

    def _spill(self, directory: str) -> None:
        for row in self.data:
            for c in row:
                if isinstance(c, Media):
                    c._spill(directory)

    def _artifact_json(self, out: MediaOut | None) -> dict[str, Any]:
        """The table file's content (W&B's ``table`` JSON), cells' files written to ``out``."""
        return {
            "_type": "table", "columns": list(self.columns),
            "data": [[cells.cell_json(c, out) for c in row] for row in self.data],
            "ncols": len(self.columns), "nrows": len(self.data),
            "column_types": cells.column_types_json(self._types, self._optional),
        }

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        if not self._is_snapshot:  # not through run.log() (a summary value...): its rows now
            return self._snapshot()._encode(out)
        with self._lock:  # a snapshot logged under several rows is stored once
            if self._encoded is None:
                body = json.dumps(self._artifact_json(out), separators=(",", ":")).encode()
                stored = out.put("table", "table.json", body)
                total = len(self.data) if self._total_rows is None else self._total_rows
                encoded = {"_type": self._log_type, **stored, "ncols": len(self.columns),
                           "nrows": total, "log_mode": self.log_mode, **self._extra_json}
                if self._on_stored is not None:
                    self._on_stored(out, encoded)
                self._encoded = encoded
                self.data = []  # the cells' data are stored: let them go
            return dict(self._encoded)

    @classmethod
    def _from_json(cls, json_: dict[str, Any], source: Any) -> Table:
        """The table from a ``table-file`` dict (its file read from ``source``, see
        :func:`~trackd.media.sources.read_source`) or a table file's content."""
        body = json_
        if json_.get("_type") in ("table-file", "incremental-table-file"):
            body = json.loads(read_source(source, json_["path"]))
        columns = body.get("columns")
        if not isinstance(columns, list) or not isinstance(body.get("data"), list):
            raise ValueError("Table: the table file has no columns and data")
        types, optional = cells.column_types_from_json(body.get("column_types"))
        table = cls(columns=columns, allow_mixed_types=True)
        for name in columns:
            table._types[name] = types.get(name, cells.ANY)
            table._optional[name] = optional.get(name, True)
        for row in body["data"]:
            if not isinstance(row, list) or len(row) != len(columns):
                raise ValueError(f"Table: a row of the table file does not have "
                                 f"{len(columns)} cells")
            table.data.append([from_json(c, source) if isinstance(c, dict) and "_type" in c
                               else c for c in row])
        return table


def _missing(value: Any) -> bool:
    """A missing value as pandas writes it (NaN, NaT, NA)."""
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NaTType", "NAType") or (
        type(value).__module__.split(".", 1)[0] == "numpy" and getattr(value, "ndim", 1) == 0
        and value != value)


def _is_dataframe(value: Any) -> bool:
    t = type(value)
    return t.__module__.split(".", 1)[0] == "pandas" and t.__name__ == "DataFrame"


CONVERTERS[("pandas", "DataFrame")] = lambda frame: Table(dataframe=frame)
