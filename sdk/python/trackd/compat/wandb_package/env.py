"""W&B's ``wandb.env``."""

from trackd.compat.env import *  # noqa: F403
