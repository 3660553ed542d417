"""A command's SDK session: what a command started through the SDK (runs, the daemon it
started) is torn down when the command ends, however it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trackd


@contextmanager
def sdk_session() -> Iterator[None]:
    try:
        yield
    finally:
        trackd.teardown()
