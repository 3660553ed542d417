"""``trackd.Histogram``: the seed's example run as written, W&B's JSON read back, and its
constructor's variants and errors (nothing logged before a bad value is lost)."""

from __future__ import annotations

import numpy as np
import pytest

import trackd
from tests.e2e.refusals import refused_losing_nothing
from trackd import Api


def test_the_seed_histogram_example_reads_back_as_numpy_computes_it(clean_sdk):
    import trackd as wandb

    # The seed's example, as written (but for the import line).
    gradients = np.random.randn(100, 100)
    run = wandb.init()
    run.log({"gradients": wandb.Histogram(gradients)})
    run.finish()

    counts, edges = np.histogram(gradients, 64)
    (row,) = Api().run(run.path).scan_history()
    assert row["gradients"]["_type"] == "histogram"
    assert row["gradients"]["values"] == counts.tolist()
    assert row["gradients"]["bins"] == pytest.approx(edges.tolist())
    assert Api().run(run.path).summary["gradients"]["values"] == counts.tolist()


def test_variants_and_later_changes_to_the_input(clean_sdk):
    values = np.arange(10.0)
    made = trackd.Histogram(values, num_bins=5)
    values[:] = 100.0  # what was logged was counted when the Histogram was made
    with trackd.init(project="hist") as run:
        run.log({"h": made})
        run.log({"h": trackd.Histogram(np_histogram=np.histogram([1, 2, 2, 3], bins=3))})
        run.log({"h": trackd.Histogram([1.0, float("nan"), 2.0, float("inf")], num_bins=2)})
        run.log({"h": trackd.data_types.Histogram(np_histogram=([1, 2], [0.0, 0.5, 1.0]))})
    rows = [r["h"] for r in Api().run(run.path).scan_history()]
    assert rows[0] == {"_type": "histogram", "values": [2, 2, 2, 2, 2],
                       "bins": [0.0, 1.8, 3.6, 5.4, 7.2, 9.0]}
    assert rows[1]["values"] == [1, 2, 1]
    assert rows[2]["values"] == [1, 1]  # NaN and infinity are left out
    assert rows[3] == {"_type": "histogram", "values": [1, 2], "bins": [0.0, 0.5, 1.0]}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "give a sequence"),
    ({"sequence": [1, 2], "np_histogram": ([1], [0, 1])}, "not both"),
    ({"sequence": [1, 2], "num_bins": 513}, "from 1 to 512"),
    ({"sequence": [1, 2], "num_bins": 0}, "from 1 to 512"),
    ({"np_histogram": ([1, 2, 3],)}, "pair"),
    ({"np_histogram": ([1, 2, 3], [0, 1, 2])}, "one more bin edge than counts"),
    ({"np_histogram": (["a"], [0, 1])}, "must be a number"),
])
def test_bad_arguments_are_refused_and_lose_nothing(clean_sdk, kwargs, match):
    refused_losing_nothing("hist-bad", lambda: trackd.Histogram(**kwargs), ValueError, match)
