"""TensorBoard sync of a run (a base class of :class:`trackd.Run`): ``sync_tensorboard``
patches the writers at start and unpatches them at finish; each log directory a patched
writer opens is read by the run's :class:`~trackd.tensorboard._watcher.Watcher`."""

from __future__ import annotations

import glob
import time
from pathlib import Path
from typing import Any

from trackd import tensorboard
from trackd.tensorboard._watcher import Watcher


class RunTensorBoard:
    """Mixed into :class:`trackd.Run` (which provides the attributes used here)."""

    _settings: Any
    _sender: Any
    _finished: bool
    _dir: Path | None
    _tb_watcher: Watcher | None = None
    _tb_unpatch = False  # this run patched the writers (sync_tensorboard): it unpatches them

    def _check_tensorboard(self) -> None:
        """:raises trackd.Error: ``sync_tensorboard`` without the tensorboard package (before
        the run starts)."""
        if self._settings.get("sync_tensorboard") and not tensorboard.patched():
            tensorboard.check_installed()

    def _start_tensorboard(self) -> None:
        """``sync_tensorboard``: patch the writers unless ``trackd.tensorboard.patch()`` was
        called already (as W&B does)."""
        if self._settings.get("sync_tensorboard") and not tensorboard.patched():
            tensorboard.patch()
            self._tb_unpatch = True

    def _tensorboard_callback(self, logdir: str, save: bool = True,
                              root_logdir: str | None = None, writer: Any = None) -> None:
        """A patched writer opened ``logdir``: read its event files into this run."""
        if self._finished or self._sender is None:
            return
        if self._tb_watcher is None:
            self._tb_watcher = Watcher(self.log, self._save_event_file,  # type: ignore[attr-defined]
                                       self._settings)
        self._tb_watcher.add(logdir, save=save, root_logdir=root_logdir, writer=writer)

    def _save_event_file(self, path: str, base: str) -> None:
        if not self._finished:
            self.save(glob.escape(path), base_path=base, policy="live")  # type: ignore[attr-defined]

    def _finish_tensorboard(self, deadline: float | None) -> None:
        """The last events read and logged (before the run's last rows are sent)."""
        if self._tb_unpatch:
            tensorboard.unpatch()
            self._tb_unpatch = False
        if self._tb_watcher is not None:
            self._tb_watcher.finish(None if deadline is None
                                    else max(0.0, deadline - time.monotonic()))
            self._tb_watcher = None
