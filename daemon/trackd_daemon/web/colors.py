"""Each run's colour, the same on every page (workspace, compare page, media panels): the
palette entry of the run's rank among its project's runs by creation (pure).

A rank rather than a hash of the id, so the first runs of a project never share a colour; the
palette is long enough that a workspace of 20 runs draws 20 different lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from trackd_daemon.store.models import RunInfo

#: Distinct on white, in the order runs get them (plotly's ten, then ten of their own).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ad494a", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
)


def run_colors(runs: Iterable[RunInfo]) -> dict[str, str]:
    """The colour of each run of one project, by run id."""
    ordered = sorted(runs, key=lambda r: (r.created_at, r.key.run_id))
    return {r.key.run_id: PALETTE[i % len(PALETTE)] for i, r in enumerate(ordered)}
