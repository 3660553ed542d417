"""W&B's ``wandb.integration.lightning.fabric``: the W&B logger for Lightning Fabric, written
for trackd."""

from trackd.integrations.lightning_fabric import WandbLogger  # noqa: F401
