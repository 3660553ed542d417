"""``trackd.plot``: W&B's custom charts (``wandb.plot.line``, ``pr_curve``...), each a
:class:`trackd.Table` plus the Vega spec that draws it.

``run.log({"k": trackd.plot.line(table, "x", "y")})`` stores the table under ``k_table`` and
the chart as ``_wandb.visualize.k`` in the run's config.
"""

from __future__ import annotations

from trackd.plot.charts import bar, histogram, line, line_series, scatter
from trackd.plot.curves import confusion_matrix, pr_curve, roc_curve
from trackd.plot.custom_chart import CustomChart, plot_table

__all__ = ["CustomChart", "bar", "confusion_matrix", "histogram", "line", "line_series",
           "plot_table", "pr_curve", "roc_curve", "scatter"]
