"""Reads the TensorBoard event files of a run's log directories as they are written and logs
their values as history rows (W&B's ``sync_tensorboard``).

One background thread per run polls the directories every ``POLL`` seconds, so the training
loop never waits for it: each event file is read from where the last look stopped
(tensorboard's ``EventFileLoader``, which also waits out a record still being written). New
events are taken in the order they were written (wall time) and gathered into rows as W&B
gathers them: values of the same TensorBoard step make one row, which is logged once a later
step arrives (and at the end); steps of several directories that coincide share a row, which
then also carries ``global_step``, the largest step seen. Each event file is linked into
``run.dir`` and saved ``live`` (with ``save=True``), so the run keeps it.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackd._base import messages
from trackd.tensorboard._events import event_values

#: Seconds between looks at the event files.
POLL = 1.0
#: Events read from one file in one look: a file written faster than it is read (or a large
#: file found at once) is read over several looks, so memory holds at most this many events
#: per file while the thread hands rows to ``log()`` (which waits when the run's queue is full).
EVENTS_PER_LOOK = 2000
#: Seconds finish() gives the thread to stop, after which its last rows are logged anyway.
STOP_WAIT = 30.0
#: Event file names hold this (``events.out.tfevents.<time>.<host>...``).
EVENTS_MARK = "tfevents"


class _Dir:
    def __init__(self, logdir: str, namespace: str | None, save: bool, base: str) -> None:
        self.logdir = logdir
        self.namespace = namespace
        self.save = save
        self.base = base  # event files are saved under their path relative to this
        self.loaders: dict[str, Any] = {}  # event file path -> EventFileLoader


class Watcher:
    """The reading thread of one run. ``log`` logs a row (the run's ``log``), ``save`` links
    and saves a file (``run.save(path, base_path=..., policy="live")``)."""

    def __init__(self, log: Callable[[dict[str, Any]], None],
                 save: Callable[[str, str], None], settings: Any = None) -> None:
        self._log = log
        self._save = save
        self._settings = settings
        self._dirs: list[_Dir] = []
        self._lock = threading.Lock()  # guards _dirs (added from the user's thread)
        self._row: dict[str, Any] = {}
        self._last_step: dict[str | None, int] = {}
        self._global_step = 0
        self._writers: weakref.WeakSet[Any] = weakref.WeakSet()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trackd-tensorboard", daemon=True)
        self._thread.start()
        self.failure: Exception | None = None  # the first problem (printed)
        self.failures = 0

    # -- called from the user's thread -----------------------------------------------------------

    def add(self, logdir: str, save: bool = True, root_logdir: str | None = None,
            writer: Any = None) -> None:
        """Watch ``logdir`` (a writer was opened there); ``writer`` is flushed at finish."""
        logdir = os.path.abspath(os.fspath(logdir))
        if writer is not None:
            self._writers.add(writer)
        with self._lock:
            if any(d.logdir == logdir for d in self._dirs):
                return
            namespace, base = _namespace(logdir, [d.logdir for d in self._dirs], root_logdir)
            self._dirs.append(_Dir(logdir, namespace, save, base))

    def finish(self, timeout: float | None = None) -> None:
        """Flush the writers seen, read what is left and log the last row; the thread ends."""
        for writer in list(self._writers):
            try:
                writer.flush()
            except Exception:  # noqa: BLE001 - a closed writer has nothing left to flush
                pass
        self._stop.set()
        self._thread.join(STOP_WAIT if timeout is None else min(timeout, STOP_WAIT))

    # -- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.wait(POLL):
                self._look()
            while self._look():  # the last look reads everything left
                pass
            self._commit()
        except Exception as exc:  # noqa: BLE001 - reported; the run goes on
            self._problem("reading TensorBoard event files stopped", exc)

    def _commit(self) -> None:
        row, self._row = self._row, {}
        if row:
            try:
                self._log(row)
            except Exception as exc:  # noqa: BLE001 - this row; the next ones go on
                self._problem(f"a TensorBoard row (global_step {row.get('global_step')}) is "
                              "not logged", exc)

    def _problem(self, what: str, exc: Exception) -> None:
        """Report the first problem (a file that cannot be read, a value that cannot be
        logged); the others only count in ``failures``."""
        self.failures += 1
        if self.failure is None:
            self.failure = exc
            messages.error(self._settings, f"{what}: {exc}")

    def _look(self) -> bool:
        """Read the new events of every file (at most ``EVENTS_PER_LOOK`` a file) and log the
        rows they complete; whether any event was read."""
        with self._lock:
            dirs = list(self._dirs)
        events: list[tuple[float, int, Any, _Dir]] = []
        order = itertools.count()
        for d in dirs:
            for path in _event_files(d.logdir):
                try:
                    loader = d.loaders.get(path)
                    if loader is None:
                        loader = d.loaders[path] = _loader(path)
                        if d.save:
                            self._save(path, d.base)
                    for event in itertools.islice(loader.Load(), EVENTS_PER_LOOK):
                        events.append((event.wall_time, next(order), event, d))
                except Exception as exc:  # noqa: BLE001 - this file; the others go on
                    self._problem(f"cannot read TensorBoard event file {path}", exc)
        events.sort(key=lambda e: (e[0], e[1]))
        for _, _, event, d in events:
            self._add_event(event, d.namespace)
        return bool(events)

    def _add_event(self, event: Any, namespace: str | None) -> None:
        """W&B's rule: a namespace's larger step ends the row, unless that step is the largest
        seen already (another directory is at it: same row)."""
        try:
            values = event_values(event, namespace)
        except Exception as exc:  # noqa: BLE001 - this event's values; the others go on
            self._problem(f"a TensorBoard value at step {event.step} is not logged", exc)
            return
        if not values:
            return
        step = int(event.step)
        commit = self._last_step.get(namespace, 0) < step and step != self._global_step
        self._global_step = max(self._global_step, step)
        if namespace:
            values["global_step"] = self._global_step
        self._last_step[namespace] = step
        if commit:
            self._commit()
        for key, value in values.items():
            if isinstance(value, list) and isinstance(self._row.get(key), list):
                self._row[key] = self._row[key] + value
            else:
                self._row[key] = value


def _loader(path: str) -> Any:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return EventFileLoader(path)


def _event_files(logdir: str) -> list[str]:
    try:
        with os.scandir(logdir) as entries:
            return sorted(e.path for e in entries if EVENTS_MARK in e.name and e.is_file())
    except OSError:
        return []  # not created yet


def _namespace(logdir: str, others: list[str], root_logdir: str | None) -> tuple[str | None, str]:
    """W&B's namespace of a log directory, and the directory its event files are saved
    relative to. With ``root_logdir``: the path below it. Without: the path below the common
    parent of every directory watched; the first directory alone has none unless it is
    ``train`` or ``validation`` (Keras' two)."""
    if root_logdir:
        root = os.path.abspath(root_logdir)
        rel = os.path.relpath(logdir, root)
        namespace = None if rel == "." or rel.startswith("..") else Path(rel).as_posix()
        return namespace, root if namespace is not None else os.path.dirname(logdir)
    root = os.path.commonpath([*others, logdir]) if others else logdir
    if root == logdir:
        root = os.path.dirname(logdir)
    rel = Path(os.path.relpath(logdir, root)).as_posix()
    if not others and rel not in ("train", "validation"):
        return None, root
    return rel, root

