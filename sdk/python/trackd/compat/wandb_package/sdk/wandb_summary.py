"""W&B's ``wandb.sdk.wandb_summary``."""

from trackd._run.summary import Summary  # noqa: F401
