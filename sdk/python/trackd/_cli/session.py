"""A command's SDK session: what a command started through the SDK (runs, the daemon it
started) is torn down when the command ends, however it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sdk_session() -> Iterator[None]:
    import trackd  # the package imports grpc: only inside a command (see _cli/__init__.py)

    try:
        yield
    finally:
        trackd.teardown()
