"""Who is interrupted when the daemon asks a run to stop (``trackd runs stop``, a sweep's
early termination): the main thread, as by Ctrl-C, unless something that runs the training
registered a handler of its own for the run (a sweep agent running its function).
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable

_handlers: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()


def redirect(run_id: str, handler: Callable[[], None]) -> None:
    """Call ``handler`` instead of interrupting the main thread when run ``run_id`` is asked
    to stop (until :func:`release`)."""
    with _lock:
        _handlers[run_id] = handler


def release(run_id: str) -> None:
    """Undo :func:`redirect`."""
    with _lock:
        _handlers.pop(run_id, None)


def interrupt(run_id: str) -> None:
    """Run ``run_id`` was asked to stop: tell whoever runs its training."""
    with _lock:
        handler = _handlers.get(run_id)
    if handler is not None:
        handler()
    else:
        _thread.interrupt_main()
