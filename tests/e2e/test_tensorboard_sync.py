"""``sync_tensorboard`` and ``trackd.tensorboard.patch``: what torch's ``SummaryWriter`` writes
is read while the run goes on and reaches the daemon as history rows named as W&B names them
(scalars, histograms, images, ``global_step``), with the event files stored — against the real
daemon."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import trackd
from tests.helpers import wait_for
from trackd import Api
from trackd._init.sync import sync_dirs

pytest.importorskip("tensorboard")


def SummaryWriter(logdir: str):  # noqa: N802 - torch's class, imported only where used
    return pytest.importorskip("torch.utils.tensorboard").SummaryWriter(logdir)


@pytest.fixture(autouse=True)
def _unpatched():
    yield
    trackd.tensorboard.unpatch()


def _rows(path: str) -> list[dict]:
    return Api().run(path).history(pandas=False)


def test_sync_tensorboard_reads_rows_while_the_run_goes_on(clean_sdk, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # taken quietly now that it is acted on
        run = trackd.init(project="tb", sync_tensorboard=True)
    writer = SummaryWriter(str(tmp_path / "runs" / "exp1"))
    for step in range(6):
        writer.add_scalar("loss/train", 1.0 / (step + 1), step)
        writer.add_histogram("weights", np.arange(100) % 10, step)
    writer.flush()
    # Read by the background thread before finish: each step's row, once a later step came.
    wait_for(lambda: len(_rows(run.path)) >= 5, timeout=30)
    writer.add_image("samples/0", np.full((3, 8, 8), 0.5), 6)
    writer.add_image("samples/1", np.zeros((3, 8, 8)), 6)
    writer.close()
    run.finish()
    rows = _rows(run.path)
    assert [r["global_step"] for r in rows] == list(range(7))
    assert [r["loss/train"] for r in rows[:6]] == pytest.approx([1 / (s + 1) for s in range(6)])
    hist = rows[0]["weights"]
    assert hist["_type"] == "histogram" and sum(hist["values"]) == 100
    assert len(hist["bins"]) == len(hist["values"]) + 1 and len(hist["values"]) <= 512
    images = rows[6]["samples"]  # "samples/<n>" tags gathered under their prefix, as W&B does
    assert images["_type"] == "images/separated" and images["count"] == 2
    stored = {f.name: f for f in Api().run(run.path).files()}
    events = [n for n in stored if n.startswith("exp1/events.out.tfevents.")]
    assert len(events) == 1
    on_disk = next((tmp_path / "runs" / "exp1").glob("*tfevents*")).read_bytes()
    assert stored[events[0]].read_bytes() == on_disk
    assert not trackd.tensorboard.patched()  # init patched, finish unpatched


def test_patch_with_root_logdir_namespaces_and_unpatch_stops(clean_sdk, tmp_path: Path) -> None:
    root = tmp_path / "logs"
    trackd.tensorboard.patch(root_logdir=str(root), save=False)
    with pytest.raises(ValueError, match="already patched"):
        trackd.tensorboard.patch()
    run = trackd.init(project="tb")
    train, val = SummaryWriter(str(root / "train")), SummaryWriter(str(root / "val"))
    for step in range(3):
        train.add_scalar("loss", 1.0 + step, step)
        val.add_scalar("loss", 10.0 + step, step)
    train.close()
    val.close()
    trackd.tensorboard.unpatch()
    later = SummaryWriter(str(root / "later"))  # opened after unpatch: not synced
    later.add_scalar("loss", 99.0, 0)
    later.close()
    run.finish()
    rows = _rows(run.path)
    assert [(r.get("train/loss"), r.get("val/loss")) for r in rows] == [
        (1.0, 10.0), (2.0, 11.0), (3.0, 12.0)]  # the directories' same steps share a row
    assert [r["train/global_step"] for r in rows] == [0, 1, 2]
    assert [r["global_step"] for r in rows] == [0, 1, 2]
    assert not any("later/loss" in r for r in rows)
    assert not any("tfevents" in f.name for f in Api().run(run.path).files())  # save=False


def test_settings_sync_tensorboard_offline_then_trackd_sync(clean_sdk, tmp_path: Path) -> None:
    run = trackd.init(project="tb", dir=str(tmp_path),
                      settings=trackd.Settings(mode="offline", sync_tensorboard=True))
    writer = SummaryWriter(str(tmp_path / "tb"))
    for step in range(3):
        writer.add_scalar("reward", float(step), step)
    writer.close()
    run.finish()
    assert sync_dirs([str(Path(run.dir).parent)], echo=lambda _: None) == 0
    rows = _rows(run.path)
    assert [(r["reward"], r["global_step"]) for r in rows] == [(0.0, 0), (1.0, 1), (2.0, 2)]
    assert any(f.name.startswith("tb/events.out.tfevents.") for f in Api().run(run.path).files())


def test_tensorboards_own_writer_without_torch(clean_sdk, tmp_path: Path) -> None:
    """tensorboard's EventFileWriter with TF1-style summaries (simple_value, histo), as older
    code writes them."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    run = trackd.init(project="tb", sync_tensorboard=True)
    writer = EventFileWriter(str(tmp_path / "train"))
    for step in range(3):
        histo = summary_pb2.HistogramProto(min=0, max=3, num=6, bucket_limit=[1, 2, 3],
                                           bucket=[1, 2, 3])
        summary = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="acc", simple_value=0.5 + step / 10),
            summary_pb2.Summary.Value(tag="acts", histo=histo)])
        writer.add_event(event_pb2.Event(step=step * 10, wall_time=1000.0 + step,
                                         summary=summary))
    writer.close()
    run.finish()
    rows = _rows(run.path)
    # "train" alone is a namespace (W&B's rule for Keras' train/validation directories)
    assert [(r["train/acc"], r["train/global_step"], r["global_step"]) for r in rows] == [
        (pytest.approx(0.5), 0, 0), (pytest.approx(0.6), 10, 10), (pytest.approx(0.7), 20, 20)]
    assert [r["_timestamp"] for r in rows] == [1000.0, 1001.0, 1002.0]
    assert sum(rows[0]["train/acts"]["values"]) == 6


