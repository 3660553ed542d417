"""Video, Audio, Html and Object3D made again from what was stored: ``Artifact.add`` and
``Artifact.get``, Table cells holding them, and ``from_json`` of a run's history row (its
files read from the daemon)."""

from __future__ import annotations

import io
import json
import wave

import numpy as np

import trackd
from trackd import Api
from trackd.media.base import Media, MemoryOut


def _stored(value: Media) -> dict[str, bytes]:
    out = MemoryOut()
    value._encode(out)
    return out.files


def _values() -> dict[str, object]:
    rng = np.random.default_rng(3)
    return {
        "clip": trackd.Video(rng.integers(0, 256, (5, 3, 8, 10), dtype=np.uint8), fps=5,
                             caption="five frames"),
        "sound": trackd.Audio(rng.uniform(-1, 1, 800), sample_rate=8000, caption="noise"),
        "page": trackd.Html("<p>report</p>"),
        "cloud": trackd.Object3D(rng.normal(size=(7, 3)), caption="seven points"),
    }


def test_artifact_add_and_get_round_trip(clean_sdk):
    values = _values()
    art = trackd.Artifact("av3d", "dataset")
    for name, value in values.items():
        art.add(value, name)
    assert {"clip.video-file.json", "sound.audio-file.json", "page.html-file.json",
            "cloud.object3D-file.json"} <= set(art.manifest.entries)
    with trackd.init(project="av3d-art") as run:
        run.log_artifact(art).wait()
    got = Api().artifact("av3d-art/av3d:latest")

    clip = got.get("clip")
    assert isinstance(clip, trackd.Video) and clip.caption == "five frames"
    assert (clip.format, clip.width, clip.height) == ("gif", 10, 8)
    sound = got.get("sound")
    assert isinstance(sound, trackd.Audio) and sound.caption == "noise"
    assert (sound.duration, sound.sample_rate) == (0.1, 8000)
    page = got.get("page")
    assert isinstance(page, trackd.Html) and page.html.endswith("<p>report</p>")
    cloud = got.get("cloud")
    assert isinstance(cloud, trackd.Object3D) and cloud.caption == "seven points"
    for name, again in (("clip", clip), ("sound", sound), ("page", page), ("cloud", cloud)):
        # Made again, each stores the very bytes it was made from.
        assert list(_stored(again).values()) == list(_stored(values[name]).values())


def test_tables_hold_them_and_rows_make_them_again(clean_sdk, tmp_path):
    values = _values()
    table = trackd.Table(columns=list(values), data=[list(values.values())])
    with trackd.init(project="av3d-rows") as run:
        run.log(dict(values))
        run.log({"table": table})
    api_run = Api().run(run.path)
    rows = list(api_run.scan_history())

    clip = trackd.Video.from_json(rows[0]["clip"], api_run)
    assert (clip.width, clip.height, clip.caption) == (10, 8, "five frames")
    sound = trackd.Audio.from_json(rows[0]["sound"], api_run)
    assert (sound.duration, sound.sample_rate) == (0.1, 8000)
    with wave.open(io.BytesIO(next(iter(_stored(sound).values())))) as w:
        assert w.getnframes() == 800
    page = trackd.Html.from_json(rows[0]["page"], api_run)
    assert page.html.endswith("<p>report</p>")
    cloud = trackd.Object3D.from_json(rows[0]["cloud"], api_run)
    (points,) = _stored(cloud).values()
    assert np.array_equal(json.loads(points), np.asarray(json.loads(
        next(iter(_stored(values["cloud"]).values())))))

    with trackd.init(project="av3d-rows") as reader:
        got = reader.use_artifact(f"run-{run.id}-table:latest").get("table")
    (row,) = got.data
    assert [type(cell) for cell in row] == [trackd.Video, trackd.Audio, trackd.Html,
                                            trackd.Object3D]
    assert [list(_stored(cell).values()) for cell in row] == [
        list(_stored(value).values()) for value in values.values()]


def test_an_offline_run_keeps_its_media_and_sync_stores_them(clean_sdk):
    import os
    import subprocess
    import sys

    values = _values()
    with trackd.init(project="av3d-offline", mode="offline") as run:
        run.log(dict(values))
        sync_dir, run_id = run.settings.sync_dir, run.id
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "sync", str(sync_dir)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         check=False)
    assert out.returncode == 0, out.stderr
    api_run = Api().run(f"av3d-offline/{run_id}")
    (row,) = api_run.scan_history()
    assert [row[k]["_type"] for k in values] == ["video-file", "audio-file", "html-file",
                                                  "object3D-file"]
    for name, value in values.items():
        (data,) = _stored(value).values()
        assert api_run.file(row[name]["path"]).read_bytes() == data
