"""W&B's ``termlog``/``termwarn``/``termerror``: print a line as the SDK prints its own
(``trackd: ...`` on stderr, through :mod:`trackd._base.messages`), for libraries and scripts that
report through the tracker. They follow the current run's settings (``silent``,
``show_warnings``...) and, before any run, the environment's (``TRACKD_SILENT``/``WANDB_SILENT``).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from trackd._base import messages as _messages
from trackd._base.run_dirs import note_all
from trackd._transport.setup import current_run

#: Lines printed with ``repeat=False``, each printed once per process. Bounded: a library that
#: prints a new line each step with repeat=False would otherwise grow it without end; past the
#: bound a repeated line may print again, which is harmless.
_SEEN_LIMIT = 10_000
_seen: set[str] = set()
_lock = threading.Lock()


def _settings() -> Any:
    run = current_run()
    if run is not None:
        return run._settings
    return None


def _silent() -> bool:
    value = os.environ.get("TRACKD_SILENT", os.environ.get("WANDB_SILENT", ""))
    return value.strip().lower() in ("1", "true", "yes", "on")


def _first_time(text: str, repeat: bool) -> bool:
    if repeat:
        return True
    with _lock:
        if text in _seen:
            return False
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen.add(text)
        return True


def _term(level: str, string: str, newline: bool, repeat: bool, prefix: bool) -> None:
    text = str(string)
    if _silent() or not _first_time(text, repeat):
        return
    settings = _settings()
    if prefix:
        _messages.emit(settings, level, text)
        return
    note_all(f"{level.upper()} {text}")
    if settings is not None and not _messages.enabled(settings, level):
        return
    try:
        sys.stderr.write(text + ("\n" if newline else ""))
    except (OSError, ValueError):
        pass


def termlog(string: str = "", newline: bool = True, repeat: bool = True,
            prefix: bool = True) -> None:
    """Print ``string`` as an informational SDK line; ``repeat=False`` prints a given line only
    once per process, ``prefix=False`` leaves out ``trackd:`` (and ``newline=False`` the line
    end)."""
    _term(_messages.INFO, string, newline, repeat, prefix)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """:func:`termlog` as a warning line."""
    _term(_messages.WARNING, string, newline, repeat, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """:func:`termlog` as an error line."""
    _term(_messages.ERROR, string, newline, repeat, prefix)
