"""The lines the SDK prints for a run (``trackd: ...`` on stderr), governed by its settings.

``silent`` prints nothing; ``show_info``, ``show_warnings`` and ``show_errors`` switch each
level off; ``quiet`` drops the informational lines (the footer keeps one line: see
:mod:`trackd._base.footer`); ``show_colors`` colours the prefix (default: on a terminal);
``show_emoji`` puts an emoji before the header's links (default: on a UTF-8 terminal). Every
printed line is also kept in the SDK log of the process's open runs (``logs/debug.log``).

Every console message of the SDK goes through here (the ``trackd`` command line's own output
does not): lines with :func:`info`, :func:`warning` and :func:`error`, Python warnings
(deprecations, arguments with no effect) with :func:`warn`, which issues them only where
``show_warnings`` (and ``silent``) allow. Errors that stop an operation are raised, never only
printed.
Text that holds user data must already be made safe with :func:`trackd._base.terminal.visible`.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

from trackd._base.run_dirs import note_all

INFO, WARNING, ERROR = "info", "warning", "error"
_SWITCH = {INFO: "show_info", WARNING: "show_warnings", ERROR: "show_errors"}
_COLOR = {INFO: "34", WARNING: "33", ERROR: "31"}
_LABEL = {INFO: "", WARNING: "WARNING ", ERROR: "ERROR "}


def enabled(settings: Any, level: str) -> bool:
    """Whether a line of ``level`` is printed under ``settings``."""
    if settings is None:
        return True
    if settings.get("silent"):
        return False
    if level == INFO and settings.get("quiet"):
        return False
    return bool(settings.get(_SWITCH[level]))


def _tty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def colors(settings: Any, out: TextIO) -> bool:
    value = None if settings is None else settings.show_colors
    return _tty(out) if value is None else bool(value)


def emoji(settings: Any, out: TextIO) -> bool:
    value = None if settings is None else settings.show_emoji
    if value is None:
        return _tty(out) and "utf" in (getattr(out, "encoding", "") or "").lower()
    return bool(value)


def emit(settings: Any, level: str, text: str, *, stream: TextIO | None = None,
         force: bool = False) -> bool:
    """Print ``trackd: <text>`` at ``level`` unless the settings switch it off (``force``:
    print whatever the level switches say; ``silent`` still wins). Returns whether it was
    printed; the line goes to the runs' SDK logs either way."""
    note_all(f"{level.upper()} {text}")
    if settings is not None and settings.get("silent"):
        return False
    if not force and not enabled(settings, level):
        return False
    out = stream or sys.stderr
    prefix = "trackd:"
    if colors(settings, out):
        prefix = f"\x1b[{_COLOR[level]};1m{prefix}\x1b[0m"
    try:
        print(f"{prefix} {_LABEL[level]}{text}", file=out)
    except (OSError, ValueError):
        return False
    return True


def info(settings: Any, text: str, **kw: Any) -> bool:
    return emit(settings, INFO, text, **kw)


def warning(settings: Any, text: str, **kw: Any) -> bool:
    return emit(settings, WARNING, text, **kw)


def error(settings: Any, text: str, **kw: Any) -> bool:
    return emit(settings, ERROR, text, **kw)


def warn(settings: Any, text: str, category: type[Warning] = UserWarning,
         stacklevel: int = 1) -> bool:
    """``warnings.warn(text, category)`` (``stacklevel`` as the caller would give it) unless
    ``settings`` switch warnings off (``silent`` or ``show_warnings=False``); Python's warning
    filters then apply as usual. Returns whether it was issued; the runs' SDK logs note it
    either way."""
    note_all(f"WARNING {text}")
    if not enabled(settings, WARNING):
        return False
    warnings.warn(text, category, stacklevel=stacklevel + 1)
    return True


def header(settings: Any, *, name: str, path: str, sync_dir: str, offline: bool,
           version: str, project_url: str | None, run_url: str | None) -> None:
    """What init prints once the run exists (W&B's header): where its data is, where to see it."""
    out = sys.stderr
    star, rocket = ("\u2b50\ufe0f ", "\U0001f680 ") if emoji(settings, out) else ("", "")
    info(settings, f"Tracking run with trackd {version}")
    info(settings, f"Run data is saved locally in {sync_dir}")
    if offline:
        info(settings, f"Run is offline: upload it later with: trackd sync {sync_dir}")
        return
    info(settings, f"Syncing run {name} ({path})")
    if project_url:
        info(settings, f"{star}View project at {project_url}")
    if run_url:
        info(settings, f"{rocket}View run at {run_url}")
    else:
        info(settings, f"See it with: trackd runs show {path}")
