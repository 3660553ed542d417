"""W&B's ``wandb.sdk.lib.telemetry``."""

from trackd.integrations.telemetry import Record as TelemetryRecord  # noqa: F401
from trackd.integrations.telemetry import context  # noqa: F401
