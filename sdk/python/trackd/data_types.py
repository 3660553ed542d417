"""W&B's ``wandb.data_types``: the data types a run can log (see :mod:`trackd.media`)."""

from __future__ import annotations

from trackd.media import *  # noqa: F403 - this module is the same names under W&B's name
from trackd.media import __all__  # noqa: F401
