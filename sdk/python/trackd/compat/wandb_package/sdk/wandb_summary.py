"""W&B's ``wandb.sdk.wandb_summary``."""

from trackd._summary import Summary  # noqa: F401
