"""``RunHistory.on_rows`` (the daemon's path for rows without step or commit) leaves exactly
the state ``on_history`` leaves for the same rows one by one: rows, steps, summary, counters."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from trackd._shared.history import MetricDef, RunHistory

ROWS: list[tuple[dict[str, Any], float]] = [
    ({"loss": 0.5, "acc": 0.1}, 100.0),
    ({}, 100.5),  # an empty row only advances the step
    ({"loss": math.inf, "note": "x", "n": 3}, 101.0),
    ({"loss": 0.25, "_timestamp": 99.0}, 102.0),  # the row's own timestamp wins
    ({"loss": 0.2, "_timestamp": "soon"}, 103.0),  # not a number: the record's is kept
    ({"nested": {"a": 1.0, "b": {"c": 2}}}, 104.0),  # merged into the summary
    ({"nested": {"b": {"d": 3}}, "loss": None}, 105.0),
    ({"acc": 0.9}, 106.0),
]


def _state(h: RunHistory) -> dict[str, Any]:
    return {"rows": h.take_rows(), "summary": h.summary, "step": h.current_step,
            "written": h.rows_written, "last": h.last_step, "dirty": h.summary_dirty,
            "ts": h._pending_ts, "pending": h._pending}


def _both(setup: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    one, bulk = RunHistory(start_time=50.0), RunHistory(start_time=50.0)
    setup(one)
    setup(bulk)
    for data, ts in copy.deepcopy(ROWS):
        one.on_history(data, None, None, ts)
    bulk.on_rows(copy.deepcopy(ROWS))
    return _state(one), _state(bulk)


def _same(a: Any, b: Any) -> bool:
    return repr(a) == repr(b)  # NaN-safe, and dict order counts (it is the stored bytes')


@pytest.mark.parametrize("setup", [
    lambda h: None,
    lambda h: h.on_history({"partial": 1.0}, None, False, 99.5),  # a pending partial row
    lambda h: h.on_history({"x": 1.0}, 7, None, 99.0),  # a step set explicitly before
    lambda h: h.on_metric(MetricDef("loss", summary=("min",)), False),  # the general path
    lambda h: h.on_summary([(("acc",), 5.0)], []),  # an explicit summary value
], ids=["plain", "pending", "after-step", "metric", "explicit"])
def test_on_rows_leaves_what_on_history_row_by_row_leaves(setup: Any) -> None:
    one, bulk = _both(setup)
    assert _same(one, bulk)
    assert one["written"] >= len(ROWS) - 1


def test_a_shared_runs_history_keeps_its_summary_changes() -> None:
    one, bulk = RunHistory(summary_changes=set()), RunHistory(summary_changes=set())
    for data, ts in copy.deepcopy(ROWS):
        one.on_history(data, None, None, ts)
    bulk.on_rows(copy.deepcopy(ROWS))
    assert one.summary_changes == bulk.summary_changes == {
        "loss", "acc", "note", "n", "nested", "_step", "_runtime", "_timestamp"}
    assert _same(_state(one), _state(bulk))


def test_no_rows_changes_nothing() -> None:
    h = RunHistory()
    h.on_rows([])
    assert h.current_step == 0 and not h.summary_dirty and h.take_rows() == []
