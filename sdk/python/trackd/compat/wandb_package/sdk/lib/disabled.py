"""W&B's ``wandb.sdk.lib.disabled``."""

from trackd.compat.disabled import RunDisabled, SummaryDisabled  # noqa: F401
