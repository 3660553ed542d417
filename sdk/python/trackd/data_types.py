"""W&B's ``wandb.data_types``: the data types a run can log (see :mod:`trackd.media`)."""

from __future__ import annotations

from trackd.media import Histogram

__all__ = ["Histogram"]
