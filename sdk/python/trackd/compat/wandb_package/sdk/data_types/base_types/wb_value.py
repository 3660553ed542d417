"""W&B's ``wandb.sdk.data_types.base_types.wb_value``: ``WBValue`` is the base of every data
type (``trackd.Image``, ``trackd.Table``, ``trackd.Histogram``...)."""

from trackd.media.base import Media as WBValue  # noqa: F401
