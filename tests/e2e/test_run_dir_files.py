"""Files the user writes into ``run.dir`` are stored when the run finishes (W&B's ``end``
policy for the files directory; Lightning, transformers and ultralytics write there), online
and through ``trackd sync`` — against the real daemon."""

from __future__ import annotations

import os
from pathlib import Path

import trackd
from trackd import Api
from trackd._init.sync import sync_dirs


def _stored(path: str) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in Api().run(path).files()}


def test_files_written_into_run_dir_are_stored_at_finish(clean_sdk, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "weights.bin").write_bytes(b"w" * 10)
    (outside / "deep" / "secret.txt").write_text("not in run.dir")
    run = trackd.init(project="rundir", settings=trackd.Settings(ignore_globs=("*.tmp",)))
    files = Path(run.dir)
    (files / "checkpoints").mkdir()
    (files / "checkpoints" / "epoch=0.ckpt").write_bytes(b"\x00ckpt")
    (files / "args.yaml").write_text("lr: 0.1\n")
    (files / "scratch.tmp").write_text("ignored")
    (files / "best.bin").symlink_to(outside / "weights.bin")  # a file link: its content
    (files / "linked_dir").symlink_to(outside / "deep", target_is_directory=True)  # not entered
    (files / "saved.txt").write_text("saved once")
    run.save(str(files / "saved.txt"), base_path=str(files), policy="now")
    run.log({"x": 1})
    (files / "late.txt").write_text("written just before finish")
    run.finish()
    stored = _stored(run.path)
    assert stored["checkpoints/epoch=0.ckpt"] == b"\x00ckpt"
    assert stored["args.yaml"] == b"lr: 0.1\n"
    assert stored["late.txt"] == b"written just before finish"
    assert stored["best.bin"] == b"w" * 10 and stored["saved.txt"] == b"saved once"
    assert "scratch.tmp" not in stored
    assert not any(name.startswith("linked_dir") for name in stored)
    assert sum(1 for f in Api().run(run.path).files() if f.name == "saved.txt") == 1


def test_offline_run_dir_files_are_stored_by_sync(clean_sdk, tmp_path: Path) -> None:
    run = trackd.init(project="rundir", mode="offline", dir=str(tmp_path))
    (Path(run.dir) / "model").mkdir()
    (Path(run.dir) / "model" / "config.json").write_text('{"layers": 2}')
    run.log({"x": 1})
    run.finish()
    assert sync_dirs([str(Path(run.dir).parent)], echo=lambda _: None) == 0
    assert _stored(run.path)["model/config.json"] == b'{"layers": 2}'
    assert os.path.exists(Path(run.dir) / "model" / "config.json")
