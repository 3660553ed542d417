"""A custom chart (W&B's ``wandb.plot.CustomChart``): a :class:`trackd.Table` and the Vega
spec that draws it.

``run.log({"k": chart})`` logs the table under ``k_table`` (``Custom Chart Tables/k_table``
with ``split_table=True``) and records the panel in the run's config as
``_wandb.visualize.k`` (:mod:`trackd._run.tables`), as W&B does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.table import Table

#: The section that holds the tables of charts logged with ``split_table=True``.
SPLIT_SECTION = "Custom Chart Tables"


class CustomChart(Media):
    """``table`` drawn by the Vega spec ``spec_name`` (``wandb/line/v0``...), its fields
    (``{"x": "step", ...}``: the spec's fields mapped to the table's columns) and its
    string settings (``{"title": ...}``).

    :raises TypeError: ``table`` is not a ``trackd.Table``.
    :raises ValueError: a field names a column the table does not have.
    """

    _trackd_chart: ClassVar[bool] = True
    _log_type: ClassVar[str] = "table-file"

    def __init__(self, spec_name: str, table: Table, fields: dict[str, Any],
                 string_fields: dict[str, Any] | None = None, split_table: bool = False,
                 panel_type: str = "Vega2") -> None:
        if not isinstance(table, Table):
            raise TypeError(f"a custom chart draws a trackd.Table, got {type(table).__name__}")
        for field, column in fields.items():
            if column is not None and column not in table.columns:
                raise ValueError(f"chart field {field!r} names column {column!r}, which the "
                                 f"table does not have (columns: {table.columns})")
        self.spec_name = spec_name
        self.table = table
        self.fields = dict(fields)
        self.string_fields = dict(string_fields or {})
        self.split_table = bool(split_table)
        self.panel_type = panel_type

    def _table_key(self, key: str) -> str:
        """The history key of the chart's table when logged under ``key``."""
        table_key = f"{key}_table"
        return f"{SPLIT_SECTION}/{table_key}" if self.split_table else table_key

    def _panel_config(self, table_key: str) -> dict[str, Any]:
        """W&B's ``_wandb.visualize.<key>`` value: the Vega2 panel reading ``table_key``."""
        return {
            "panel_type": self.panel_type,
            "panel_config": {
                "panelDefId": self.spec_name,
                "fieldSettings": dict(self.fields),
                "stringSettings": dict(self.string_fields),
                "transform": {"name": "tableWithLeafColNames"},
                "userQuery": {"queryFields": [{
                    "name": "runSets",
                    "args": [{"name": "runSets", "value": "${runSets}"}],
                    "fields": [
                        {"name": "id", "fields": []},
                        {"name": "name", "fields": []},
                        {"name": "_defaultColorIndex", "fields": []},
                        {"name": "summaryTable",
                         "args": [{"name": "tableKey", "value": table_key}], "fields": []},
                    ],
                }]},
            },
        }

    def _raw_size(self) -> int:
        return self.table._raw_size()

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        """Outside ``run.log()`` (a summary value): its table's JSON."""
        return self.table._snapshot()._encode(out)

    def __repr__(self) -> str:
        return f"<trackd.plot.CustomChart {self.spec_name} of {self.table!r}>"


def plot_table(vega_spec_name: str, data_table: Table, fields: dict[str, Any],
               string_fields: dict[str, Any] | None = None,
               split_table: bool = False) -> CustomChart:
    """A custom chart of ``data_table`` drawn by the Vega spec ``vega_spec_name`` (W&B's
    ``wandb.plot_table``)."""
    return CustomChart(vega_spec_name, data_table, fields, string_fields, split_table)
