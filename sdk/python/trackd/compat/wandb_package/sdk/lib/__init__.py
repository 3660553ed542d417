"""W&B's ``wandb.sdk.lib``."""

from trackd.compat.disabled import RunDisabled, SummaryDisabled  # noqa: F401
