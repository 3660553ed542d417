"""``trackd.Table``: rows, columns and media cells read back through ``trackd.Api()`` (history,
the run's files, the ``run_table`` artifact), W&B's log modes and row limit, a DataFrame in
``log()``, ``Artifact.add``/``get``, and the errors (nothing logged before them lost)."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image as PILImage

import trackd
from trackd import Api


def _pixels(value: int) -> np.ndarray:
    return np.full((4, 6, 3), value, dtype=np.uint8)


def _read(run_path: str, name: str, tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    f = Api().run(run_path).file(name).download(root=str(tmp_path), replace=True)
    f.close()
    return (tmp_path / name).read_bytes()


def test_rows_columns_and_media_cells_read_back_three_ways(clean_sdk, tmp_path):
    table = trackd.Table(columns=["id", "label", "score", "img", "hist"])
    table.add_data(1, "cat", 0.5, trackd.Image(_pixels(10)), trackd.Histogram([1, 2, 2]))
    table.add_data(2, "dog", None, trackd.Image(_pixels(200)), None)
    with trackd.init(project="tables") as run:
        run.log({"loss": 1.0})
        run.log({"samples": table})
    run_path, run_id = run.path, run.id

    rows = list(Api().run(run_path).scan_history())
    assert rows[0]["loss"] == 1.0
    value = rows[1]["samples"]
    assert value["_type"] == "table-file"
    assert (value["ncols"], value["nrows"], value["log_mode"]) == (5, 2, "IMMUTABLE")
    assert value["path"].startswith("media/table/samples_1_")
    assert value["path"].endswith(".table.json")
    assert value["artifact_path"].startswith("wandb-client-artifact://")
    assert value["artifact_path"].endswith("/samples.table.json")
    assert value["_latest_artifact_path"].endswith(":latest/samples.table.json")
    assert Api().run(run_path).summary["samples"]["path"] == value["path"]

    # The table file: columns, scalar cells, and media cells whose path is a stored file.
    body = json.loads(_read(run_path, value["path"], tmp_path))
    assert body["columns"] == ["id", "label", "score", "img", "hist"]
    assert [row[:3] for row in body["data"]] == [[1, "cat", 0.5], [2, "dog", None]]
    cell = body["data"][1][3]
    assert cell["_type"] == "image-file" and cell["path"].startswith("media/images/samples_1_")
    png = PILImage.open(io.BytesIO(_read(run_path, cell["path"], tmp_path)))
    assert np.array_equal(np.asarray(png), _pixels(200))
    hist = body["data"][0][4]
    assert hist["_type"] == "histogram" and len(hist["bins"]) == len(hist["values"]) + 1 == 65
    assert sum(hist["values"]) == 3 and body["data"][1][4] is None

    # The table made again from the history row (its files read from the run).
    def from_run(path: str) -> str:
        _read(run_path, path, tmp_path)
        return str(tmp_path / path)

    again = trackd.Table._from_json(value, from_run)
    assert again.columns == table.columns
    assert [row[:3] for row in again.data] == [[1, "cat", 0.5], [2, "dog", None]]
    assert np.array_equal(np.asarray(again.data[0][3].image), _pixels(10))

    # The run_table artifact gives the Table back.
    with trackd.init(project="tables") as reader:
        art = reader.use_artifact(f"run-{run_id}-samples:latest")
        assert art.type == "run_table"
        got = art.get("samples")
    assert isinstance(got, trackd.Table)
    assert got.get_column("label") == ["cat", "dog"]
    assert isinstance(got.data[1][3], trackd.Image)
    assert np.array_equal(np.asarray(got.data[1][3].image), _pixels(200))
    assert isinstance(got.data[0][4], trackd.Histogram) and sum(got.data[0][4].histogram) == 3


def test_wrong_rows_are_refused_and_nothing_logged_is_lost(clean_sdk):
    table = trackd.Table(columns=["a", "b"])
    with pytest.raises(ValueError, match=r"expects 2 columns: \['a', 'b'\], found 3"):
        table.add_data(1, 2, 3)
    with pytest.raises(ValueError, match="expects 2 columns"):
        trackd.Table(columns=["a", "b"], data=[[1, 2], [3]])
    with pytest.raises(ValueError, match="expects 3 columns"):
        trackd.Table(data=[[1, 2]])  # W&B's default columns: Input, Output, Expected
    table.add_data(1, "x")
    with pytest.raises(TypeError, match="column 'a' holds a string"):
        table.add_data("one", "y")
    with pytest.raises(TypeError, match="column 'b'"):
        trackd.Table(columns=["b"], data=[[None]], optional=False)
    assert table.data == [[1, "x"]]
    with pytest.raises(TypeError, match="values of type"):
        table.add_data(2, object())
    with trackd.init(project="tables-bad") as run:
        run.log({"loss": 1.0})
        with pytest.raises(ValueError):
            run.log({"t": trackd.Table(columns=["a"], data=[[1, 2]])})
        run.log({"t": table, "loss": 0.5})
    rows = list(Api().run(run.path).scan_history())
    assert [r["loss"] for r in rows] == [1.0, 0.5]
    assert rows[1]["t"]["nrows"] == 1


def test_the_row_limit_truncates_with_a_warning_or_raises_as_set(clean_sdk, monkeypatch,
                                                                  tmp_path):
    assert (trackd.Table.MAX_ROWS, trackd.Table.MAX_ARTIFACT_ROWS) == (10_000, 200_000)
    monkeypatch.setattr(trackd.Table, "MAX_ROWS", 5)
    big = trackd.Table(columns=["i"], data=[[i] for i in range(8)])
    with trackd.init(project="tables-limit") as run:
        run.log({"loss": 1.0})
        with pytest.warns(UserWarning, match="Truncating trackd.Table object to 5 rows"):
            run.log({"big": big})
    (_, row) = list(Api().run(run.path).scan_history())
    assert row["big"]["nrows"] == 8  # as W&B: the table's rows, of which the file keeps 5
    assert json.loads(_read(run.path, row["big"]["path"], tmp_path))["data"] == [
        [i] for i in range(5)]

    settings = trackd.Settings(table_raise_on_max_row_limit_exceeded=True)
    with trackd.init(project="tables-limit", settings=settings) as run:
        run.log({"loss": 1.0})
        with pytest.raises(ValueError, match="Table row limit exceeded: table has 8 rows, "
                                             "limit is 5"):
            run.log({"big": big, "loss": 9.0})
        run.log({"loss": 0.5})
    assert [r.get("loss") for r in Api().run(run.path).scan_history()] == [1.0, 0.5]


def _table_files(run_path: str, key: str, tmp_path) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = [r[key] for r in Api().run(run_path).scan_history() if key in r]
    return [{**row, "file": json.loads(_read(run_path, row["path"], tmp_path))} for row in rows]


def test_log_modes(clean_sdk, tmp_path):
    immutable = trackd.Table(columns=["a"], data=[[1]])
    mutable = trackd.Table(columns=["a"], data=[[1]], log_mode="MUTABLE")
    incremental = trackd.Table(columns=["a"], data=[[1]], log_mode="INCREMENTAL")
    with trackd.init(project="tables-modes") as run:
        run.log({"imm": immutable, "mut": mutable, "inc": incremental})
        with pytest.warns(UserWarning, match="log_mode='IMMUTABLE' that has been logged"):
            immutable.add_data(2)
        mutable.add_data(2)
        incremental.add_data(2)
        run.log({"imm": immutable, "mut": mutable, "inc": incremental})
        run.log({"mut": mutable})  # unchanged since: the same file again
    run_path, run_id = run.path, run.id

    imm = _table_files(run_path, "imm", tmp_path)
    assert imm[0]["path"] == imm[1]["path"] and imm[1]["file"]["data"] == [[1]]
    mut = _table_files(run_path, "mut", tmp_path)
    assert [m["file"]["data"] for m in mut] == [[[1]], [[1], [2]], [[1], [2]]]
    assert mut[0]["path"] != mut[1]["path"] and mut[1]["path"] == mut[2]["path"]
    inc = _table_files(run_path, "inc", tmp_path)
    assert [i["_type"] for i in inc] == ["incremental-table-file"] * 2
    assert [(i["increment_num"], i["nrows"]) for i in inc] == [(0, 1), (1, 2)]
    assert [i["file"]["data"] for i in inc] == [[[1]], [[2]]]
    assert inc[1]["previous_increments_paths"] == [inc[0]["artifact_path"]]

    api = Api()
    assert [v.version for v in api.artifacts("run_table", f"tables-modes/run-{run_id}-imm")] \
        == ["v0"]
    assert api.artifact(f"tables-modes/run-{run_id}-mut:v1").get("mut").data == [[1], [2]]
    incr = api.artifact(f"tables-modes/run-{run_id}-incr-inc:latest")
    assert incr.type == "wandb-run-incremental-table"
    names = sorted(incr.manifest.entries)
    assert len(names) == 2 and names[0].startswith("0-") and names[1].startswith("1-")
    assert all(n.endswith(".inc.table.json") for n in names)

    with pytest.raises(trackd.errors.Error, match="Operation 'add_column' is not supported"):
        incremental.add_column("b", [1, 2])
    with pytest.raises(ValueError, match="log_mode must be one of"):
        trackd.Table(log_mode="SOMETIMES")


def test_a_dataframe_in_log_is_a_table(clean_sdk, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"users": ["geoff", "juergen", "ada"], "feature_01": [1, 117, 42]})
    with trackd.init(project="tables-df") as run:
        run.log({"df": frame})
    (row,) = list(Api().run(run.path).scan_history())
    assert row["df"]["_type"] == "table-file" and row["df"]["nrows"] == 3
    body = json.loads(_read(run.path, row["df"]["path"], tmp_path))
    assert body["columns"] == ["users", "feature_01"]
    assert body["data"] == [["geoff", 1], ["juergen", 117], ["ada", 42]]
    table = trackd.Table(dataframe=frame)
    assert table.get_column("feature_01") == [1, 117, 42]
    assert table.get_dataframe().equals(frame)
    assert trackd.Table(data=frame).columns == ["users", "feature_01"]
    gaps = pd.DataFrame({"name": ["a", None, float("nan")], "x": [1.0, float("nan"), 3.0],
                         "when": pd.to_datetime(["2000-12-01", None, "2000-12-02"])})
    holed = trackd.Table(dataframe=gaps)  # missing values are None, whatever the column
    assert holed.data == [["a", 1.0, 975628800000], [None, None, None],
                          [None, 3.0, 975715200000]]


def test_constructor_variants_and_accessors():
    table = trackd.Table(columns=["x", "y"], data=np.arange(6).reshape(3, 2))
    assert table.data == [[0, 1], [2, 3], [4, 5]]
    assert table.get_index() == [0, 1, 2]
    assert list(table.iterrows())[1] == (1, [2, 3])
    assert table.get_column("y", convert_to="numpy").tolist() == [1, 3, 5]
    with pytest.raises(ValueError, match="no column"):
        table.get_column("z")
    table.add_column("z", ["a", "b", "c"])
    assert table.columns == ["x", "y", "z"] and table.data[2] == [4, 5, "c"]
    with pytest.raises(ValueError, match="one per row"):
        table.add_column("w", [1])
    assert trackd.Table(rows=[[1, 2, 3]]).columns == ["Input", "Output", "Expected"]
    mixed = trackd.Table(columns=["v"], allow_mixed_types=True)
    mixed.add_data(1)
    mixed.add_data("one")
    typed = trackd.Table(columns=["v"], dtype=[str])
    with pytest.raises(TypeError):
        typed.add_data(1)
    casted = trackd.Table(columns=["v"], data=[[1], [2]])
    with pytest.raises(TypeError, match="cannot cast"):
        casted.cast("v", str)
    casted.cast("v", float, optional=True)
    casted.add_data(None)
    source = [1, 2]
    kept = trackd.Table(columns=["l"], data=[[source]])
    source.append(3)  # a later change to the caller's list is not in the table
    assert kept.data == [[[1, 2]]]
    import datetime as dt

    when = trackd.Table(columns=["t"], data=[[dt.datetime(2000, 12, 1, tzinfo=dt.timezone.utc)]])
    assert when.data == [[975628800000]]  # W&B's milliseconds since the epoch
    empty = trackd.Table(columns=[])
    empty.add_column("a", [1, 2])
    assert empty.data == [[1], [2]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trackd.Table(columns=["a"]).add_data(1)  # no warning for a table never logged


def test_artifact_add_and_get_round_trip_tables_images_and_histograms(clean_sdk):
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    table = trackd.Table(columns=["img", "n"], data=[[trackd.Image(pixels), 1]])
    art = trackd.Artifact("media", "dataset")
    art.add(table, "my_table")
    art.add(trackd.Image(pixels, caption="seven wide"), "x")
    art.add(trackd.Histogram(np_histogram=([1, 2], [0.0, 0.5, 1.0])), "h")
    with pytest.raises(ValueError, match="already exists"):
        art.add(trackd.Image(pixels), "x")
    with pytest.raises(TypeError, match="takes a data type"):
        art.add(pixels, "raw")
    assert {"my_table.table.json", "x.image-file.json", "h.histogram.json"} <= set(
        art.manifest.entries)
    with trackd.init(project="tables-art") as run:
        run.log_artifact(art).wait()
    got = Api().artifact("tables-art/media:latest")
    again = got.get("my_table")
    assert again.columns == ["img", "n"] and again.get_column("n") == [1]
    assert np.array_equal(np.asarray(again.data[0][0].image), pixels)
    image = got.get("x")
    assert isinstance(image, trackd.Image) and image.caption == "seven wide"
    assert np.array_equal(np.asarray(image.image), pixels)
    hist = got.get("h")
    assert isinstance(hist, trackd.Histogram)
    assert (hist.histogram, hist.bins) == ([1, 2], [0.0, 0.5, 1.0])
    assert got.get("nothing") is None


def test_run_table_is_accepted_from_a_logged_table_and_refused_from_users(clean_sdk):
    with pytest.raises(ValueError, match="reserved for internal use"):
        trackd.Artifact("run-abc-samples", "run_table")
    with trackd.init(project="tables-reserved") as run:
        run.log({"t": trackd.Table(columns=["a"], data=[[1]])})
        sneaky = trackd.Artifact("plain", "dataset")  # past the SDK's check, to the daemon's
        sneaky._name = sneaky._source_name = f"run-{run.id}-t"
        sneaky._type = "run_table"
        sneaky.add(trackd.Table(columns=["a"], data=[[2]]), "t")
        with pytest.raises(trackd.errors.Error, match="reserved for internal use"):
            run.log_artifact(sneaky).wait()
        # Internal, but another run's tables: the daemon takes a run_table only from its run.
        other = trackd.Artifact._make_internal("run-someoneelse-t", "run_table")
        other.add(trackd.Table(columns=["a"], data=[[3]]), "t")
        with pytest.raises(trackd.errors.Error, match="must be logged by the run it is named"):
            run.log_artifact(other).wait()
    versions = Api().artifacts("run_table", f"tables-reserved/run-{run.id}-t")
    assert [v.version for v in versions] == ["v0"]
    assert versions[0].get("t").data == [[1]]


def test_an_offline_table_and_its_run_table_are_stored_by_sync(clean_sdk):
    import os
    import subprocess
    import sys

    table = trackd.Table(columns=["a", "img"], data=[[1, trackd.Image(_pixels(9))]])
    with trackd.init(project="tables-offline", mode="offline") as run:
        run.log({"t": table})
        run.summary["kept"] = table  # a summary value: the rows it has then
        sync_dir, run_id = run.settings.sync_dir, run.id
    assert table.data[0][0] == 1  # the caller's table keeps its rows
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "sync", str(sync_dir)],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "1 artifact(s) logged" in out.stdout
    stored = Api().run(f"tables-offline/{run_id}")
    assert stored.summary["kept"]["_type"] == "table-file"
    assert stored.summary["t"]["path"].startswith("media/table/t_0_")
    got = Api().artifact(f"tables-offline/run-{run_id}-t:latest").get("t")
    assert got.get_column("a") == [1]
    assert np.array_equal(np.asarray(got.data[0][1].image), _pixels(9))
