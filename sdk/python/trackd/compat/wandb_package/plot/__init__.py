"""W&B's ``wandb.plot``."""

from trackd.plot import *  # noqa: F403
from trackd.plot import __all__  # noqa: F401
