"""W&B's ``wandb.sdk.lib.telemetry``."""

from trackd.compat.telemetry import Record as TelemetryRecord  # noqa: F401
from trackd.compat.telemetry import context  # noqa: F401
