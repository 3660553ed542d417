"""Where artifacts live on this machine, from the settings (``cache_dir``, ``data_dir``,
``artifact_dir``; W&B's ``WANDB_CACHE_DIR``, ``WANDB_DATA_DIR`` and ``WANDB_ARTIFACT_DIR``
work too):

* the download cache: ``<cache_dir>/artifacts`` (default ``$XDG_CACHE_HOME/trackd``, i.e.
  ``~/.cache/trackd``; a run's environment keeps what it read in ``<cache_dir>/environment``);
* staging copies of files being logged: ``<data_dir>/staging`` (default: ``sdk/`` under the
  daemon's data root, so that the daemon can take a staged file over without copying it);
* downloads without an explicit root: ``<artifact_dir>/<name>:<version>`` (default
  ``./artifacts``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trackd._transport.setup import state


def settings() -> Any:
    """The settings in effect: the current run's, else this process's."""
    st = state()
    run = st.current
    return run._settings if run is not None else st.settings


def cache_root(settings: Any) -> Path:
    """``settings``' ``cache_dir``, else ``$XDG_CACHE_HOME/trackd`` (``~/.cache/trackd``)."""
    base = settings.cache_dir
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "trackd")
    return Path(base)


def cache_dir() -> Path:
    return cache_root(settings()) / "artifacts"


def staging_dir() -> Path:
    # loaded on first use, not by `import trackd`
    from trackd._shared.paths import default_paths

    base = settings().data_dir
    if not base:
        base = str(default_paths(os.environ)[0] / "sdk")
    return Path(base) / "staging"


def artifact_dir() -> Path:
    return Path(settings().artifact_dir or os.path.join(".", "artifacts"))
