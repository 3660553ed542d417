"""W&B's ``wandb.sdk.data_types.base_types.media``."""

from trackd.media.base import Media  # noqa: F401
