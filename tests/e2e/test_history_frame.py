"""``Api().run(path).history()`` as W&B's: a ``pandas.DataFrame`` by default (media cells hold
W&B's dicts), the list of dicts with ``pandas=False``, and without pandas a warning and the
list."""

from __future__ import annotations

import sys

import numpy as np

import trackd
from trackd import Api


def test_history_is_a_dataframe_by_default_and_a_list_on_request(clean_sdk, monkeypatch,
                                                                 capsys):
    import pandas as pd

    with trackd.init(project="frame") as run:
        for step in range(4):
            run.log({"loss": 1.0 / (step + 1),
                     "img": trackd.Image(np.full((4, 5), step * 10, dtype=np.uint8))})
    stored = Api().run(run.path)
    frame = stored.history()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["_step"]) == [0, 1, 2, 3]
    assert list(frame["loss"]) == [1.0, 0.5, 1.0 / 3, 0.25]
    assert [c["_type"] for c in frame["img"]] == ["image-file"] * 4
    assert (frame["img"][3]["width"], frame["img"][3]["height"]) == (5, 4)
    assert set(stored.history(keys=["loss"], samples=2).columns) == {"_step", "loss"}
    rows = stored.history(pandas=False)
    assert isinstance(rows, list) and rows[3]["img"] == frame["img"][3]
    assert [r["_step"] for r in stored.scan_history(keys=["img"])] == [0, 1, 2, 3]

    monkeypatch.setitem(sys.modules, "pandas", None)  # pandas not installed
    capsys.readouterr()
    assert stored.history() == rows
    assert "Unable to load pandas, call history with pandas=False" in capsys.readouterr().err
