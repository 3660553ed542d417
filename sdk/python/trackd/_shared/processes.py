"""Whether a process is still there (for pids recorded in file names and state files)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited: a zombie that nobody reaped yet has
    exited. Another user's process (kill answers EPERM) exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:][:1] != b"Z"
    except (OSError, ValueError):  # no procfs (not Linux): kill's answer is all there is
        return True
