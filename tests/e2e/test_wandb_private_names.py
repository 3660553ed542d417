"""What integrations reach into on a run, as W&B has it: ``run._label(code=..., repo=...)``
(transformers, TRL, torchtune), ``run.config_static`` copied, pickled and read with ``vars()``,
and the ``run-<id>.wandb`` file ultralytics looks for — against the real daemon."""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import pytest

import trackd
from trackd import Api


def test_label_takes_w_and_b_keywords_and_shared_writers_keep_their_label(clean_sdk, capsys):
    run = trackd.init(project="labels")
    run._label(code="transformers_trainer")
    run._label(repo="torchtune", code_version="4.57.1")  # "." is not an identifier: ignored
    run._label(framework="x")  # unknown keys are ignored with a warning, as in W&B
    assert run._labels == {"code": "transformers_trainer", "repo": "torchtune"}
    err = capsys.readouterr().err
    assert "invalid identifier '4.57.1'" in err and "unsupported key 'framework'" in err
    run.log({"x": 1})
    run.finish()
    assert Api().run(run.path).history_rows == 1
    shared = trackd.init(project="labels", id="labelshared",
                         settings=trackd.Settings(mode="shared", x_label="rank-1",
                                                  x_primary=False))
    assert shared._writer_label == "rank-1" and callable(shared._label)
    shared.log({"y": 1})
    shared.finish()
    rows = Api().run(shared.path).history(pandas=False)
    assert rows and rows[0]["y"] == 1


def test_config_static_copies_pickles_and_has_its_items_as_vars(clean_sdk):
    run = trackd.init(project="static", config={"lr": 0.1, "layers": [64, 32]})
    static = run.config_static
    assert vars(static) == {"lr": 0.1, "layers": [64, 32]}
    for again in (copy.copy(static), copy.deepcopy(static), pickle.loads(pickle.dumps(static))):
        assert type(again) is type(static) and again.lr == 0.1 and again["layers"] == [64, 32]
    with pytest.raises(AttributeError, match="read-only"):
        static.lr = 2
    run.finish()
    assert Api().run(run.path).config["lr"] == 0.1


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_run_dir_holds_run_id_dot_wandb(clean_sdk, tmp_path: Path, mode: str):
    run = trackd.init(project="wandbfile", mode=mode, dir=str(tmp_path))
    run.log({"x": 1})
    sync_dir = Path(run.dir).parent
    found = list(tmp_path.glob("wandb/*run-*/run-*.wandb"))  # ultralytics' glob
    assert [p.parent for p in found] == [sync_dir]
    assert re.fullmatch(r"run-(.+)\.wandb", found[0].name)[1] == run.id
    run.finish()
    assert found[0].exists()
