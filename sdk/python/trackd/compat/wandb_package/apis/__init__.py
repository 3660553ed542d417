"""W&B's ``wandb.apis``: ``PublicApi`` is ``trackd.Api``."""

from trackd._api.api import Api as PublicApi  # noqa: F401
