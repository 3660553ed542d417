"""W&B's ``wandb.sdk.lib.config_util``: ``ConfigError`` is raised for a config value changed
without ``allow_val_change``."""

from trackd.errors import ConfigError  # noqa: F401
