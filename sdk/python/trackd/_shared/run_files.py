"""Names of run files, shared by the SDK and the daemon.

A run file is named by its path relative to the run's files directory, with ``/`` between
parts: ``model.pt``, ``code/train.py``. A name never leaves that directory: no ``..`` part, no
leading ``/``, no empty or ``.`` part, no backslash or NUL. The console log's names
(``output.log``, ``logs/output.NNNN.log``) are the daemon's.
"""

from __future__ import annotations

import re

#: Longest name accepted (bytes of UTF-8).
NAME_MAXLEN = 1024
CONSOLE_LOG = "output.log"
CONSOLE_PART = re.compile(r"^logs/output\.(\d{4,})\.log$")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a run file (None when it can)."""
    if not isinstance(name, str) or not name:
        return "a run file name must be a non-empty string"
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAXLEN:
        return f"a run file name is at most {NAME_MAXLEN} bytes, got {name[:40]!r}..."
    if "\\" in name or "\0" in name:
        return f"a run file name may not contain a backslash or NUL: {name!r}"
    if name.startswith("/"):
        return f"a run file name is relative to the run's files directory, not absolute: {name!r}"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return (f"a run file name may not have empty, '.' or '..' parts (it must stay inside the "
                f"run's files directory): {name!r}")
    return None


def console_part_name(part: int) -> str:
    """The name of part ``part`` of a console log split into several."""
    return f"logs/output.{part:04d}.log"
