"""``trackd.Settings``: every knob of the SDK, and where each value comes from.

Precedence, lowest first:

1. the defaults (``Settings.DEFAULTS``);
2. the system settings file (``/etc/trackd/settings``, or ``$TRACKD_SETTINGS_SYSTEM`` /
   ``$WANDB_SETTINGS_SYSTEM``, or the ``settings_system`` given to setup() or init());
3. the user settings file (``$TRACKD_CONFIG_DIR/settings``, else
   ``$XDG_CONFIG_HOME/trackd/settings``, else ``~/.config/trackd/settings``);
4. the workspace settings file (``./trackd/settings`` in the working directory);
5. ``WANDB_*`` environment variables (so existing W&B scripts keep working: the field's name
   upper-cased, and W&B's own names where they differ: ``WANDB_DIR``, ``WANDB_NAME``,
   ``WANDB_NOTES``, ``WANDB_TAGS``, ``WANDB_JOB_TYPE``, ``WANDB_USER_EMAIL``...);
6. ``TRACKD_*`` environment variables (same names with the other prefix; they win over WANDB_*);
7. ``trackd.setup(settings=...)``, in this process or in a parent: setup() exports the settings
   it was given as JSON in ``TRACKD_SETUP_SETTINGS``, which child processes inherit;
8. ``trackd.init(settings=...)``;
9. explicit ``trackd.init(...)`` keyword arguments.

A field left as ``None`` at one level falls through to the level below. ``trackd settings``
prints the effective settings and where each value came from.

The package: :mod:`.fields` (what each field may hold), :mod:`.model` (the class),
:mod:`.files` (settings files and layers).
"""

from __future__ import annotations

from trackd._settings.fields import CONSOLE_MODES, MODES, REINIT, RunMoment
from trackd._settings.files import (
    SETUP_SETTINGS_ENV,
    apply,
    base_settings,
    explain,
    export_setup,
    inherited_setup,
    read_settings_file,
    setting_layers,
    settings_files,
)
from trackd._settings.model import FIELD_NAMES, FrozenSettingsError, Settings

__all__ = ["CONSOLE_MODES", "FIELD_NAMES", "MODES", "REINIT", "SETUP_SETTINGS_ENV",
           "FrozenSettingsError", "RunMoment", "Settings", "apply", "base_settings", "explain",
           "export_setup", "inherited_setup", "read_settings_file", "setting_layers",
           "settings_files"]
