"""A run's directory on disk and its two log files.

``<wandb_dir>/run-<YYYYmmdd_HHMMSS>-<id>/`` (``offline-run-...`` offline) holds ``files/``
(``run.dir``), ``logs/debug.log`` (the SDK's log of the run: what it printed and did),
``logs/debug-internal.log`` (its connection log: the daemon it used, reconnects, refused
records, the finish) and ``run-<id>.wal`` (the record log an offline run, or a run that lost its
daemon, writes; empty otherwise), and ``run-<id>.wandb``, a link to it under W&B's name (code
that finds a run by globbing ``run-*.wandb``, as ultralytics does to resume, takes the id from
it). With the ``symlink`` setting (the default),
``<wandb_dir>/latest-run``, ``debug.log`` and ``debug-internal.log`` are links to the newest
run's directory and logs.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TextIO

USER_LOG = "debug.log"
INTERNAL_LOG = "debug-internal.log"

_open: list[RunLogs] = []
_lock = threading.Lock()


def make_dirs(wandb_dir: Path, prefix: str, stamp: str, run_id: str, *, unique: bool) -> Path:
    """Create and return the run's directory (with ``files/`` and ``logs/``); ``unique``
    appends ``-1``, ``-2``... when the name is taken."""
    sync_dir = wandb_dir / f"{prefix}-{stamp}-{run_id}"
    n = 0
    while unique and sync_dir.exists():
        n += 1
        sync_dir = wandb_dir / f"{prefix}-{stamp}-{run_id}-{n}"
    (sync_dir / "files").mkdir(parents=True, exist_ok=True)
    (sync_dir / "logs").mkdir(exist_ok=True)
    (sync_dir / f"run-{run_id}.wal").touch()
    _link_wandb_name(sync_dir, run_id)
    return sync_dir


def _link_wandb_name(sync_dir: Path, run_id: str) -> None:
    """``run-<id>.wandb`` next to ``run-<id>.wal``: a relative link, or an empty file where
    the file system has no links (only its name is read)."""
    name = sync_dir / f"run-{run_id}.wandb"
    if name.exists() or name.is_symlink():
        return
    try:
        name.symlink_to(f"run-{run_id}.wal")
    except OSError:
        name.touch()


def link_latest(wandb_dir: Path, sync_dir: Path) -> None:
    """Point ``latest-run``, ``debug.log`` and ``debug-internal.log`` in ``wandb_dir`` at this
    run (relative links; a failure to link, on a file system without links, is ignored)."""
    for name, target in (("latest-run", sync_dir.name),
                         (USER_LOG, f"{sync_dir.name}/logs/{USER_LOG}"),
                         (INTERNAL_LOG, f"{sync_dir.name}/logs/{INTERNAL_LOG}")):
        link = wandb_dir / name
        try:
            if link.is_symlink() or link.is_file():
                link.unlink()
            link.symlink_to(target)
        except OSError:
            pass


class _Handler(logging.Handler):
    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.DEBUG)
        self._out = out
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._out.write(self.format(record) + "\n")
        except (OSError, ValueError):
            pass


class RunLogs:
    """The two log files of a run (open from its start to its finish)."""

    def __init__(self, sync_dir: Path) -> None:
        logs = sync_dir / "logs"
        self.user = open(logs / USER_LOG, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self.internal = open(logs / INTERNAL_LOG, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        # The SDK's connection warnings (the "trackd" logger) reach the internal log at the
        # level the application lets through.
        self._handler = _Handler(self.internal)
        logging.getLogger("trackd").addHandler(self._handler)
        with _lock:
            _open.append(self)

    @staticmethod
    def _line(out: TextIO, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            out.write(f"{stamp} {text}\n")
        except (OSError, ValueError):
            pass  # a closed or full disk never fails the run

    def note(self, text: str) -> None:
        """A line of the SDK's log."""
        self._line(self.user, text)

    def event(self, text: str) -> None:
        """A line of the connection log."""
        self._line(self.internal, text)

    def close(self) -> None:
        logging.getLogger("trackd").removeHandler(self._handler)
        with _lock:
            if self in _open:
                _open.remove(self)
        for f in (self.user, self.internal):
            try:
                f.close()
            except OSError:
                pass


def note_all(text: str) -> None:
    """Add a line to the SDK log of every run of this process that is open (a message the SDK
    printed)."""
    with _lock:
        logs = list(_open)
    for run_logs in logs:
        run_logs.note(text)

