"""W&B's ``wandb.sdk.artifacts``."""
