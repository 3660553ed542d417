"""accelerate's ``Accelerator(log_with="wandb")``, unmodified, through the opt-in package: a tiny
randomly initialised model trained with ``accelerator.backward`` on synthetic data, on the CPU.

What accelerate's and W&B's docs say it records: ``init_trackers(project_name, config,
init_kwargs={"wandb": ...})`` starts a run in that project with that config (and the
``wandb.init`` arguments given), ``accelerator.log(values, step=)`` writes rows at those steps,
the wandb tracker's ``log_table``/``log_images`` a Table and Images, and ``end_training()``
finishes the run."""

from __future__ import annotations

import json

import pytest

from tests.integrations.conftest import Integration, history

pytest.importorskip("accelerate")
pytest.importorskip("torch")
pytestmark = [pytest.mark.integrations, pytest.mark.slow, pytest.mark.timeout(360)]

TRAIN = """
import sys
import numpy as np
import torch
from accelerate import Accelerator

project = sys.argv[1]
torch.manual_seed(0)
accelerator = Accelerator(log_with="wandb", cpu=True)
accelerator.init_trackers(project, config={"lr": 0.05, "epochs": 3, "arch": "mlp"},
                          init_kwargs={"wandb": {"name": "accel-run", "tags": ["tiny", "cpu"]}})
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)),
                                   batch_size=16)
model, optimizer, data = accelerator.prepare(model, optimizer, data)
step = 0
for epoch in range(3):
    for xb, yb in data:
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        accelerator.log({"train_loss": loss.item(), "epoch": epoch}, step=step)
        step += 1
tracker = accelerator.get_tracker("wandb")
tracker.log_table("predictions", columns=["x0", "pred"], data=[[0.5, 1.5], [1.0, 2.0]], step=step)
tracker.log_images({"samples": [np.zeros((6, 6, 3), dtype=np.uint8)]}, step=step)
assert accelerator.get_tracker("wandb", unwrap=True).id == tracker.run.id
accelerator.end_training()
"""


def test_accelerator_log_with_wandb(integ: Integration) -> None:
    integ.run(TRAIN, integ.project)
    run = integ.only_run()
    assert run.state == "finished"  # end_training()
    assert run.name == "accel-run" and sorted(run.tags) == ["cpu", "tiny"]
    assert run.config == {"lr": 0.05, "epochs": 3, "arch": "mlp"}

    # 64 samples / batch 16 = 4 steps an epoch, 3 epochs: one row per step, at that step.
    rows = history(run, "train_loss")
    assert [r["_step"] for r in rows] == list(range(12))
    assert [r["epoch"] for r in rows] == [0] * 4 + [1] * 4 + [2] * 4
    assert run.summary["train_loss"] == pytest.approx(rows[-1]["train_loss"])

    table = history(run, "predictions")[-1]
    assert table["_step"] == 12
    stored = json.loads(run.file(table["predictions"]["path"]).read_bytes())
    assert stored["columns"] == ["x0", "pred"] and stored["data"] == [[0.5, 1.5], [1.0, 2.0]]
    images = history(run, "samples")[-1]["samples"]
    assert images["_type"] == "images/separated" and images["count"] == 1
    assert run.file(images["filenames"][0]).read_bytes()[:4] == b"\x89PNG"
