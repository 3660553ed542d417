"""Data types a run can log besides numbers and text (W&B's ``wandb.<Type>``), each turned
into the JSON dict W&B writes for it in the run's history and summary.

Today: :class:`Histogram`.
"""

from __future__ import annotations

from trackd.media.histogram import MAX_BINS, Histogram

__all__ = ["MAX_BINS", "Histogram"]
