"""W&B's ``wandb.sdk.data_types.base_types``."""
