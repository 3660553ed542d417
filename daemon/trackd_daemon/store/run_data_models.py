"""Plain data of a run's files, console log and system metrics (see ``run_data_base.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: File policies (W&B's run.save): stored once now; now, on change and at finish; at finish.
NOW, LIVE, END = "now", "live", "end"
POLICIES = (NOW, LIVE, END)
#: Console streams (trackd.v1.ConsoleStream values).
STDOUT, STDERR = 1, 2


@dataclass(frozen=True)
class RunFileVersion:
    """One stored version of a run file."""

    name: str
    version: int
    key: str
    md5: str
    size: int
    stored_at: float
    #: "now", "live", "change", "end", "finish" or "upload" (see file_service.proto).
    reason: str


@dataclass(frozen=True)
class RunFileInfo:
    """A run file: its latest version, how many it has, and (when asked) all of them."""

    latest: RunFileVersion
    versions: int
    history: list[RunFileVersion] = field(default_factory=list)


@dataclass(frozen=True)
class FileSpec:
    """A saved file's registration: where it lies, when to store it, for whom it is read."""

    name: str
    path: str
    policy: str
    uid: int = -1
    gid: int = -1


@dataclass(frozen=True)
class ConsoleLine:
    """One line of console output; the same (writer, stream, line) again replaces it."""

    stream: int
    line: int
    timestamp: float
    text: str
    writer: str = ""


@dataclass(frozen=True)
class ConsolePart:
    """A part of a run's console log (parts split it at a size, on line boundaries)."""

    part: int
    bytes: int
    lines: int


@dataclass(frozen=True)
class SystemSample:
    """One system-metrics sample of a run's process tree (``writer``: whose, "" the primary)."""

    pk: int
    writer: str
    timestamp: float
    values: dict[str, float]


@dataclass(frozen=True)
class SamplerSpec:
    """A run's training process to sample (kept so that a restarted daemon samples it on)."""

    writer: str
    pid: int
    interval: float
    uid: int
    trusted: bool
