"""Early termination by Hyperband, with W&B's semantics.

Bands are iteration counts (the n-th value of the metric a run logged): ``min_iter * eta**i``
for i = 0, 1, ..., or ``max_iter / eta**i`` for 1 <= i <= s (those of at least 1), truncated to
integers. At each band, the threshold is the value at rank ``int(len/eta)`` (best first) among
the values every run that reached the band (in any state) logged there. A running run is judged
at the last band it reached: it is stopped when its value there (``strict``, the default), or
its best value so far (not strict), is worse than that band's threshold.
"""

from __future__ import annotations

import math
from typing import Any

from ._config import is_number
from ._runs import RUNNING, SearchRun, goal_of


def bands(early_terminate: dict[str, Any], longest: int) -> list[int]:
    """The bands (sorted) up to ``longest`` iterations."""
    eta = early_terminate["eta"]
    found: list[int] = []
    if "min_iter" in early_terminate:
        band = float(early_terminate["min_iter"])
        while int(band) <= longest:
            found.append(int(band))
            band *= eta
    else:
        band = float(early_terminate["max_iter"])
        for _ in range(early_terminate["s"]):
            band /= eta
            if band < 1:
                break
            found.append(int(band))
    return sorted(set(found))


def _losses(config: dict[str, Any], run: SearchRun) -> list[float]:
    # Finite values only, negated for maximize: lower is better below.
    sign = -1.0 if goal_of(config) == "maximize" else 1.0
    return [sign * float(v) for v in run.history if is_number(v)]


def runs_to_stop(config: dict[str, Any], runs: list[SearchRun]) -> list[str]:
    """Ids of the running runs (not already stopped early) that Hyperband stops now."""
    et = config.get("early_terminate")
    if not et or not config.get("metric"):
        return []
    histories = {run.run_id: _losses(config, run) for run in runs}
    longest = max((len(h) for h in histories.values()), default=0)
    rank_share = 1.0 / et["eta"]
    thresholds: dict[int, float] = {}
    for band in bands(et, longest):
        reached = sorted(h[band - 1] for h in histories.values() if len(h) >= band)
        thresholds[band] = reached[int(rank_share * len(reached))] if reached else math.inf
    stop: list[str] = []
    for run in runs:
        if run.state != RUNNING or run.stopped_early:
            continue
        history = histories[run.run_id]
        reached_bands = [b for b in thresholds if b <= len(history)]
        if not reached_bands:
            continue
        band = reached_bands[-1]
        judged = history[band - 1] if et.get("strict", True) else min(history)
        if judged > thresholds[band]:
            stop.append(run.run_id)
    return stop
