"""W&B's ``wandb.sdk.wandb_config``."""

from trackd._run.config import Config  # noqa: F401
