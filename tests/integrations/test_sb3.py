"""stable-baselines3 with ``sync_tensorboard=True`` and ``wandb.integration.sb3.WandbCallback``,
as in W&B's own example (docs.wandb.ai, Stable Baselines 3), unmodified, through the opt-in
package: PPO on gymnasium's CartPole with a tiny policy, on the CPU.

What W&B's docs say is recorded: SB3 itself only writes TensorBoard event files; with
``sync_tensorboard=True`` their scalars (``rollout/ep_rew_mean``, ``time/fps``,
``train/loss``...) become history rows against ``global_step`` and the event files are stored
with the run; the callback adds the model's hyperparameters to the config, gradient
histograms (``gradient_save_freq``) and the saved model (``model_save_path``) as a run file."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.integrations.conftest import Integration, history

pytest.importorskip("stable_baselines3")
pytest.importorskip("gymnasium")
pytest.importorskip("tensorboard")
pytestmark = [pytest.mark.integrations, pytest.mark.slow, pytest.mark.timeout(360)]

TRAIN = """
import wandb
from stable_baselines3 import PPO
from wandb.integration.sb3 import WandbCallback

config = {"policy_type": "MlpPolicy", "total_timesteps": 256, "env_name": "CartPole-v1"}
run = wandb.init(config=config, sync_tensorboard=True, monitor_gym=True, save_code=True)
model = PPO(config["policy_type"], config["env_name"], n_steps=64, batch_size=32, n_epochs=1,
            policy_kwargs={"net_arch": [8]}, seed=0, verbose=1, tensorboard_log=f"runs/{run.id}")
model.learn(total_timesteps=config["total_timesteps"],
            callback=WandbCallback(gradient_save_freq=2, model_save_path=f"models/{run.id}",
                                   verbose=2))
run.finish()
"""


def test_ppo_with_sync_tensorboard_and_the_callback(integ: Integration) -> None:
    integ.run(TRAIN)
    run = integ.only_run()
    assert run.state == "finished"

    # The TensorBoard scalars SB3 writes at each of the 4 rollouts (64 steps each), against
    # global_step (the number of timesteps so far).
    fps = history(run, "time/fps")
    assert [r["global_step"] for r in fps] == [64, 128, 192, 256]
    assert all(r["time/fps"] > 0 for r in fps)
    # Losses are written after each update; SB3 dumps them with the next rollout's records.
    losses = history(run, "train/loss")
    assert [r["global_step"] for r in losses] == [128, 192, 256]
    assert all("train/entropy_loss" in r and "train/learning_rate" in r for r in losses)
    assert history(run, "rollout/ep_len_mean")  # CartPole episodes end within 64 steps

    # The event files are stored with the run.
    names = [f.name for f in run.files()]
    assert any("events.out.tfevents." in n for n in names), names

    # The callback: the model's hyperparameters in the config, the saved model as a file,
    # gradient histograms of the policy (wandb.watch).
    assert run.config["policy_type"] == "MlpPolicy" and run.config["total_timesteps"] == 256
    assert run.config["n_steps"] == 64 and run.config["batch_size"] == 32
    assert "model.zip" in names
    with zipfile.ZipFile(io.BytesIO(run.file("model.zip").read_bytes())) as archive:
        assert "policy.pth" in archive.namelist()
    grads = [k for r in history(run) for k in r if k.startswith("gradients/")]
    assert any(k.startswith("gradients/mlp_extractor.policy_net") for k in grads), grads
