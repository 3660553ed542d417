"""Lightning's ``WandbLogger``, unmodified, through the opt-in package: a tiny randomly
initialised regression model on synthetic data, on the CPU.

What W&B's docs say the integration records (docs.wandb.ai, PyTorch Lightning): every
``self.log`` metric as a row with ``trainer/global_step`` (the x axis the logger defines),
``save_hyperparameters()`` as the run's config, with ``log_model=True`` the checkpoints
``ModelCheckpoint`` writes as ``model`` artifacts named ``model-<run id>`` (aliases ``latest``
and, on the best one, ``best``; metadata ``score``, ``original_filename`` and the
``ModelCheckpoint`` settings), and ``log_table``/``log_image`` as a Table and Images. Offline
runs (``offline=True``) are sent later (here ``trackd sync``, as ``wandb sync``). With
``ddp_spawn`` only rank 0 logs, into one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integrations.conftest import Integration, history

pytest.importorskip("lightning")
pytest.importorskip("torch")
pytestmark = [pytest.mark.integrations, pytest.mark.slow, pytest.mark.timeout(360)]

MODEL = """
import sys
import numpy as np
import torch
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger


class Regressor(L.LightningModule):
    def __init__(self, hidden=8, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)


torch.manual_seed(0)
"""

ONLINE = MODEL + """
logger = WandbLogger(log_model=True, config={"dataset": "synthetic"})
trainer = L.Trainer(max_epochs=3, logger=logger, accelerator="cpu", devices=1,
                    log_every_n_steps=2, enable_progress_bar=False,
                    callbacks=[ModelCheckpoint(monitor="val_loss", mode="min", save_top_k=2)])
trainer.fit(Regressor(), loader(64, 1), loader(16, 2))
logger.log_table(key="samples", columns=["x", "y"], data=[[1.0, 2.0], [3.0, 4.0]])
logger.log_image(key="inputs", images=[np.zeros((8, 8, 3), dtype=np.uint8),
                                        np.full((8, 8, 3), 255, dtype=np.uint8)],
                 caption=["black", "white"])
"""


def test_wandb_logger_online(integ: Integration) -> None:
    integ.run(ONLINE)
    run = integ.only_run()
    assert run.state == "finished"

    # 64 samples / batch 8 = 8 steps an epoch, 3 epochs: train_loss every 2 steps, val_loss
    # once an epoch, each with trainer/global_step and the epoch.
    train = history(run, "train_loss")
    assert [r["trainer/global_step"] for r in train] == list(range(1, 24, 2))
    val = history(run, "val_loss")
    assert [r["trainer/global_step"] for r in val] == [7, 15, 23]
    assert [r["epoch"] for r in val] == [0, 1, 2]

    # save_hyperparameters() and the logger's own config.
    assert run.config["hidden"] == 8 and run.config["lr"] == 0.05
    assert run.config["dataset"] == "synthetic"

    # The summary keeps the last values.
    assert run.summary["val_loss"] == pytest.approx(val[-1]["val_loss"])
    assert run.summary["trainer/global_step"] == 23

    # log_model=True: each checkpoint ModelCheckpoint kept, logged at the end as versions of
    # model-<run id>; "best" on the lowest val_loss, "latest" on the last.
    arts = [a for a in run.logged_artifacts() if a.type == "model"]
    assert {a.name.split(":")[0] for a in arts} == {f"model-{run.id}"}
    assert len(arts) == 2  # save_top_k=2
    best = next(a for a in arts if "best" in a.aliases)
    assert best.metadata["score"] == pytest.approx(min(r["val_loss"] for r in val), rel=1e-5)
    assert best.metadata["original_filename"].endswith(".ckpt")
    assert best.metadata["ModelCheckpoint"]["monitor"] == "val_loss"
    assert [f.name for f in best.files()] == ["model.ckpt"]
    import torch

    ckpt = torch.load(Path(best.download()) / "model.ckpt", weights_only=False)
    assert ckpt["hyper_parameters"] == {"hidden": 8, "lr": 0.05}
    assert any("latest" in a.aliases for a in arts)

    # log_table and log_image: a Table and two Images in the run's media.
    table_row = history(run, "samples")[-1]
    assert table_row["samples"]["_type"] == "table-file"
    table = json.loads(run.file(table_row["samples"]["path"]).read_bytes())
    assert table["columns"] == ["x", "y"] and table["data"] == [[1.0, 2.0], [3.0, 4.0]]
    images = history(run, "inputs")[-1]["inputs"]
    assert images["_type"] == "images/separated" and images["count"] == 2
    assert images["captions"] == ["black", "white"]
    assert all(run.file(p).read_bytes()[:4] == b"\x89PNG" for p in images["filenames"])


OFFLINE = MODEL + """
logger = WandbLogger(offline=True, config={"dataset": "synthetic"})
trainer = L.Trainer(max_epochs=2, logger=logger, accelerator="cpu", devices=1,
                    log_every_n_steps=2, enable_progress_bar=False, enable_checkpointing=False)
trainer.fit(Regressor(hidden=4), loader(64, 1), loader(16, 2))
logger.log_table(key="samples", columns=["x"], data=[[1.0]])
print("RUN_DIR=" + logger.experiment.dir)
"""


def test_wandb_logger_offline_then_sync(integ: Integration) -> None:
    proc = integ.run(OFFLINE)
    assert integ.runs() == []  # nothing reached the daemon yet
    run_dirs = sorted((integ.workdir / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1, sorted(p.name for p in (integ.workdir / "wandb").iterdir())
    assert "RUN_DIR=" in proc.stdout
    integ.cli("sync", str(run_dirs[0]))

    run = integ.only_run()
    assert run.state == "finished"
    train = history(run, "train_loss")
    assert [r["trainer/global_step"] for r in train] == list(range(1, 16, 2))
    assert [r["trainer/global_step"] for r in history(run, "val_loss")] == [7, 15]
    assert run.config["hidden"] == 4 and run.config["dataset"] == "synthetic"
    table = history(run, "samples")[-1]["samples"]
    assert json.loads(run.file(table["path"]).read_bytes())["data"] == [[1.0]]


DDP_SPAWN = MODEL + """
if __name__ == "__main__":
    logger = WandbLogger(config={"world": 2})
    trainer = L.Trainer(max_epochs=2, logger=logger, accelerator="cpu", devices=2,
                        strategy="ddp_spawn", log_every_n_steps=2, enable_progress_bar=False,
                        enable_checkpointing=False)
    trainer.fit(Regressor(), loader(64, 1), loader(16, 2))
"""


def test_wandb_logger_ddp_spawn_two_processes(integ: Integration) -> None:
    integ.run(DDP_SPAWN)
    run = integ.only_run()  # rank 1 logs nothing and makes no run of its own
    assert run.state == "finished"
    # Two ranks share the 64 samples: 4 batches each an epoch, 2 epochs.
    train = history(run, "train_loss")
    assert [r["trainer/global_step"] for r in train] == [1, 3, 5, 7]
    assert [r["trainer/global_step"] for r in history(run, "val_loss")] == [3, 7]
    # "world" was given to WandbLogger in the main process; save_hyperparameters() is logged
    # by rank 0, in the spawned process that re-attached to the run (wandb._attach).
    assert run.config == {"world": 2, "hidden": 8, "lr": 0.05}
