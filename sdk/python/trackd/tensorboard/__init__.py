"""``trackd.tensorboard``: sync what TensorBoard writers write into the run (W&B's
``wandb.tensorboard``).

:func:`patch` makes every TensorBoard event file writer tell the current run where it writes:
tensorboard's own writer (used by ``torch.utils.tensorboard.SummaryWriter``) and
tensorboardX's, when installed; TensorFlow's own writer (``tf.summary``) is not patched. The
run then reads the event files of that directory as they are written, in a background thread,
and logs their scalars, histograms and images as history rows (see
:mod:`trackd.tensorboard._watcher`); with ``save`` the event files are stored with the run.
``init(sync_tensorboard=True)`` calls :func:`patch` (unless it was called already) and
:func:`unpatch` when the run finishes. A writer opened while no run is current is not synced,
as in W&B: start the run first. Needs the ``tensorboard`` package
(``pip install 'trackd[tensorboard]'``).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from trackd._transport.setup import state
from trackd.errors import Error

#: The writer classes patched: (module, class name). tensorboard's is the one torch writes
#: through; tensorboardX has its own.
WRITERS = {
    "tensorboard": ("tensorboard.summary.writer.event_file_writer", "EventFileWriter"),
    "tensorboardX": ("tensorboardX.event_file_writer", "EventFileWriter"),
}

#: Each patched class and its original ``__init__``.
_patched: list[tuple[type, Any]] = []
_options: dict[str, Any] = {}


def patch(save: bool = True, tensorboard_x: bool | None = None, pytorch: bool | None = None,
          root_logdir: str = "") -> None:
    """Sync TensorBoard writers into the current run from now on.

    ``save``: also store the event files with the run. ``tensorboard_x``: patch tensorboardX's
    writer (default: when it is installed); ``pytorch`` is accepted (torch writes through
    tensorboard's writer, which is always patched). ``root_logdir``: the directory whose
    subdirectories name the rows' namespaces (``<subdir>/<tag>``); by default the common
    parent of the directories written to, as W&B does.

    :raises ValueError: already patched.
    :raises trackd.Error: the ``tensorboard`` package is not installed.
    """
    if _patched:
        raise ValueError("TensorBoard is already patched: remove sync_tensorboard=True from "
                         "trackd.init or call trackd.tensorboard.patch only once")
    check_installed()
    names = ["tensorboard"]
    if tensorboard_x or (tensorboard_x is None
                         and importlib.util.find_spec("tensorboardX") is not None):
        names.append("tensorboardX")
    _options.update(save=bool(save), root_logdir=root_logdir or None)
    for name in names:
        module_name, class_name = WRITERS[name]
        cls = getattr(importlib.import_module(module_name), class_name)
        _patched.append((cls, cls.__dict__["__init__"]))
        cls.__init__ = _patched_init(cls.__dict__["__init__"])


def check_installed() -> None:
    """:raises trackd.Error: the ``tensorboard`` package is not installed."""
    if importlib.util.find_spec("tensorboard") is None:
        raise Error("syncing TensorBoard needs the tensorboard package: "
                    "pip install 'trackd[tensorboard]'")


def unpatch() -> None:
    """Undo :func:`patch`: writers opened from now on are not synced (directories already
    being read still are, until the run finishes)."""
    while _patched:
        cls, init = _patched.pop()
        cls.__init__ = init
    _options.clear()


def patched() -> bool:
    return bool(_patched)


def _patched_init(original: Any) -> Any:
    def __init__(self: Any, logdir: Any, *args: Any, **kwargs: Any) -> None:
        original(self, logdir, *args, **kwargs)
        _notify(self, logdir)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


def _notify(writer: Any, logdir: Any) -> None:
    run = state().current
    if run is None or not _options:
        return
    getter = getattr(writer, "get_logdir", None)
    path = getter() if callable(getter) else logdir
    run._tensorboard_callback(str(path), save=_options["save"],
                              root_logdir=_options["root_logdir"], writer=writer)
