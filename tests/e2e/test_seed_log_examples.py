"""Every example of the seed's ``Run.log`` section, run word for word (but for the import line)
against the real daemon, then read back through ``trackd.Api()`` as a user would."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.seed_examples import run_log_example
from trackd import Api


def _run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         **given: Any) -> tuple[dict[str, Any], Any]:
    """Run the example titled ``name`` in ``tmp_path``; its namespace and its run as read back."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns = run_log_example(name, **given)
    ns["run"].finish()
    return ns, Api().run(ns["run"].path)


def _file(api_run: Any, path: str, tmp_path: Path) -> bytes:
    with open(api_run.file(path).download(root=str(tmp_path / "dl"), replace=True).name,
              "rb") as f:
        return f.read()


def test_basic_usage_and_incremental_logging(clean_sdk, tmp_path, monkeypatch):
    _, basic = _run("Basic usage", tmp_path, monkeypatch)
    assert [(r["accuracy"], r["epoch"]) for r in basic.scan_history()] == [(0.9, 5)]
    _, incremental = _run("Incremental logging", tmp_path, monkeypatch)
    (row,) = incremental.scan_history()
    assert (row["loss"], row["accuracy"], row["_step"]) == (0.2, 0.8, 0)


def test_histogram(clean_sdk, tmp_path, monkeypatch):
    ns, run = _run("Histogram", tmp_path, monkeypatch)
    (row,) = run.scan_history()
    counts, edges = np.histogram(ns["gradients"], 64)
    assert row["gradients"]["_type"] == "histogram"
    assert row["gradients"]["values"] == counts.tolist()
    assert row["gradients"]["bins"] == pytest.approx(edges.tolist())


@pytest.mark.parametrize("name", ["Image from NumPy", "Image from PIL"])
def test_images(clean_sdk, tmp_path, monkeypatch, name):
    ns, run = _run(name, tmp_path, monkeypatch)
    (row,) = run.scan_history()
    group = row["examples"]
    assert group["_type"] == "images/separated" and group["count"] == 3
    assert (group["width"], group["height"], group["format"]) == (100, 100, "png")
    assert group["captions"] == [f"random field {i}" for i in range(3)]
    last = PILImage.open(io.BytesIO(_file(run, group["filenames"][2], tmp_path)))
    assert np.array_equal(np.asarray(last), ns["pixels"].astype(np.uint8))


def test_video(clean_sdk, tmp_path, monkeypatch):
    ns, run = _run("Video from NumPy", tmp_path, monkeypatch)
    (row,) = run.scan_history()
    video = row["video"]
    assert video["_type"] == "video-file" and video["path"].endswith(".gif")
    gif = PILImage.open(io.BytesIO(_file(run, video["path"], tmp_path)))
    assert gif.n_frames == 10 and gif.size == (100, 100)
    assert gif.info["duration"] == 250  # fps=4


def test_matplotlib_plot(clean_sdk, tmp_path, monkeypatch):
    ns, run = _run("Matplotlib plot", tmp_path, monkeypatch)
    (row,) = run.scan_history()
    chart = row["chart"]
    assert chart["_type"] == "plotly-file"
    figure = json.loads(_file(run, chart["path"], tmp_path))
    (trace,) = figure["data"]
    assert trace["x"] == pytest.approx(ns["x"].tolist())
    assert trace["y"] == pytest.approx(ns["y"].tolist())


def test_pr_curve(clean_sdk, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    y_test = rng.integers(0, 3, 200)
    y_probas = rng.dirichlet(np.ones(3), 200)
    labels = ["cat", "dog", "bird"]
    _, run = _run("PR Curve", tmp_path, monkeypatch, y_test=y_test, y_probas=y_probas,
                  labels=labels)
    (row,) = run.scan_history()
    table = row["pr_table"]
    assert table["_type"] == "table-file"
    content = json.loads(_file(run, table["path"], tmp_path))
    assert set(content["columns"]) == {"class", "precision", "recall"}
    classes = {r[content["columns"].index("class")] for r in content["data"]}
    assert classes == set(labels)
    visualize = run.config["_wandb"]["visualize"]["pr"]
    assert visualize["panel_type"] == "Vega2"
    assert visualize["panel_config"]["panelDefId"] == "wandb/area-under-curve/v0"


def _glb() -> bytes:
    doc = json.dumps({"asset": {"version": "2.0"}}).encode()
    doc += b" " * (-len(doc) % 4)
    return struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(doc)) + \
        struct.pack("<I4s", len(doc), b"JSON") + doc


def test_3d_objects(clean_sdk, tmp_path, monkeypatch):
    samples = {
        "sample.obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        "sample.gltf": json.dumps({"asset": {"version": "2.0"}}).encode(),
        "sample.glb": _glb(),
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
    _, run = _run("3D Object", tmp_path, monkeypatch)
    (row,) = run.scan_history()
    group = row["generated_samples"]
    assert group["_type"] == "object3D" and group["count"] == 3
    stored = [_file(run, obj["path"], tmp_path) for obj in group["objects"]]
    assert stored == list(samples.values())
    assert [obj["path"].rsplit(".", 1)[1] for obj in group["objects"]] == ["obj", "gltf", "glb"]
