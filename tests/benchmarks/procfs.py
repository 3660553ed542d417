"""Reading /proc for the benchmark runner: process state, RSS and finding service pids.

Every helper degrades quietly off Linux (no /proc): figures read from here are then None.
"""

from __future__ import annotations

import os


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return None


def proc_cmdline(pid: int) -> str:
    """The command line of `pid` with its arguments joined by spaces ("" when unreadable)."""
    return (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")


def proc_status_kib(pid: int, field: str) -> int | None:
    text = _read(f"/proc/{pid}/status")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def proc_alive(pid: int) -> bool:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        try:
            os.kill(pid, 0)  # non-Linux fallback
            return True
        except OSError:
            return False
    state = text.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def proc_ppid(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return int(text.rsplit(")", 1)[-1].split()[1])


def find_service_pids(
    patterns: tuple[str, ...], marker: str | None, root_pid: int | None
) -> list[int]:
    """Live processes whose command line contains one of `patterns`.

    Preference: those whose environment or command line mentions `marker`
    (the case's private temp dir), else descendants of `root_pid`; with neither
    given, all of them.
    """
    if not os.path.isdir("/proc"):
        return []
    me = os.getpid()
    matches = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in (me, root_pid):
            continue
        cmd = proc_cmdline(pid)
        if not cmd:
            continue
        if "bench_worker.py" in cmd or not any(p in cmd for p in patterns):
            continue
        if not proc_alive(pid):
            continue
        matches.append((pid, cmd))
    if marker:
        marked = [
            pid
            for pid, cmd in matches
            if marker in cmd or marker in (_read(f"/proc/{pid}/environ") or "")
        ]
        if marked:
            return marked
    if root_pid:
        out = []
        for pid, _ in matches:
            p, hops = pid, 0
            while p and p > 1 and hops < 32:
                p = proc_ppid(p)
                hops += 1
                if p == root_pid:
                    out.append(pid)
                    break
        return out
    return [] if marker else [pid for pid, _ in matches]


def proc_children_rss_kib(root: int) -> int:
    """Summed VmRSS of all live descendants of `root` (not root itself)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pp = proc_ppid(int(entry))
            if pp:
                kids.setdefault(pp, []).append(int(entry))
    total, todo = 0, list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        total += proc_status_kib(pid, "VmRSS") or 0
        todo.extend(kids.get(pid, []))
    return total
