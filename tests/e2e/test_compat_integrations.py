"""W&B's own integration modules, written for trackd (``wandb.integration.sb3``,
``wandb.integration.lightning.fabric``): each library's real training loop, through the opt-in
``wandb`` package in a subprocess, and what reached the daemon read back with ``trackd.Api()``.
Each needs its library (and PyTorch's CPU build) installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def wandb_site(tmp_path: Path) -> Path:
    """A directory holding trackd's wandb package (``trackd compat install --target``)."""
    from trackd.compat import install

    site = tmp_path / "site"
    install(site)
    return site


def _run_script(code: str, site: Path, cwd: Path) -> str:
    """Run ``code`` with the wandb package on PYTHONPATH; returns the path it printed."""
    env = os.environ.copy()
    env["PYTHONPATH"] = str(site)
    env.pop("PYTEST_CURRENT_TEST", None)
    cwd.mkdir(exist_ok=True)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    return next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("RUN "))


def test_sb3_callback_records_config_and_model(clean_sdk, wandb_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("gymnasium")
    path = _run_script("""
        import wandb
        from stable_baselines3 import PPO
        from wandb.integration.sb3 import WandbCallback

        try:
            WandbCallback()
        except wandb.Error as exc:
            assert "wandb.init()" in str(exc)
        else:
            raise AssertionError("a callback without a run")
        run = wandb.init(project="compat-sb3", config={"policy_type": "MlpPolicy"})
        model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1,
                    policy_kwargs={"net_arch": [8]}, seed=0, verbose=0)
        model.learn(total_timesteps=128,
                    callback=WandbCallback(model_save_path=f"models/{run.id}", model_save_freq=64))
        print("RUN", run.path)
        run.finish()
        """, wandb_site, tmp_path / "work")

    import trackd

    stored = trackd.Api().run(path)
    assert stored.config["algo"] == "PPO" and stored.config["policy_type"] == "MlpPolicy"
    assert stored.config["n_steps"] == 64 and stored.config["batch_size"] == 32
    assert stored.config["learning_rate"] == 0.0003
    assert "model.zip" in [f.name for f in stored.files()]
    saved = stored.file("model.zip").download(root=str(tmp_path / "dl"))
    import zipfile

    with zipfile.ZipFile(saved.name) as archive:  # SB3's own save format
        assert "policy.pth" in archive.namelist()


def test_fabric_logger_metrics_media_and_checkpoints(clean_sdk, wandb_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("lightning")
    pytest.importorskip("torch")
    path = _run_script("""
        import types

        import numpy as np
        import torch
        import wandb
        from lightning.fabric import Fabric
        from wandb.integration.lightning.fabric import WandbLogger

        logger = WandbLogger(project="compat-fabric", log_model=True, prefix="fit",
                             config={"seed": 0})
        fabric = Fabric(accelerator="cpu", devices=1, loggers=[logger])
        fabric.launch()
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model, opt = fabric.setup(model, opt)
        fabric.logger.log_hyperparams({"lr": 0.1, "act": torch.relu})
        x, y = torch.randn(16, 4), torch.randn(16, 1)
        for step in range(3):
            loss = torch.nn.functional.mse_loss(model(x), y)
            fabric.backward(loss)
            opt.step()
            opt.zero_grad()
            fabric.log_dict({"loss": loss.item()}, step=step)
        logger.log_table("preds", columns=["a", "b"], data=[[1, 2], [3, 4]], step=3)
        logger.log_image("img", [np.zeros((8, 8, 3), dtype=np.uint8)], step=3,
                         caption=["zeros"])
        fabric.save("best.ckpt", {"model": model})
        checkpoints = types.SimpleNamespace(
            best_model_path="best.ckpt", best_model_score=torch.tensor(0.5), best_k_models={},
            last_model_path="", save_top_k=1, monitor="loss", mode="min")
        logger.after_save_checkpoint(checkpoints)
        logger.finalize("success")  # log_model=True: stored now
        run = logger.experiment
        assert wandb.run is run and logger.version == run.id
        print("RUN", run.path)
        wandb.finish()
        """, wandb_site, tmp_path / "work")

    import trackd

    stored = trackd.Api().run(path)
    assert stored.config["seed"] == 0 and stored.config["lr"] == 0.1
    assert stored.config["act"] == "relu"
    rows = list(stored.scan_history())
    losses = [r for r in rows if r.get("fit-loss") is not None]
    assert [r["trainer/global_step"] for r in losses] == [0, 1, 2]
    media = next(r for r in rows if r.get("fit-preds") is not None)  # the prefix is on all keys
    assert media["trainer/global_step"] == 3 and media["fit-preds"]["_type"] == "table-file"
    images = next(r for r in rows if r.get("fit-img") is not None)
    assert images["trainer/global_step"] == 3
    assert images["fit-img"]["_type"] == "images/separated"
    assert images["fit-img"]["captions"] == ["zeros"]
    model = trackd.Api().artifact(f"{stored.entity}/{stored.project}/model-{stored.id}:best",
                                  type="model")
    assert model.metadata["score"] == 0.5 and model.metadata["original_filename"] == "best.ckpt"
    assert model.metadata["SimpleNamespace"]["monitor"] == "loss"
    assert set(model.aliases) >= {"latest", "best"}
    assert [f.name for f in model.files()] == ["model.ckpt"]


def test_keras_callbacks_on_the_torch_backend(clean_sdk, wandb_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    if importlib.util.find_spec("keras") is None:  # importing it here would pick a backend
        pytest.skip("keras is not installed")
    path = _run_script("""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import keras
        import numpy as np
        import wandb
        from wandb.integration.keras import (
            WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint)

        run = wandb.init(project="compat-keras")
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        y = (x.sum(axis=1) > 0).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy",
                      metrics=["accuracy"])

        class Eval(WandbEvalCallback):
            def add_ground_truth(self, logs=None):
                for i in range(4):
                    self.data_table.add_data(i, float(y[i]))

            def add_model_predictions(self, epoch, logs=None):
                preds = model.predict(x[:4], verbose=0)
                for i in range(4):
                    self.pred_table.add_data(epoch, self.data_table_ref.data[i][0],
                                             float(preds[i][0]))

        model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y), callbacks=[
            WandbMetricsLogger(log_freq=2), WandbModelCheckpoint("model.keras"),
            Eval(["idx", "label"], ["epoch", "idx", "pred"])])
        print("RUN", run.path)
        run.finish()
        """, wandb_site, tmp_path / "work")

    import trackd

    api = trackd.Api()
    stored = api.run(path)
    rows = list(stored.scan_history())
    batches = [r for r in rows if r.get("batch/batch_step") is not None]
    epochs = [r for r in rows if r.get("epoch/epoch") is not None]
    assert [r["batch/batch_step"] for r in batches] == [0, 2, 4, 6]  # 4 batches an epoch, every 2nd
    assert all(r["batch/learning_rate"] == pytest.approx(0.1) for r in batches)
    assert [r["epoch/epoch"] for r in epochs] == [0, 1]
    assert all({"epoch/loss", "epoch/accuracy", "epoch/val_loss", "epoch/val_accuracy"} <= set(r)
               for r in epochs)
    assert stored.summary["epoch/epoch"] == 1

    prefix = f"{stored.entity}/{stored.project}"
    model = api.artifact(f"{prefix}/run_{stored.id}_model:epoch_1", type="model")
    assert "latest" in model.aliases and [f.name for f in model.files()] == ["model.keras"]
    assert api.artifact(f"{prefix}/run_{stored.id}_model:epoch_0", type="model").version == "v0"
    preds = api.artifact(f"{prefix}/run_{stored.id}_pred:latest", type="evaluation")
    table = preds.get("eval_data")
    assert table.columns == ["epoch", "idx", "pred"]
    assert [row[:2] for row in table.data] == [[1, i] for i in range(4)]
    data = api.artifact(f"{prefix}/val:latest", type="dataset").get("val_data")
    assert [row[0] for row in data.data] == [0, 1, 2, 3]
    assert f"{prefix}/val:v0" in [a.qualified_name for a in stored.used_artifacts()]
