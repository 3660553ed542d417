"""What the data types hold until encoded (``trackd.media.staging.Held``) on its own, and every
data type staged by the encoder's memory bound (no daemon): stored the same, no file left."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import trackd
from trackd._shared.values import normalize_row
from trackd.media.base import MemoryOut
from trackd.media.pipeline import Jobs, MediaEncoder
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


def _values(tmp_path) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    (tmp_path / "mesh.obj").write_bytes(b"v 0 0 0\n")
    return {
        "first": trackd.Html("<p>kept in memory: the bound lets one value in</p>"),
        "image": trackd.Image(pixels, masks={"m": {"mask_data": rng.integers(0, 3, (6, 7))}}),
        "pil": trackd.Image(PILImage.fromarray(pixels).convert("P")),
        "video": trackd.Video(rng.integers(0, 256, (3, 3, 4, 4), dtype=np.uint8)),
        "audio": trackd.Audio(rng.uniform(-1, 1, 800), sample_rate=8000),
        "mesh": trackd.Object3D(str(tmp_path / "mesh.obj")),
        "histogram": trackd.Histogram(rng.normal(size=1000)),
    }


def test_the_encoder_stages_every_data_type_and_stores_the_same(tmp_path):
    expected = {k: v._encode(MemoryOut()) for k, v in _values(tmp_path).items()}
    logged = _values(tmp_path)
    encoder = MediaEncoder(tmp_path / "run" / "files", None, memory_bound=1, workers=1)
    jobs = Jobs()
    row = normalize_row(logged, jobs)
    encoder.submit(jobs, 0).result(30)
    staging = tmp_path / "run" / "tmp" / "media"
    assert list(staging.iterdir()) == []  # each staged file removed once encoded
    assert {job.key: job.spilled for job in jobs} == {k: k != "first" for k in logged}
    assert all(h.staged for k, v in logged.items() if k != "first" for h in v._held())
    assert all(v._held() for k, v in logged.items() if k not in ("first", "histogram"))
    assert logged["histogram"]._held() == ()  # counted: its copy (and file) dropped
    for key in logged:
        if key == "histogram":
            assert row[key] == expected[key]
        else:
            assert row[key]["sha256"] == expected[key]["sha256"], key
    assert row["image"]["masks"]["m"]["sha256"] == expected["image"]["masks"]["m"]["sha256"]
    assert encoder.close(10)
