"""W&B's ``wandb.data_types``."""

from trackd.data_types import *  # noqa: F403
from trackd.data_types import __all__  # noqa: F401
