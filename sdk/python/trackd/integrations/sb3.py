"""stable-baselines3: W&B's ``wandb.integration.sb3.WandbCallback`` for trackd.

    run = trackd.init(project="sb3", sync_tensorboard=True)
    model = PPO("MlpPolicy", "CartPole-v1", tensorboard_log=f"runs/{run.id}")
    model.learn(10_000, callback=WandbCallback(model_save_path=f"models/{run.id}"))

The callback records the algorithm and its hyper-parameters in the run's config, watches the
policy's gradients when ``gradient_save_freq`` is set, and stores the model (``model.zip``) with
the run every ``model_save_freq`` steps and at the end of training. The training metrics
themselves reach the run from SB3's TensorBoard logs (``sync_tensorboard=True``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

import trackd
from trackd._base.api_name import api_name
from trackd.integrations.telemetry import context as _telemetry

_LOG_CHOICES = ("gradients", "parameters", "all", None)

logger = logging.getLogger(__name__)


class WandbCallback(BaseCallback):
    """Log a stable-baselines3 model's training to the current run.

    :param verbose: 2 logs each model save (SB3's verbosity).
    :param model_save_path: directory for ``model.zip``; None saves no model.
    :param model_save_freq: save the model every this many steps (0: only at the end).
    :param gradient_save_freq: watch the policy's gradients every this many batches (0: never).
    :param log: what ``watch`` logs: ``"gradients"``, ``"parameters"``, ``"all"`` or None.
    :raises trackd.Error: no run was started (``init()`` first).
    :raises ValueError: ``model_save_freq`` without ``model_save_path``.
    """

    def __init__(self, verbose: int = 0, model_save_path: str | None = None,
                 model_save_freq: int = 0, gradient_save_freq: int = 0,
                 log: str | None = "all") -> None:
        super().__init__(verbose)
        if trackd.run is None:
            name = api_name()
            raise trackd.Error(f"You must call {name}.init() before WandbCallback()")
        with _telemetry(run=trackd.run) as tel:
            tel.feature.sb3 = True
        if log not in _LOG_CHOICES:
            trackd.termwarn("`log` must be one of `None`, 'gradients', 'parameters', or 'all', "
                            "falling back to 'all'")
            log = "all"
        if model_save_freq and model_save_path is None:
            raise ValueError("model_save_freq needs model_save_path: the directory the model is "
                             "saved in")
        self.model_save_freq = model_save_freq
        self.model_save_path = model_save_path
        self.gradient_save_freq = gradient_save_freq
        self.log = log
        self.path: str | None = None
        if model_save_path is not None:
            os.makedirs(model_save_path, exist_ok=True)
            self.path = os.path.join(model_save_path, "model.zip")

    def _init_callback(self) -> None:
        config: dict[str, Any] = {"algo": type(self.model).__name__}
        current = trackd.config
        for key, value in vars(self.model).items():
            if key in current or key.startswith("_"):
                continue
            config[key] = value if type(value) in (float, int, str, bool) else str(value)
        if self.gradient_save_freq > 0:
            trackd.watch(self.model.policy, log_freq=self.gradient_save_freq, log=self.log)
        current.setdefaults(config)

    def _on_step(self) -> bool:
        if self.model_save_freq > 0 and self.n_calls % self.model_save_freq == 0:
            self.save_model()
        return True

    def _on_training_end(self) -> None:
        if self.model_save_path is not None:
            self.save_model()

    def save_model(self) -> None:
        """Save the model to ``model_save_path/model.zip`` and store it with the run (again
        after each change)."""
        assert self.path is not None and self.model_save_path is not None
        self.model.save(self.path)
        trackd.save(self.path, base_path=self.model_save_path)
        if self.verbose > 1:
            logger.info("Saving model checkpoint to %s", self.path)
