"""W&B's ``wandb.errors.term``: the SDK's terminal lines."""

from trackd import termerror, termlog, termwarn  # noqa: F401
