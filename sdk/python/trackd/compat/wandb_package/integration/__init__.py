"""W&B's ``wandb.integration``: the integrations W&B ships, written for trackd."""
