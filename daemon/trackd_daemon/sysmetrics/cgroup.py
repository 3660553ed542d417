"""Container limits (cgroup v2) of a process: its CPU quota and memory limit.

A process in a container sees the host's CPUs and memory through psutil; the limits that apply
to it are its cgroup's (and its ancestors'): ``cpu.max`` (quota and period) and ``memory.max``.
The tightest limit on the path from the process's cgroup up to the root wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """The limits that apply to a process (None: none beyond the machine's)."""

    cpus: float | None  # the CPU quota in CPUs (quota / period)
    memory_bytes: int | None
    #: The cgroup whose memory.current tells the memory in use against ``memory_bytes``.
    memory_cgroup: Path | None = None

    def memory_current(self) -> int | None:
        if self.memory_cgroup is None:
            return None
        return _read_int(self.memory_cgroup / "memory.current")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    raw = _read(path)
    if raw is None or raw == "max":
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def cgroup_of(pid: int, root: Path = CGROUP_ROOT) -> Path | None:
    """The cgroup v2 directory of ``pid`` (None on cgroup v1 or when unreadable)."""
    raw = _read(Path(f"/proc/{pid}/cgroup"))
    if raw is None:
        return None
    for line in raw.splitlines():
        if line.startswith("0::"):
            path = root / line[3:].lstrip("/")
            return path if path.is_dir() else None
    return None


def limits_of(pid: int, root: Path = CGROUP_ROOT) -> Limits:
    """The tightest CPU and memory limits on ``pid``'s cgroup path."""
    group = cgroup_of(pid, root)
    if group is None:
        return Limits(None, None)
    cpus: float | None = None
    memory: int | None = None
    memory_group: Path | None = None
    node = group
    while True:
        raw = _read(node / "cpu.max")
        if raw is not None:
            quota, _, period = raw.partition(" ")
            if quota != "max":
                try:
                    value = int(quota) / int(period or "100000")
                except (ValueError, ZeroDivisionError):
                    value = math.inf
                cpus = value if cpus is None else min(cpus, value)
        limit = _read_int(node / "memory.max")
        if limit is not None and (memory is None or limit < memory):
            memory, memory_group = limit, node
        if node == root or root not in node.parents:
            break
        node = node.parent
    return Limits(cpus, memory, memory_group)
