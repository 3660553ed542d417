"""W&B's ``wandb.wandb_run``: ``Run`` is the class ``wandb.init()`` returns."""

from trackd import Run  # noqa: F401
