"""The check every data type's tests make of bad input: it is refused (where the value is made
or logged) with a clear error, and nothing logged before or after it in the run is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import trackd
from trackd import Api


def refused_losing_nothing(project: str, bad: Callable[[], Any],
                           error: type[BaseException] | tuple[type[BaseException], ...],
                           match: str) -> None:
    """In a run of ``project``, ``run.log({"value": bad()})`` between two rows raises ``error``
    matching ``match``; both rows are stored."""
    with trackd.init(project=project) as run:
        run.log({"loss": 1.0})
        with pytest.raises(error, match=match):
            run.log({"value": bad()})
        run.log({"loss": 0.5})
    assert [r["loss"] for r in Api().run(run.path).scan_history()] == [1.0, 0.5]
