"""``trackd.Plotly`` and matplotlib figures in ``log()``: the seed's "Matplotlib plot" example
run as written, W&B's ``plotly-file`` read back, the image fallback, and that a figure changed
after ``log()`` does not change what was logged."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest

import trackd
from tests.seed_examples import run_log_example
from trackd import Api
from trackd.media.base import MemoryOut


def _stored(run_path: str, name: str, root: Path) -> bytes:
    """The bytes of run file ``name`` as the daemon gives them back."""
    f = Api().run(run_path).file(name).download(root=str(root), replace=True)
    return Path(f.name).read_bytes()


def test_the_seed_matplotlib_example_is_a_plotly_chart_of_the_points(clean_sdk, tmp_path):
    """The seed's example (test_seed_log_examples runs it too), its figure drawn again after
    ``log()``: W&B's dict, the file, history(), the summary and the chart made again."""
    from matplotlib import pyplot as plt

    example = run_log_example("Matplotlib plot")
    run, fig, ax, x = example["run"], example["fig"], example["ax"], example["x"]
    ax.clear()  # the figure drawn again after log(): what was logged stays as it was
    ax.plot([0, 1], [5, 5])
    run.finish()
    plt.close(fig)

    stored = Api().run(run.path)
    history = stored.history()
    assert list(history.columns).count("chart") == 1
    chart = history["chart"][0]
    assert chart["_type"] == "plotly-file"
    assert chart["path"].startswith("media/plotly/chart_0_")
    assert chart["path"].endswith(".plotly.json")
    data = _stored(run.path, chart["path"], tmp_path / "dl")
    assert len(data) == chart["size"]
    assert chart["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    assert chart["path"].split("_")[-1].startswith(chart["sha256"][:20])
    (trace,) = json.loads(data)["data"]
    assert trace["x"] == pytest.approx(x.tolist())
    assert trace["y"] == pytest.approx((x * x).tolist())
    assert stored.summary["chart"] == chart
    assert chart["path"] in {f.name for f in stored.files()}
    again = trackd.Plotly._from_json(chart, lambda p: stored.file(p).download(
        root=str(tmp_path / "again")).name)  # made again from what was read back
    assert again._figure == json.loads(data)
    assert again._encode(MemoryOut())["sha256"] == chart["sha256"]


def test_plotly_figures_logged_directly_or_wrapped_keep_what_they_held(clean_sdk, tmp_path):
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2]))
    fig.update_layout(title={"text": "counts"})
    with trackd.init(project="plotly") as run:
        wrapped = trackd.Plotly(fig)
        run.log({"direct": fig, "wrapped": wrapped})
        fig.data[0].y = [0, 0, 0]  # changed after log(): not what was logged
        fig.update_layout(title={"text": "later"})
        run.log({"direct": fig})
    rows = Api().run(run.path).history(pandas=False)
    first = json.loads(_stored(run.path, rows[0]["direct"]["path"], tmp_path / "a"))
    assert first["data"][0]["type"] == "bar" and first["data"][0]["y"] == [3, 1, 2]
    assert first["data"][0]["x"] == ["a", "b", "c"]
    assert first["layout"]["title"]["text"] == "counts"
    assert rows[0]["wrapped"]["sha256"] == rows[0]["direct"]["sha256"]  # the same JSON
    assert rows[0]["wrapped"]["path"].startswith("media/plotly/wrapped_0_")
    second = json.loads(_stored(run.path, rows[1]["direct"]["path"], tmp_path / "b"))
    assert second["data"][0]["y"] == [0, 0, 0] and second["layout"]["title"]["text"] == "later"


def test_a_figure_plotly_cannot_draw_is_logged_as_an_image_of_it(clean_sdk, tmp_path):
    from matplotlib import pyplot as plt
    from PIL import Image as PILImage

    shown, ax = plt.subplots(figsize=(4, 3), dpi=50)
    ax.imshow(np.arange(16.0).reshape(4, 4))  # plotly's converter would drop the image
    polar = plt.figure(figsize=(2, 2), dpi=50)
    polar.add_subplot(projection="polar").plot([0, 1, 2], [1, 2, 3])  # its converter fails
    three = plt.figure(figsize=(2, 2), dpi=50)
    ax3 = three.add_subplot(projection="3d")
    ax3.plot([0, 1], [0, 1], [0, 1])
    with trackd.init(project="plotly-img") as run:
        run.log({"shown": shown, "polar": polar, "axes": ax, "three": ax3,
                 "wrapped": trackd.Plotly(polar)})
    plt.close("all")
    (row,) = Api().run(run.path).history(pandas=False)
    for key, size in (("shown", (200, 150)), ("polar", (100, 100)), ("axes", (200, 150)),
                      ("three", (100, 100)), ("wrapped", (100, 100))):
        image = row[key]
        assert image["_type"] == "image-file", row
        assert image["path"].startswith(f"media/images/{key}_0_") and image["format"] == "png"
        assert (image["width"], image["height"]) == size
        png = PILImage.open(io.BytesIO(_stored(run.path, image["path"], tmp_path / key)))
        assert png.size == size
    # The image's pixels are the figure's: the colormap's ends are in it.
    png = PILImage.open(io.BytesIO(_stored(run.path, row["shown"]["path"], tmp_path / "s")))
    colors = {c for _, c in png.convert("RGB").getcolors(1 << 16)}
    assert (68, 1, 84) in colors and (253, 231, 36) in colors  # viridis' first and last


