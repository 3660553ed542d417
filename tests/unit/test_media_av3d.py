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


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_gifs_keep_every_frame_identical_ones_too(tmp_path, channels):
    import imageio_ffmpeg
    from PIL import Image as PILImage

    frames = np.zeros((10, channels, 12, 16), dtype=np.uint8)
    frames[4:7] = 255  # runs of identical frames: black, white, black
    out = MemoryOut()
    data = out.files[trackd.Video(frames, fps=5)._encode(out)["path"]]
    with PILImage.open(io.BytesIO(data)) as im:
        assert (im.n_frames, im.size, im.info.get("loop")) == (10, (16, 12), 0)
        for i in range(10):
            im.seek(i)
            assert im.info["duration"] == 200
            pixels = np.asarray(im.convert("RGBA"))  # opaque: an alpha channel is dropped
            assert (pixels == [frames[i, 0, 0, 0]] * 3 + [255]).all()
    path = tmp_path / "v.gif"
    path.write_bytes(data)
    assert imageio_ffmpeg.count_frames_and_secs(str(path)) == (10, 2.0)


def test_gif_frames_with_transparent_pixels_do_not_show_through_each_other():
    from PIL import Image as PILImage

    from trackd.media.gif import animated_gif

    first = np.zeros((4, 8, 4), np.uint8)
    first[:, :4] = [255, 0, 0, 255]  # red left half, right half transparent
    second = np.zeros((4, 8, 4), np.uint8)
    second[:, 4:] = [0, 0, 255, 255]  # blue right half, left half transparent
    data = animated_gif([PILImage.fromarray(f) for f in (first, second)], 100)
    with PILImage.open(io.BytesIO(data)) as im:
        assert im.n_frames == 2
        im.seek(1)
        pixels = np.asarray(im.convert("RGBA"))
    assert pixels[0, 0, 3] == 0 and list(pixels[0, 7]) == [0, 0, 255, 255]
