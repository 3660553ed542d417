"""W&B's ``wandb.integration.sb3``: stable-baselines3's callback, written for trackd."""

from trackd.integrations.sb3 import WandbCallback  # noqa: F401
