"""Random search: every parameter drawn independently from its distribution."""

from __future__ import annotations

from typing import Any

from . import _distributions as dists
from ._runs import SearchRun
from ._space import nest, params_of


def next_random_params(config: dict[str, Any], runs: list[SearchRun], seed: int) -> dict[str, Any]:
    """One draw, nested; the stream depends on the seed and the number of runs so far, so each
    proposal the controller records leads to a new one."""
    import numpy as np  # loaded by the first draw (see trackd_daemon.store.series)

    rng = np.random.default_rng([seed, len(runs)])
    return nest([(p.path, dists.ppf(p.spec, float(rng.random()))) for p in params_of(config)])
