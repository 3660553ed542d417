"""What the data types hold until encoded (``trackd.media.staging.Held``) on its own, and a
Histogram staged by the encoder's memory bound (no daemon)."""

from __future__ import annotations

import numpy as np
import pytest

import trackd
from trackd.media.base import MemoryOut
from trackd.media.staging import Held


@pytest.mark.parametrize("value", [b"some bytes", np.arange(12, dtype=np.int16).reshape(3, 4)],
                         ids=["bytes", "array"])
def test_a_staged_value_reads_the_same_and_its_file_goes_once_taken(tmp_path, value):
    held = Held(value)
    assert held.size == (value.nbytes if isinstance(value, np.ndarray) else len(value))
    held.spill(str(tmp_path))
    held.spill(str(tmp_path))  # once staged, staying so
    assert held.staged and held.size == 0 and len(list(tmp_path.iterdir())) == 1
    assert bytes(held.value) == bytes(value)
    taken = held.take()
    assert list(tmp_path.iterdir()) == []  # removed once read for the encoding...
    assert bytes(taken) == bytes(value) and bytes(held.value) == bytes(value)  # ...still mapped
    if isinstance(value, np.ndarray):
        with pytest.raises(ValueError, match="read-only"):
            taken[0, 0] = 1  # a mapping of the file: nothing can change what is logged


def test_an_empty_value_is_not_staged(tmp_path):
    held = Held(b"")
    held.spill(str(tmp_path))
    assert not held.staged and held.take() == b"" and list(tmp_path.iterdir()) == []


def test_a_staged_histogram_counts_the_same_and_leaves_no_file(tmp_path):
    values = np.random.default_rng(1).normal(size=10_000)
    kept, staged = trackd.Histogram(values, num_bins=20), trackd.Histogram(values, num_bins=20)
    assert staged._raw_size() == values.nbytes
    staged._spill(str(tmp_path))
    assert staged._raw_size() == 0 and len(list(tmp_path.iterdir())) == 1
    assert kept._encode(MemoryOut()) == staged._encode(MemoryOut())
    assert list(tmp_path.iterdir()) == []