def test_the_conversion_runs_on_the_encoder_and_an_unpicklable_figure_in_log(clean_sdk,
                                                                              monkeypatch,
                                                                              tmp_path):
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from trackd.media import figures

    threads: list[str] = []
    convert = figures.to_plotly

    def spy(fig):
        threads.append(threading.current_thread().name)
        return convert(fig)

    monkeypatch.setattr(figures, "to_plotly", spy)
    plain, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9])
    odd, ax2 = plt.subplots()
    ax2.plot([1, 2, 3], [2, 3, 4])
    ax2.set_title(FuncFormatter(lambda v, _: f"<{v}>").format_data(1))
    ax2.lines[0].set_gid(lambda: None)  # a lambda: the figure cannot be pickled
    assert figures.snapshot(odd) is None
    before = set(plt.get_fignums())
    with trackd.init(project="plotly-threads") as run:
        run.log({"plain": plain})  # only a snapshot is taken here
        run.log({"odd": odd})  # converted here, as it is
        ax2.lines[0].set_ydata([0, 0, 0])
        run.log({"odd": odd})
    # As W&B's conversion does, log() closed the pyplot figures (they stay usable); the
    # encoder's copies never became pyplot figures.
    assert set(plt.get_fignums()) == before - {plain.number, odd.number}
    main = threading.current_thread().name
    assert threads.count(main) == 2, threads
    assert [t for t in threads if t != main][0].startswith("trackd-media"), threads
    rows = Api().run(run.path).history(pandas=False)
    assert rows[0]["plain"]["_type"] == rows[1]["odd"]["_type"] == "plotly-file"
    (trace,) = json.loads(_stored(run.path, rows[1]["odd"]["path"], tmp_path / "o"))["data"]
    assert trace["y"] == [2, 3, 4]
    (trace,) = json.loads(_stored(run.path, rows[2]["odd"]["path"], tmp_path / "p"))["data"]
    assert trace["y"] == [0, 0, 0]


def test_what_is_not_a_figure_is_refused_and_loses_nothing(clean_sdk):
    with trackd.init(project="plotly-bad") as run:
        run.log({"loss": 1.0})
        with pytest.raises(ValueError, match="plotly figures, or matplotlib plots"):
            trackd.Plotly({"data": []})
        with pytest.raises(ValueError, match="plotly figures"):
            trackd.data_types.Plotly(np.zeros(3))
        run.log({"loss": 2.0})
    assert [r["loss"] for r in Api().run(run.path).scan_history()] == [1.0, 2.0]


def test_pyplot_itself_logs_its_current_figure(clean_sdk, tmp_path):
    import sys as sys_

    from matplotlib import pyplot as plt

    plt.figure()
    plt.plot([1, 2, 3], [3, 2, 1])
    with trackd.init(project="plotly-plt") as run:
        run.log({"chart": plt})  # W&B's own examples log pyplot itself
        with pytest.raises(TypeError, match="cannot be logged"):
            run.log({"module": sys_})
    (row,) = Api().run(run.path).history(pandas=False)
    (trace,) = json.loads(_stored(run.path, row["chart"]["path"], tmp_path))["data"]
    assert trace["y"] == [3.0, 2.0, 1.0]


def test_artifact_add_and_get_round_trip_a_chart(clean_sdk):
    import plotly.graph_objects as go
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9])
    art = trackd.Artifact("charts", "dataset")
    art.add(trackd.Plotly(go.Figure(go.Scatter(x=[1, 2], y=[5, 6]))), "direct")
    art.add(trackd.Plotly(fig), "converted")
    assert {"direct.plotly-file.json", "converted.plotly-file.json"} <= set(art.manifest.entries)
    with trackd.init(project="plotly-art") as run:
        run.log_artifact(art).wait()
    got = Api().artifact("plotly-art/charts:latest")
    direct, converted = got.get("direct"), got.get("converted")
    assert isinstance(direct, trackd.Plotly) and isinstance(converted, trackd.Plotly)
    assert direct._figure["data"][0]["y"] == [5, 6]
    assert converted._figure["data"][0]["y"] == [1.0, 4.0, 9.0]
