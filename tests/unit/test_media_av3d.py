"""Video, Audio, Html and Object3D on their own (no daemon): what they hold until encoded is
counted, staged to disk and read back unchanged, and a later change to the caller's data
does not reach what is stored."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import trackd
from trackd.media.base import Media, MemoryOut


def _values(tmp_path: Path) -> dict[str, Media]:
    mesh = tmp_path / "m.obj"
    mesh.write_bytes(b"v 0 0 0\n")
    rng = np.random.default_rng(0)
    return {
        "gif": trackd.Video(rng.integers(0, 256, (4, 3, 6, 8), dtype=np.uint8)),
        "mp4": trackd.Video(rng.integers(0, 256, (2, 4, 3, 6, 8), dtype=np.uint8),
                            format="mp4"),
        "video file": trackd.Video(io.BytesIO(b"GIF89a..."), format="gif"),
        "audio": trackd.Audio(rng.uniform(-1, 1, (400, 2)), sample_rate=8000),
        "point cloud": trackd.Object3D(rng.normal(size=(20, 6))),
        "scene": trackd.Object3D.from_point_cloud(rng.normal(size=(5, 3)), []),
        "mesh": trackd.Object3D(str(mesh)),
        "html": trackd.Html("<p>x</p>"),
    }


@pytest.mark.parametrize("name", ["gif", "mp4", "video file", "audio", "point cloud", "scene",
                                  "mesh", "html"])
def test_staged_values_encode_to_the_same_bytes(tmp_path, name):
    kept, staged = _values(tmp_path)[name], _values(tmp_path)[name]
    assert kept._raw_size() > 0
    staging = tmp_path / "staging"
    staging.mkdir()
    staged._spill(str(staging))
    if name != "html":  # an Html page is small text: it stays in memory
        assert staged._raw_size() == 0 and len(list(staging.iterdir())) == 1
    a, b = MemoryOut(), MemoryOut()
    assert kept._encode(a) == staged._encode(b)
    assert a.files == b.files
    assert list(staging.iterdir()) == []  # the staging file is gone once encoded


def test_later_changes_to_the_callers_arrays_are_not_stored():
    frames = np.full((3, 1, 4, 4), 7, dtype=np.uint8)
    samples = np.zeros(100)
    points = np.zeros((5, 3))
    values = [trackd.Video(frames), trackd.Audio(samples, 100), trackd.Object3D(points)]
    before = [v._encode(MemoryOut()) for v in values]
    frames[:] = 9
    samples[:] = 0.5
    points[:] = 1
    assert [v._encode(MemoryOut()) for v in values] == before


def test_video_grids_follow_the_batch_size():
    sizes = {b: (trackd.Video(np.zeros((b, 2, 3, 10, 20), np.uint8)).width,
                 trackd.Video(np.zeros((b, 2, 3, 10, 20), np.uint8)).height)
             for b in (1, 2, 3, 4, 5, 8, 16)}
    # W&B's grid: the batch padded to a power of two, 2**((bits - 1) // 2) rows.
    assert sizes == {1: (20, 10), 2: (40, 10), 3: (80, 10), 4: (40, 20), 5: (80, 20),
                     8: (80, 20), 16: (80, 40)}
