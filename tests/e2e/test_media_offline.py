"""Media logged by an offline run stay in its run directory and ``trackd sync`` (the CLI)
stores them: the rows hold W&B's dicts and the files read back as logged."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import trackd
from trackd import Api


def test_offline_media_are_stored_by_trackd_sync(clean_sdk, tmp_path):
    import plotly.graph_objects as go
    from matplotlib import pyplot as plt
    from PIL import Image as PILImage

    pixels = np.random.default_rng(3).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 4])
    run = trackd.init(project="offline-media", mode="offline")
    for step in range(3):
        run.log({"img": trackd.Image(pixels, caption=f"step {step}"), "loss": 1.0 / (step + 1)})
    run.log({"chart": fig, "plot": trackd.Plotly(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))})
    run.finish()
    plt.close(fig)
    sync_dir = Path(run.settings.sync_dir)
    media = sorted(p.relative_to(sync_dir / "files").as_posix()
                   for p in (sync_dir / "files" / "media").rglob("*") if p.is_file())
    assert len(media) == 5, media  # three images (one per step), two charts
    assert not list(Api().runs(f"{run.entity}/offline-media"))  # nothing stored yet

    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "sync", str(sync_dir)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "state finished" in out.stdout, out.stdout

    stored = Api().run(run.path)
    rows = stored.history(pandas=False)
    assert [r["loss"] for r in rows[:3]] == [1.0, 0.5, 1.0 / 3]
    names = {f.name for f in stored.files()}
    assert set(media) <= names
    for step, row in enumerate(rows[:3]):
        image = row["img"]
        assert image["_type"] == "image-file" and image["caption"] == f"step {step}"
        assert image["path"].startswith(f"media/images/img_{step}_")
        got = stored.file(image["path"]).download(root=str(tmp_path / f"i{step}"))
        assert np.array_equal(np.asarray(PILImage.open(got.name)), pixels)
    chart, plot = rows[3]["chart"], rows[3]["plot"]
    assert chart["_type"] == plot["_type"] == "plotly-file"
    got = stored.file(chart["path"]).download(root=str(tmp_path / "c"))
    assert json.loads(Path(got.name).read_bytes())["data"][0]["y"] == [0.0, 1.0, 4.0]
    data = stored.file(plot["path"]).download(root=str(tmp_path / "p"))
    assert json.load(io.open(data.name))["data"][0]["x"] == [1, 2]
    assert stored.summary["img"] == rows[2]["img"]  # the last one
