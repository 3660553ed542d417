"""W&B's ``wandb.integration.lightning``."""
