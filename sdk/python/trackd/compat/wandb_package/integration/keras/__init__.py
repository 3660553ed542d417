"""W&B's ``wandb.integration.keras``: Keras callbacks, written for trackd (any Keras 3
backend)."""

from trackd.integrations.keras import (  # noqa: F401
    WandbEvalCallback,
    WandbMetricsLogger,
    WandbModelCheckpoint,
)
