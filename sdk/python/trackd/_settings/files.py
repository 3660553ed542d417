"""Settings files and the layers below setup()/init(): where each value comes from.

Settings files are INI files with a ``[default]`` section whose keys are field names
(``project = mnist``); an unknown key is an error naming the key and the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from trackd._settings.fields import RunMoment, validate
from trackd._settings.model import FIELD_NAMES, Settings
from trackd.errors import UsageError

SYSTEM_FILE = "/etc/trackd/settings"


def system_file(env: Mapping[str, str]) -> str:
    """The system settings file: ``$TRACKD_SETTINGS_SYSTEM``, ``$WANDB_SETTINGS_SYSTEM``, else
    /etc/trackd/settings."""
    return env.get("TRACKD_SETTINGS_SYSTEM") or env.get("WANDB_SETTINGS_SYSTEM") or SYSTEM_FILE


def user_config_dir(env: Mapping[str, str]) -> str:
    """This user's trackd directory: ``$TRACKD_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/trackd``,
    else ``~/.config/trackd`` (the user settings file, the stored login)."""
    home = env.get("HOME") or os.path.expanduser("~")
    return env.get("TRACKD_CONFIG_DIR") or os.path.join(
        env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "trackd")


def settings_files(env: Mapping[str, str], cwd: str) -> list[tuple[str, str]]:
    """Where settings files are read from, lowest precedence first: (layer name, path)."""
    user_dir = user_config_dir(env)
    return [
        ("system settings file", system_file(env)),
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
    values: dict[str, Any] = {}
    for key, raw in parser.items("default"):
        name = "x" + key if key.startswith("_") else key
        if name not in FIELD_NAMES:
            raise UsageError(f"settings file {path}: unknown setting {key!r}")
        try:
            values[name] = validate(name, raw)
        except UsageError as exc:
            raise UsageError(f"settings file {path}: {exc.message}") from None
    return Settings(**values)


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

    def plain(value: Any) -> Any:
        if isinstance(value, RunMoment):
            return f"{value.run}?{value.metric}={value.value}"
        raise TypeError(f"cannot export {type(value).__name__}")

    values = {name: value for name, value in settings.to_dict().items() if value is not None}
    return json.dumps(values, default=plain, sort_keys=True)


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


def apply(current: Settings, given: Settings | Mapping[str, Any] | None) -> Settings:
    """``current`` (setup's settings) updated with ``given`` (setup's or init's argument).

    When ``given`` names another ``settings_system`` file, that file replaces the system
    layer: its values take the place of the old system file's (and of defaults), and every
    value that came from a higher layer or from setup() stays.
    """
    if given is None:
        return current.merged(None)
    if isinstance(given, Mapping):
        given = Settings(**dict(given))
    path = given.settings_system
    if path is None or path == system_file(os.environ):
        return current.merged(given)
    old = read_settings_file(system_file(os.environ))
    new = read_settings_file(path)
    above = base_settings({**os.environ, "TRACKD_SETTINGS_SYSTEM": os.devnull})
    rebased = current.merged(None)
    for name in FIELD_NAMES:
        value = getattr(current, name)
        from_old_layer = value is not None and value == getattr(old, name) and (
            getattr(above, name) is None)
        if (value is None or from_old_layer) and getattr(new, name) is not None:
            rebased.__dict__[name] = getattr(new, name)
        elif from_old_layer:
            rebased.__dict__[name] = None
    return rebased.merged(given)


def explain(layers: list[tuple[str, Settings]]) -> list[tuple[str, Any, str]]:
    """``(field, effective value, where it came from)`` for every field."""
    out = []
    for name in FIELD_NAMES:
        value, source = Settings.DEFAULTS.get(name), "default"
        for layer_name, layer in layers:
            v = getattr(layer, name)
            if v is not None:
                value, source = v, layer_name
        out.append((name, value, source))
    return out
