"""W&B's ``wandb.sdk.wandb_config``."""

from trackd._config import Config  # noqa: F401
