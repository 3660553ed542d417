"""W&B's ``wandb.sdk.lib.paths``."""

import os
from typing import Union

StrPath = Union[str, "os.PathLike[str]"]