def test_tensorboardx_writer_is_synced(clean_sdk, tmp_path: Path) -> None:
    tbx = pytest.importorskip("tensorboardX")
    run = trackd.init(project="tb", sync_tensorboard=True)
    writer = tbx.SummaryWriter(str(tmp_path / "tbx"))
    for step in range(3):
        writer.add_scalar("score", step * 2.0, step)
    writer.close()
    run.finish()
    rows = _rows(run.path)
    assert [(r["score"], r["global_step"]) for r in rows] == [(0.0, 0), (2.0, 1), (4.0, 2)]
    assert any(f.name.startswith("tbx/events.out.tfevents.") for f in Api().run(run.path).files())



def test_unreadable_files_and_values_leave_the_rest_synced(clean_sdk, tmp_path: Path,
                                                          capsys) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    run = trackd.init(project="tb", sync_tensorboard=True)
    logdir = tmp_path / "mixed"
    logdir.mkdir()
    (logdir / "events.out.tfevents.0.broken").write_bytes(b"\xff" * 64)  # not records
    bad_image = summary_pb2.Summary.Value(
        tag="picture", metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images")),
        tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING,
                                      string_val=[b"8", b"8", b"not an image"]))
    writer = EventFileWriter(str(logdir))
    for step in range(2):
        values = [summary_pb2.Summary.Value(tag="v", simple_value=step)]
        writer.add_event(event_pb2.Event(step=step, wall_time=10.0 + step,
                                         summary=summary_pb2.Summary(value=values)))
    writer.add_event(event_pb2.Event(step=1, wall_time=12.0,
                                     summary=summary_pb2.Summary(value=[bad_image])))
    writer.close()
    run.finish()
    rows = _rows(run.path)
    assert [r["v"] for r in rows] == [0.0, 1.0] and not any("picture" in r for r in rows)
    assert "TensorBoard value at step 1 is not logged" in capsys.readouterr().err
