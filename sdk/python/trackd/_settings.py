"""``trackd.Settings``: every knob of the SDK, and where each value comes from.

Precedence, lowest first:

1. the defaults below;
2. ``WANDB_*`` environment variables (so existing W&B scripts keep working);
3. ``TRACKD_*`` environment variables (same names with the other prefix; they win over WANDB_*);
4. ``trackd.setup(settings=...)``;
5. ``trackd.init(settings=...)``;
6. explicit ``trackd.init(...)`` keyword arguments.

A field left as ``None`` at one level falls through to the level below.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from trackd.errors import UsageError

MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
         "disabled": "disabled"}
REINIT = ("default", "return_previous", "finish_previous", "create_new")

# Environment names that are not simply the upper-cased field name.
_ENV_NAMES = {
    "root_dir": "DIR",
    "run_name": "NAME",
    "run_notes": "NOTES",
    "run_tags": "TAGS",
    "run_group": "RUN_GROUP",
    "run_job_type": "JOB_TYPE",
    "run_id": "RUN_ID",
    "daemon_address": "ADDRESS",
}


@dataclass
class Settings:
    """Settings for the SDK; pass to ``trackd.init(settings=...)`` or ``trackd.setup(...)``.

    Unknown names raise ``TypeError``. Fields that W&B has but that do not apply to a local
    daemon (``api_key``, ``base_url``...) are accepted for compatibility and have no effect.
    """

    mode: str | None = None
    project: str | None = None
    entity: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    run_notes: str | None = None
    run_tags: tuple[str, ...] | None = None
    run_group: str | None = None
    run_job_type: str | None = None
    root_dir: str | None = None
    config_paths: tuple[str, ...] | None = None
    allow_val_change: bool | None = None
    reinit: str | bool | None = None
    #: "allow", "must", "never" or "auto" (True means "auto"); see init(resume=...).
    resume: str | bool | None = None
    sweep_id: str | None = None
    quiet: bool | None = None
    silent: bool | None = None
    #: gRPC target of a running daemon ("unix:/path" or "127.0.0.1:PORT"); setup() exports it.
    daemon_address: str | None = None
    #: Seconds setup() waits for a daemon it starts to serve.
    daemon_start_timeout: float | None = None
    #: Seconds init() waits for the daemon to create the run.
    init_timeout: float | None = None
    #: Seconds finish() may take (0: no limit); on expiry FinishTimeoutError is raised.
    finish_timeout: float | None = None
    #: Records log() may buffer before it blocks the caller (the memory bound of the SDK).
    max_buffered_records: int | None = None
    #: Seconds the SDK keeps trying to reach a daemon that went away before the run continues
    #: offline (records already buffered go to the offline log; nothing is dropped).
    reconnect_timeout: float | None = None
    # Accepted for compatibility; no effect on a local daemon.
    api_key: str | None = None
    base_url: str | None = None
    start_method: str | None = None
    anonymous: str | None = None
    console: str | None = None
    save_code: bool | None = None

    DEFAULTS = {  # noqa: RUF012 - class constant
        "mode": "online",
        "allow_val_change": False,
        "reinit": "default",
        "quiet": False,
        "silent": False,
        "daemon_start_timeout": 30.0,
        "init_timeout": 90.0,
        "finish_timeout": 0.0,
        "max_buffered_records": 10_000,
        "reconnect_timeout": 60.0,
    }

    def __post_init__(self) -> None:
        if self.mode is not None:
            mode = str(self.mode).lower()
            if mode not in MODES:
                raise UsageError(f"Settings.mode must be one of {sorted(MODES)}, got {self.mode!r}")
            self.mode = MODES[mode]
        if isinstance(self.run_tags, str):
            self.run_tags = tuple(t.strip() for t in self.run_tags.split(",") if t.strip())
        elif self.run_tags is not None:
            self.run_tags = tuple(self.run_tags)
        if isinstance(self.config_paths, str):
            self.config_paths = tuple(p for p in self.config_paths.split(",") if p)
        if self.start_method is not None:
            import warnings

            warnings.warn(
                "Settings(start_method=...) has no effect: trackd runs no process per run "
                "(every run talks to the one daemon)", UserWarning, stacklevel=3,
            )
        if self.max_buffered_records is not None and int(self.max_buffered_records) < 1:
            raise UsageError("Settings.max_buffered_records must be at least 1")

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``WANDB_*`` then ``TRACKD_*`` variables (TRACKD wins)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name.startswith("_"):
                continue
            suffix = _ENV_NAMES.get(f.name, f.name.upper())
            for prefix in ("WANDB_", "TRACKD_"):
                raw = env.get(prefix + suffix)
                if raw is not None and raw != "":
                    values[f.name] = _coerce(f.name, raw)
        return cls(**values)

    def merged(self, other: Settings | Mapping[str, Any] | None) -> Settings:
        """A copy where every non-None field of ``other`` replaces this one's."""
        if other is None:
            return dataclasses.replace(self)
        if isinstance(other, Mapping):
            other = Settings(**dict(other))
        updates = {f.name: getattr(other, f.name) for f in fields(self)
                   if not f.name.startswith("_") and getattr(other, f.name) is not None}
        return dataclasses.replace(self, **updates)

    def update_from_dict(self, settings: Mapping[str, Any]) -> None:
        """Set fields from a dict (W&B's method of the same name)."""
        new = self.merged(settings)
        for f in fields(self):
            setattr(self, f.name, getattr(new, f.name))

    def get(self, name: str) -> Any:
        """The field's value, or its default when unset."""
        value = getattr(self, name)
        return self.DEFAULTS.get(name) if value is None else value

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def _coerce(name: str, raw: str) -> Any:
    hints = {f.name: f.type for f in fields(Settings)}
    hint = str(hints[name])
    if "bool" in hint and "str" not in hint:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if "float" in hint:
        try:
            return float(raw)
        except ValueError:
            raise UsageError(f"environment setting for {name} must be a number, got {raw!r}") from None
    if "int" in hint:
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f"environment setting for {name} must be an integer, got {raw!r}") from None
    if name in ("reinit", "resume") and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw
