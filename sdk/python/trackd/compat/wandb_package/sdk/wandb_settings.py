"""W&B's ``wandb.sdk.wandb_settings``."""

from trackd import Settings  # noqa: F401
