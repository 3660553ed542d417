"""W&B's ``wandb.sdk``."""

from trackd import Run, Settings, finish, init, log  # noqa: F401
