"""W&B's ``wandb.errors``: trackd's exceptions under W&B's names."""

from trackd.errors import (  # noqa: F401
    AuthenticationError,
    CommError,
    ConfigError,
    Error,
    UnsupportedError,
    UsageError,
)


class WandbCoreNotAvailableError(Error):
    """W&B's error for a missing wandb-core binary; trackd has none, so it is never raised."""
