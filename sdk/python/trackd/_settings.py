"""``trackd.Settings``: every knob of the SDK, and where each value comes from.

Precedence, lowest first:

1. the defaults below;
2. the system settings file (``/etc/trackd/settings``, or ``$TRACKD_SETTINGS_SYSTEM``);
3. the user settings file (``$TRACKD_CONFIG_DIR/settings``, else
   ``$XDG_CONFIG_HOME/trackd/settings``, else ``~/.config/trackd/settings``);
4. the workspace settings file (``./trackd/settings`` in the working directory);
5. ``WANDB_*`` environment variables (so existing W&B scripts keep working);
6. ``TRACKD_*`` environment variables (same names with the other prefix; they win over WANDB_*);
7. ``trackd.setup(settings=...)``, in this process or in a parent: setup() exports the settings
   it was given as JSON in ``TRACKD_SETUP_SETTINGS``, which child processes inherit;
8. ``trackd.init(settings=...)``;
9. explicit ``trackd.init(...)`` keyword arguments.

A field left as ``None`` at one level falls through to the level below. Settings files are INI
files with a ``[default]`` section whose keys are field names (``project = mnist``); an unknown
key is an error naming the key and the file. ``trackd settings`` prints the effective settings
and where each value came from.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from trackd.errors import UsageError

MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
         "disabled": "disabled", "shared": "shared"}
REINIT = ("default", "return_previous", "finish_previous", "create_new")
CONSOLE_MODES = ("auto", "off", "wrap", "redirect", "wrap_raw", "wrap_emu")

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
    #: Shared mode (mode="shared", several processes write one run): this writer's label, kept
    #: in each of its rows as ``_writer`` (default: "<host>-<pid>").
    x_label: str | None = None
    #: Shared mode: whether this process is the run's primary writer, which owns its config and
    #: its finish (default True; set False on the other processes).
    x_primary: bool | None = None
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
    #: Artifacts: the download cache lives in ``<cache_dir>/artifacts`` (default ~/.cache/trackd).
    cache_dir: str | None = None
    #: Artifacts: staging copies of files being logged go to ``<data_dir>/staging``.
    data_dir: str | None = None
    #: Artifacts: where ``download()`` puts files without a root (default ./artifacts).
    artifact_dir: str | None = None
    #: Artifacts: the download cache's size bound: bytes, "20GB", "500MiB" or "10%" of the free
    #: disk (default 10% of the free disk); least recently used files are evicted past it.
    artifact_cache_max_size: str | None = None
    #: Console capture into the run's output.log: "auto" (= "wrap"), "off", "wrap" (= "wrap_raw"),
    #: "redirect" (the process's file descriptors 1 and 2, through a pipe: output of C code and
    #: child processes too), "wrap_raw" (sys.stdout/sys.stderr writes; a line rewritten with
    #: "\r" keeps its last state), "wrap_emu" (writes through a small terminal emulator: cursor
    #: moves and erases too, for multi-line progress bars).
    console: str | None = None
    #: Store the main script (in the run's files, code/...) and record the git diff.
    save_code: bool | None = None
    #: Do not record the git state (commit, remote, diff.patch).
    disable_git: bool | None = None
    #: Do not record the environment at all (metadata, requirements, git).
    disable_meta: bool | None = None
    #: Glob patterns (relative to the run's files directory) of files run.save() leaves out.
    ignore_globs: tuple[str, ...] | None = None
    #: Seconds between system-metric samples of the run's process tree (default 15; at least 1).
    x_stats_sampling_interval: float | None = None
    #: Do not sample system metrics.
    x_disable_stats: bool | None = None
    # Accepted for compatibility; no effect on a local daemon.
    api_key: str | None = None
    base_url: str | None = None
    start_method: str | None = None
    anonymous: str | None = None
    #: init(force=True): an online run never continues offline (see trackd.init).
    force: bool | None = None

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
        "console": "auto",
        "save_code": False,
        "disable_git": False,
        "disable_meta": False,
        "ignore_globs": (),
        "x_stats_sampling_interval": 15.0,
        "x_disable_stats": False,
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
        elif self.config_paths is not None:
            self.config_paths = tuple(self.config_paths)
        if self.start_method is not None:
            import warnings

            warnings.warn(
                "Settings(start_method=...) has no effect: trackd runs no process per run "
                "(every run talks to the one daemon)", UserWarning, stacklevel=3,
            )
        if self.max_buffered_records is not None and int(self.max_buffered_records) < 1:
            raise UsageError("Settings.max_buffered_records must be at least 1")
        if self.console is not None and self.console not in CONSOLE_MODES:
            raise UsageError(f"Settings.console must be one of {list(CONSOLE_MODES)}, got "
                             f"{self.console!r}")
        if isinstance(self.ignore_globs, str):
            self.ignore_globs = tuple(g for g in self.ignore_globs.split(",") if g)
        elif self.ignore_globs is not None:
            self.ignore_globs = tuple(self.ignore_globs)
        if self.x_stats_sampling_interval is not None:
            interval = float(self.x_stats_sampling_interval)
            if not interval >= 1.0:
                raise UsageError("Settings.x_stats_sampling_interval must be at least 1 second, "
                                 f"got {self.x_stats_sampling_interval!r}")
            self.x_stats_sampling_interval = interval

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

    # -- computed, read-only (a run's settings know its directories) ---------------------------

    @property
    def wandb_dir(self) -> str:
        """The directory runs are kept in: ``<root_dir or cwd>/wandb``."""
        return os.path.join(self.root_dir or os.getcwd(), "wandb")

    @property
    def resume_fname(self) -> str:
        """The file ``resume="auto"`` keeps the id of the run to continue in."""
        return os.path.join(self.wandb_dir, "wandb-resume.json")

    @property
    def run_mode(self) -> str:
        """``"offline-run"`` or ``"run"`` (the prefix of the run directory's name)."""
        return "offline-run" if self.get("mode") == "offline" else "run"

    @property
    def sync_dir(self) -> str | None:
        """The run's directory (None outside a run)."""
        return getattr(self, "_sync_dir", None)

    @property
    def files_dir(self) -> str | None:
        """The run's files directory, ``run.dir``."""
        return None if self.sync_dir is None else os.path.join(self.sync_dir, "files")

    @property
    def log_dir(self) -> str | None:
        """The run's log directory."""
        return None if self.sync_dir is None else os.path.join(self.sync_dir, "logs")

    @property
    def sync_file(self) -> str | None:
        """The run's offline log (written in offline mode, or when the daemon was lost)."""
        if self.sync_dir is None or not self.run_id:
            return None
        return os.path.join(self.sync_dir, f"run-{self.run_id}.wal")

    @property
    def timespec(self) -> str | None:
        """The run's start as ``YYYYmmdd_HHMMSS`` (local time), as in its directory's name."""
        start = getattr(self, "_start_time", None)
        return None if start is None else time.strftime("%Y%m%d_%H%M%S", time.localtime(start))

    def _for_run(self, sync_dir: str | None, start_time: float) -> Settings:
        """A copy that knows a run's directory and start (for ``run.settings``)."""
        copy = dataclasses.replace(self)
        copy._sync_dir = sync_dir  # type: ignore[attr-defined]
        copy._start_time = start_time  # type: ignore[attr-defined]
        return copy


#: Where settings files are read from, lowest precedence first: (layer name, path).
def settings_files(env: Mapping[str, str], cwd: str) -> list[tuple[str, str]]:
    home = env.get("HOME") or os.path.expanduser("~")
    user_dir = env.get("TRACKD_CONFIG_DIR") or os.path.join(
        env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "trackd")
    return [
        ("system settings file", env.get("TRACKD_SETTINGS_SYSTEM") or "/etc/trackd/settings"),
        ("user settings file", os.path.join(user_dir, "settings")),
        ("workspace settings file", os.path.join(cwd, "trackd", "settings")),
    ]


def read_settings_file(path: str) -> Settings:
    """A settings file's ``[default]`` section (an absent file is empty).

    :raises UsageError: the file is not INI, a key is unknown, or a value is invalid.
    """
    import configparser

    if not os.path.isfile(path):
        return Settings()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise UsageError(f"settings file {path}: {exc}") from None
    if not parser.has_section("default"):
        return Settings()
    names = {f.name for f in fields(Settings) if not f.name.startswith("_")}
    values: dict[str, Any] = {}
    for key, raw in parser.items("default"):
        if key not in names:
            raise UsageError(f"settings file {path}: unknown setting {key!r}")
        values[key] = _coerce(key, raw)
    try:
        return Settings(**values)
    except UsageError as exc:
        raise UsageError(f"settings file {path}: {exc}") from None


def setting_layers(env: Mapping[str, str] | None = None,
                   cwd: str | None = None) -> list[tuple[str, Settings]]:
    """The files and environment layers below setup()/init(), lowest first."""
    env = os.environ if env is None else env
    layers = [(f"{name} ({path})", read_settings_file(path))
              for name, path in settings_files(env, cwd or os.getcwd())]
    layers.append(("WANDB_* environment", Settings.from_env(
        {k: v for k, v in env.items() if k.startswith("WANDB_")})))
    layers.append(("TRACKD_* environment", Settings.from_env(
        {k: v for k, v in env.items() if k.startswith("TRACKD_")})))
    layers.append((f"setup() of a parent process ({SETUP_SETTINGS_ENV})", inherited_setup(env)))
    return layers


#: Where setup() puts the settings it was given, for child processes (JSON of the fields set).
SETUP_SETTINGS_ENV = "TRACKD_SETUP_SETTINGS"


def export_setup(settings: Settings) -> str:
    """The ``TRACKD_SETUP_SETTINGS`` value carrying the fields ``settings`` sets."""
    import json

    values = {name: value for name, value in settings.to_dict().items() if value is not None}
    return json.dumps(values, default=str, sort_keys=True)


def inherited_setup(env: Mapping[str, str]) -> Settings:
    """The settings a parent process gave setup() (empty when there are none).

    :raises UsageError: the variable is not what :func:`export_setup` writes.
    """
    import json

    raw = env.get(SETUP_SETTINGS_ENV)
    if not raw:
        return Settings()
    try:
        values = json.loads(raw)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        return Settings(**values)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{SETUP_SETTINGS_ENV} holds no settings trackd.setup() wrote: {exc}; "
                         "unset it") from None


def base_settings(env: Mapping[str, str] | None = None, cwd: str | None = None) -> Settings:
    """Defaults < settings files < environment: what setup() and init() start from."""
    merged = Settings()
    for _name, layer in setting_layers(env, cwd):
        merged = merged.merged(layer)
    return merged


def explain(layers: list[tuple[str, Settings]]) -> list[tuple[str, Any, str]]:
    """``(field, effective value, where it came from)`` for every field."""
    out = []
    for f in fields(Settings):
        if f.name.startswith("_"):
            continue
        value, source = Settings.DEFAULTS.get(f.name), "default"
        for name, layer in layers:
            v = getattr(layer, f.name)
            if v is not None:
                value, source = v, name
        out.append((f.name, value, source))
    return out


def _coerce(name: str, raw: str) -> Any:
    hints = {f.name: f.type for f in fields(Settings)}
    hint = str(hints[name])
    if "bool" in hint and "str" not in hint:
        word = raw.strip().lower()
        if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise UsageError(f"setting {name} must be true or false, got {raw!r}")
        return word in ("1", "true", "yes", "on")
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
