"""Media logged through a run against the real daemon: rows keep their order while their
images are encoded in the background, finish() waits for the encoder, and a summary can hold
a data type."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image as PILImage

import trackd
from trackd import Api


def _pixels(run: trackd.Run, path: str) -> np.ndarray:
    data = Api().run(run.path).file(path).download(root=str(run.dir) + "-dl", replace=True)
    with open(data.name, "rb") as f:
        return np.asarray(PILImage.open(io.BytesIO(f.read())))


def test_rows_after_a_slow_image_wait_for_it_and_keep_their_order(clean_sdk):
    big = np.random.randint(0, 256, (1500, 1500, 3), dtype=np.uint8)  # a slow PNG
    with trackd.init(project="media-order") as run:
        run.log({"loss": 0.0})
        run.log({"big": trackd.Image(big), "loss": 1.0})
        for i in range(2, 50):
            run.log({"loss": float(i)})
    rows = list(Api().run(run.path).scan_history())
    assert [r["_step"] for r in rows] == list(range(50))
    assert [r["loss"] for r in rows] == [float(i) for i in range(50)]
    img = rows[1]["big"]
    assert img["_type"] == "image-file" and img["width"] == img["height"] == 1500
    assert img["path"] == f"media/images/big_1_{img['sha256'][:20]}.png"
    assert np.array_equal(_pixels(run, img["path"]), big)


def test_many_images_logged_quickly_are_all_stored(clean_sdk):
    frames = [np.full((32, 32), i, dtype=np.uint8) for i in range(200)]
    with trackd.init(project="media-many") as run:
        for i, frame in enumerate(frames):
            run.log({"frame": trackd.Image(frame)}, step=i)
    api_run = Api().run(run.path)
    rows = list(api_run.scan_history())
    assert len(rows) == 200
    names = {f.name for f in api_run.files()}
    assert all(r["frame"]["path"] in names for r in rows)
    assert _pixels(run, rows[123]["frame"]["path"])[0, 0] == 123


def test_the_summary_can_hold_an_image(clean_sdk):
    with trackd.init(project="media-summary") as run:
        run.summary["best"] = trackd.Image(np.zeros((4, 6), dtype=np.uint8))
        run.summary.update({"worst": trackd.Image(np.ones((2, 2), dtype=np.uint8))})
    summary = Api().run(run.path).summary
    assert summary["best"]["_type"] == "image-file" and summary["best"]["width"] == 6
    assert summary["worst"]["height"] == 2
    names = {f.name for f in Api().run(run.path).files()}
    assert summary["best"]["path"] in names and summary["worst"]["path"] in names


def test_every_data_type_is_made_again_with_wandbs_from_json(clean_sdk):
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    with trackd.init(project="media-from-json") as run:
        run.log({"t": trackd.Table(columns=["a", "img"], data=[[1, trackd.Image(pixels)]]),
                 "h": trackd.Histogram([1, 2, 2, 3], num_bins=3),
                 "c": trackd.Plotly(go.Figure(go.Scatter(x=[0, 1], y=[1, 3])))})
    api_run = Api().run(run.path)
    (row,) = api_run.scan_history()
    table = trackd.Table.from_json(row["t"], api_run)
    assert table.columns == ["a", "img"] and table.data[0][0] == 1
    assert np.array_equal(np.asarray(table.data[0][1].image), pixels)
    hist = trackd.Histogram.from_json(row["h"], api_run)
    chart = trackd.Plotly.from_json(row["c"], api_run)
    assert chart._figure["data"][0]["y"] == [1, 3]
    assert hist.histogram == [1, 2, 1] and len(hist.bins) == 4
