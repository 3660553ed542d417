"""W&B's ``wandb.util``."""

from trackd.compat.util import *  # noqa: F403
from trackd.compat.util import __all__  # noqa: F401
