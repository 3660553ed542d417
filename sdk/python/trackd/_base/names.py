"""Names a run takes from its surroundings when none is given: the program that runs, the
project (its git repository), the entity (the user); the check every entity and project name
passes, for ``init()``, sweeps and the read API alike; and the names of a run's states."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from trackd.errors import UsageError

#: A run's state on the wire (``trackd.v1.RunState``) by the name W&B gives it.
STATE_NAMES = {1: "running", 2: "finished", 3: "failed", 4: "crashed", 5: "killed",
               6: "preempted"}


def validate_name(kind: str, value: str) -> str:
    """``value`` when it is a valid ``kind`` (entity, project) name.

    :raises UsageError: empty, padded with whitespace, over 128 characters, or with one of
        / \\ # ? % : or a line break.
    """
    if (not value or value != value.strip() or any(c in value for c in "/\\#?%:\r\n")
            or len(value) > 128):
        raise UsageError(f"Invalid {kind} name {value!r}: it must be 1-128 characters "
                         "without / \\ # ? % :")
    return value


def program() -> str:
    """The absolute path of the main program (``__main__``), ``-c`` or ``""`` when there is
    no file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    return os.path.abspath(path) if path and path != "-c" else (path or "")


def default_project(program: str | None = None) -> str:
    """The name of the git repository around the working directory (plus ``-<subdir>`` when
    the program lives in a subdirectory of it), else ``"uncategorized"``."""
    cwd = Path.cwd()
    for root in (cwd, *cwd.parents):
        if (root / ".git").exists():
            name = root.name
            if program:
                try:
                    rel = Path(program).resolve().parent.relative_to(root.resolve())
                except ValueError:
                    rel = Path()
                if str(rel) not in ("", "."):
                    name += "-" + str(rel).replace(os.sep, "_")
            return name
    return "uncategorized"


def default_entity() -> str:
    """The user's login name (its uid where the system has no name for it)."""
    import getpass  # loads termios: not at `import trackd`, which needs no user name

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())
