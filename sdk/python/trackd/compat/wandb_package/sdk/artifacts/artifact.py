"""W&B's ``wandb.sdk.artifacts.artifact``."""

from trackd.artifacts.artifact import Artifact  # noqa: F401
