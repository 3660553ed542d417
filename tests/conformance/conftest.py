"""The conformance module's summary line: how many of the seed's elements were checked."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

# The checks are plain modules imported by registry.load(): have pytest explain their failed
# asserts as it does a test's.
pytest.register_assert_rewrite("tests.conformance.checks")

from tests.conformance.inventory import elements  # noqa: E402

_results: dict[str, list[str]] = defaultdict(list)
_PLURAL = {"class": "classes", "method": "methods", "property": "properties",
           "function": "functions", "argument": "arguments", "setting": "Settings fields"}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = dict(report.user_properties).get("seed_element")
    if name is None:
        return
    if report.when == "call" or report.outcome != "passed":
        _results[name].append(report.outcome)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    els = elements()
    checked: Counter[str] = Counter()
    failing = 0
    left: Counter[int] = Counter()
    for e in els:
        outcomes = _results.get(e.name)
        if outcomes and all(o == "passed" for o in outcomes):
            checked[e.kind] += 1
        elif e.owner is not None and not outcomes:
            left[e.owner] += 1
        elif outcomes and any(o == "failed" for o in outcomes):
            failing += 1
    parts = ", ".join(f"{_PLURAL[k]} {checked[k]}" for k in _PLURAL)
    owners = ", ".join(f"{n} to issue {o}" for o, n in sorted(left.items()))
    terminalreporter.write_line(
        f"seed conformance: {sum(checked.values())} of {len(els)} elements checked ({parts}); "
        f"{failing} failing; {sum(left.values())} left to issues 16-18 ({owners})")
