"""RunHistory (trackd._shared.history): the step/commit/summary/define_metric state machine.

The rules follow the module docstrings and wandb-semantics.md sections 2.5 (log step/commit) and
2.7 (summary and define_metric).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from trackd._shared.history import (
    BACKWARDS_STEP,
    GOALS,
    SUMMARY_OPS,
    MetricDef,
    RunHistory,
    split_metric_name,
)

RESERVED = ("_step", "_runtime", "_timestamp")


def _user(row: dict[str, Any]) -> dict[str, Any]:
    """A row without the reserved keys the history adds."""
    return {k: v for k, v in row.items() if k not in RESERVED}


def _user_summary(h: RunHistory) -> dict[str, Any]:
    return {k: v for k, v in h.summary.items() if k not in RESERVED}


def _log(h: RunHistory, data: dict[str, Any], step: int | None = None,
         commit: bool | None = None, ts: float = 0.0) -> str | None:
    return h.on_history(data, step, commit, ts)


def _rows(h: RunHistory) -> list[tuple[int, dict[str, Any]]]:
    return [(s, _user(r)) for s, r in h.take_rows()]


# -- step / commit (wandb-semantics 2.5) -------------------------------------------------------


def test_each_plain_log_writes_a_row_and_advances_the_step() -> None:
    h = RunHistory()
    for i in range(3):
        assert _log(h, {"loss": i}) is None
    rows = h.take_rows()
    assert [s for s, _ in rows] == [0, 1, 2]
    assert [r["_step"] for _, r in rows] == [0, 1, 2]
    assert [_user(r) for _, r in rows] == [{"loss": 0}, {"loss": 1}, {"loss": 2}]
    assert h.current_step == 3
    assert h.rows_written == 3
    assert h.last_step == 2
    assert not h.has_pending
    assert h.take_rows() == []  # take_rows hands each row out once


def test_commit_false_accumulates_until_a_committing_log() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, commit=False)
    _log(h, {"b": 2}, commit=False)
    assert h.has_pending
    assert h.take_rows() == []
    assert h.current_step == 0
    _log(h, {"a": 10, "c": 3})  # last write wins per key
    assert _rows(h) == [(0, {"a": 10, "b": 2, "c": 3})]
    assert h.current_step == 1
    _log(h, {"d": 4}, commit=False)
    _log(h, {}, commit=True)
    assert _rows(h) == [(1, {"d": 4})]


def test_explicit_step_accumulates_until_a_larger_step() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, step=5)
    _log(h, {"b": 2}, step=5)
    assert h.take_rows() == []
    assert h.current_step == 5
    assert h.has_pending
    _log(h, {"c": 3}, step=7)
    assert _rows(h) == [(5, {"a": 1, "b": 2})]
    assert h.current_step == 7
    h.on_exit()  # exit writes the pending row
    assert _rows(h) == [(7, {"c": 3})]
    assert not h.has_pending
    assert h.current_step == 8
    h.on_exit()
    assert h.take_rows() == []


def test_explicit_step_row_is_committed_by_a_log_without_step() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, step=3)
    _log(h, {"b": 2})
    assert _rows(h) == [(3, {"a": 1, "b": 2})]
    assert h.current_step == 4


def test_step_with_commit_true_writes_now() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, step=3, commit=True)
    assert _rows(h) == [(3, {"a": 1})]
    assert h.current_step == 4
    assert not h.has_pending
    _log(h, {"b": 1}, step=4, commit=False)
    assert h.take_rows() == []
    _log(h, {"c": 1}, step=4, commit=True)
    assert _rows(h) == [(4, {"b": 1, "c": 1})]


def test_larger_step_flushes_data_accumulated_with_commit_false() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, commit=False)
    _log(h, {"b": 2}, step=4)
    assert _rows(h) == [(0, {"a": 1})]
    assert h.current_step == 4
    h.on_exit()
    assert _rows(h) == [(4, {"b": 2})]


def test_larger_step_with_nothing_pending_only_moves_the_step() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, step=10, commit=True)
    _log(h, {"b": 1}, step=20)
    _log(h, {"c": 1}, step=30)
    h.on_exit()
    assert [s for s, _ in h.take_rows()] == [10, 20, 30]


def test_backwards_step_returns_the_wandb_notice_and_drops_the_data() -> None:
    h = RunHistory()
    _log(h, {"a": 1}, step=10)
    notice = _log(h, {"dropped": 1}, step=5)
    assert notice == (
        "Tried to log to step 5 that is less than the current step 10. Steps must be "
        "monotonically increasing, so this data will be ignored."
    )
    assert notice == BACKWARDS_STEP.format(step=5, current=10)
    assert h.current_step == 10
    assert h.take_rows() == []
    # The observed W&B behaviour: the un-stepped log commits the step-10 row with both.
    _log(h, {"b": 2})
    assert _rows(h) == [(10, {"a": 1, "b": 2})]
    assert "dropped" not in h.summary


def test_backwards_step_after_rows_is_dropped_with_commit_too() -> None:
    h = RunHistory()
    _log(h, {"a": 1})
    _log(h, {"a": 2})
    assert _log(h, {"x": 1}, step=0, commit=True) == BACKWARDS_STEP.format(step=0, current=2)
    assert _log(h, {"x": 1}, step=1, commit=False) is not None
    assert not h.has_pending
    assert len(h.take_rows()) == 2
    assert h.current_step == 2


def test_empty_row_only_advances_the_step() -> None:
    h = RunHistory()
    _log(h, {})
    assert h.take_rows() == []
    assert h.current_step == 1
    assert h.rows_written == 0
    assert h.last_step == -1
    assert h.summary == {}
    _log(h, {"a": 1})
    assert _rows(h) == [(1, {"a": 1})]
    _log(h, {}, step=5, commit=True)
    assert h.take_rows() == []
    assert h.current_step == 6


def test_logged_data_is_taken_over_not_copied() -> None:
    # on_history owns the dict it is given (callers pass a fresh one): no copy per row.
    h = RunHistory()
    data = {"a": 1}
    _log(h, data, commit=False)
    _log(h, {"b": 2}, commit=True)
    ((step, row),) = h.take_rows()
    assert row is data and step == 0
    assert {k: v for k, v in row.items() if not k.startswith("_")} == {"a": 1, "b": 2}


# -- reserved keys -----------------------------------------------------------------------------


def test_runtime_is_timestamp_minus_start_time() -> None:
    h = RunHistory(start_time=1000.0)
    _log(h, {"a": 1}, ts=1003.5)
    _log(h, {"a": 2}, commit=False, ts=1004.0)
    _log(h, {"b": 2}, ts=1010.25)  # the last call's timestamp wins
    rows = h.take_rows()
    assert rows[0][1]["_runtime"] == 3.5
    assert rows[0][1]["_timestamp"] == 1003.5
    assert rows[1][1]["_runtime"] == 10.25
    assert rows[1][1]["_timestamp"] == 1010.25
    assert all(type(r["_runtime"]) is float for _, r in rows)
    # The summary holds the reserved keys of the latest row (wandb-semantics 2.6).
    assert h.summary["_step"] == 1
    assert h.summary["_runtime"] == 10.25
    assert h.summary["_timestamp"] == 1010.25


def test_user_timestamp_is_kept_and_drives_runtime() -> None:
    h = RunHistory(start_time=100.0)
    _log(h, {"a": 1, "_timestamp": 250.0}, ts=103.0)
    (_, row), = h.take_rows()
    assert row["_timestamp"] == 250.0
    assert row["_runtime"] == 150.0
    assert row["_step"] == 0


def test_non_numeric_user_timestamp_falls_back_to_the_client_time() -> None:
    h = RunHistory(start_time=100.0)
    _log(h, {"a": 1, "_timestamp": "yesterday"}, ts=103.0)
    (_, row), = h.take_rows()
    assert row["_timestamp"] == 103.0
    assert row["_runtime"] == 3.0


def test_runtime_never_goes_negative() -> None:
    h = RunHistory(start_time=100.0)
    _log(h, {"a": 1}, ts=50.0)
    (_, row), = h.take_rows()
    assert row["_runtime"] == 0.0


# -- summary (wandb-semantics 2.7, 2.8) ---------------------------------------------------------


def test_summary_is_the_last_logged_value_of_any_type() -> None:
    h = RunHistory()
    _log(h, {"loss": 3.0, "name": "a"})
    _log(h, {"loss": 1.0})
    _log(h, {"loss": 2.0, "name": None, "lst": [1, 2]})
    assert _user_summary(h) == {"loss": 2.0, "name": None, "lst": [1, 2]}
    assert h.summary_dirty


def test_nested_dicts_are_deep_merged_into_the_summary() -> None:
    h = RunHistory()
    _log(h, {"n": {"a": 1, "b": {"c": 1}}})
    _log(h, {"n": {"b": {"d": 2}}})
    _log(h, {"n": {"a": 5}})
    assert _user_summary(h) == {"n": {"a": 5, "b": {"c": 1, "d": 2}}}


def test_typed_dicts_are_replaced_whole() -> None:
    h = RunHistory()
    first = {"_type": "histogram", "values": [1, 2], "bins": [0, 1, 2], "extra": 1}
    second = {"_type": "histogram", "values": [3], "bins": [0, 1]}
    _log(h, {"h": first})
    _log(h, {"h": second})
    assert h.summary["h"] == second
    # A plain dict after a typed one, and a typed dict after a plain one.
    _log(h, {"m": {"a": 1}})
    _log(h, {"m": {"_type": "image-file", "path": "x.png"}})
    assert h.summary["m"] == {"_type": "image-file", "path": "x.png"}
    _log(h, {"m": {"b": 2}})
    assert h.summary["m"] == {"b": 2}
    # Nested typed values too.
    _log(h, {"n": {"img": {"_type": "image-file", "path": "a"}}})
    _log(h, {"n": {"img": {"_type": "image-file", "sha": "b"}}})
    assert h.summary["n"] == {"img": {"_type": "image-file", "sha": "b"}}


def test_explicit_summary_set_and_nested_paths() -> None:
    h = RunHistory()
    _log(h, {"a": 1})
    h.summary_dirty = False
    h.on_summary([(("best",), 0.9), (("n", "x"), 1), (("n", "y"), 2)], [])
    assert h.summary_dirty
    assert _user_summary(h) == {"a": 1, "best": 0.9, "n": {"x": 1, "y": 2}}
    assert h.take_rows() and h.current_step == 1  # summary changes write no rows


def test_summary_remove() -> None:
    h = RunHistory()
    _log(h, {"a": 1, "n": {"x": 1, "y": 2}})
    h.on_summary([], [("a",), ("n", "x"), ("missing",), ("missing", "deep")])
    assert _user_summary(h) == {"n": {"y": 2}}
    _log(h, {"a": 3})
    assert h.summary["a"] == 3


# -- define_metric (wandb-semantics 2.7) --------------------------------------------------------


def _hist_with(*defs: MetricDef) -> RunHistory:
    h = RunHistory()
    for d in defs:
        h.on_metric(d, overwrite=False)
    return h


def test_summary_ops_constants() -> None:
    assert set(SUMMARY_OPS) == {"min", "max", "mean", "last", "first", "best", "none", "copy"}
    assert set(GOALS) == {"minimize", "maximize"}


def test_aggregations_min_max_mean_first_last() -> None:
    h = _hist_with(MetricDef("loss", summary=("min", "max", "mean", "first", "last")))
    for v in (3, 1.5, 4.5):
        _log(h, {"loss": v})
    assert h.summary["loss"] == {"min": 1.5, "max": 4.5, "mean": 3.0, "first": 3, "last": 4.5}
    # History rows keep the raw values.
    assert [r["loss"] for _, r in h.take_rows()] == [3, 1.5, 4.5]


@pytest.mark.parametrize(("goal", "expected"), [("maximize", 9), ("minimize", 2), ("", 2)])
def test_best_follows_the_goal(goal: str, expected: int) -> None:
    h = _hist_with(MetricDef("acc", summary=("best",), goal=goal))
    for v in (5, 9, 2, 7):
        _log(h, {"acc": v})
    assert h.summary["acc"] == {"best": expected}


def test_none_removes_the_key_from_the_summary() -> None:
    h = _hist_with(MetricDef("secret", summary=("none",)))
    _log(h, {"secret": 1, "other": 2})
    _log(h, {"secret": 3})
    assert "secret" not in h.summary
    assert h.summary["other"] == 2


def test_copy_keeps_the_latest_value() -> None:
    h = _hist_with(MetricDef("x", summary=("copy",)))
    _log(h, {"x": 1})
    _log(h, {"x": 2})
    assert h.summary["x"] == 2


def test_min_max_mean_skip_non_numeric_values() -> None:
    h = _hist_with(MetricDef("v", summary=("min", "max", "mean", "first", "last")))
    _log(h, {"v": "text"})
    assert h.summary["v"] == {"first": "text", "last": "text"}  # nothing numeric yet
    _log(h, {"v": float("nan")})
    _log(h, {"v": True})  # a bool is not a number here
    _log(h, {"v": 4})
    _log(h, {"v": 2})
    assert h.summary["v"] == {"min": 2, "max": 4, "mean": 3.0, "first": "text", "last": 2}


def test_mean_is_the_running_mean() -> None:
    h = _hist_with(MetricDef("m", summary=("mean",)))
    seen = []
    for v in (1, 2, 3, 10):
        seen.append(v)
        _log(h, {"m": v})
        assert h.summary["m"] == {"mean": sum(seen) / len(seen)}


def test_glob_matches_by_prefix_and_skips_underscore_keys() -> None:
    h = _hist_with(MetricDef("train/*", summary=("max",)), MetricDef("*", summary=("min",)))
    _log(h, {"train/loss": 1, "val/loss": 1, "_custom": 1})
    _log(h, {"train/loss": 3, "val/loss": 0, "_custom": 5})
    assert h.summary["train/loss"] == {"max": 3}  # the longer glob wins
    assert h.summary["val/loss"] == {"min": 0}
    assert h.summary["_custom"] == 5  # keys starting with "_" are not glob-matched
    assert h.summary["_step"] == 1
    assert isinstance(h.summary["_runtime"], float)


def test_exact_definition_wins_over_a_glob() -> None:
    h = _hist_with(MetricDef("*", summary=("min",)), MetricDef("acc", summary=("max",)))
    _log(h, {"acc": 1, "loss": 5})
    _log(h, {"acc": 2, "loss": 4})
    assert h.summary["acc"] == {"max": 2}
    assert h.summary["loss"] == {"min": 4}


def test_exact_definition_of_an_underscore_key_applies() -> None:
    h = _hist_with(MetricDef("_hidden", summary=("max",)))
    _log(h, {"_hidden": 2})
    _log(h, {"_hidden": 1})
    assert h.summary["_hidden"] == {"max": 2}


def test_glob_matches_nested_keys_by_dotted_name() -> None:
    h = _hist_with(MetricDef("eval.*", summary=("max",)))
    _log(h, {"eval": {"acc": 1, "f1": 0.5}, "other": {"acc": 1}})
    _log(h, {"eval": {"acc": 0}, "other": {"acc": 0}})
    assert h.summary["eval"] == {"acc": {"max": 1}, "f1": {"max": 0.5}}
    assert h.summary["other"] == {"acc": 0}


def test_step_metric_with_step_sync_inserts_the_last_seen_value() -> None:
    h = _hist_with(MetricDef("loss", step_metric="epoch", step_sync=True))
    _log(h, {"loss": 1.0})  # epoch never seen: 0
    _log(h, {"loss": 2.0, "epoch": 3})
    _log(h, {"loss": 3.0})  # last seen epoch: 3
    _log(h, {"epoch": 4})
    _log(h, {"loss": 4.0})
    _log(h, {"other": 1})  # not a synced metric: nothing inserted
    rows = [_user(r) for _, r in h.take_rows()]
    assert rows == [
        {"loss": 1.0, "epoch": 0},
        {"loss": 2.0, "epoch": 3},
        {"loss": 3.0, "epoch": 3},
        {"epoch": 4},
        {"loss": 4.0, "epoch": 4},
        {"other": 1},
    ]


def test_step_metric_without_step_sync_inserts_nothing() -> None:
    h = _hist_with(MetricDef("loss", step_metric="epoch", step_sync=False))
    _log(h, {"epoch": 2})
    _log(h, {"loss": 1.0})
    assert [_user(r) for _, r in h.take_rows()] == [{"epoch": 2}, {"loss": 1.0}]


def test_step_sync_through_a_glob() -> None:
    h = _hist_with(MetricDef("train/*", step_metric="batch", step_sync=True))
    _log(h, {"batch": 7})
    _log(h, {"train/loss": 1.0})
    _log(h, {"val/loss": 1.0})
    rows = [_user(r) for _, r in h.take_rows()]
    assert rows[1] == {"train/loss": 1.0, "batch": 7}
    assert rows[2] == {"val/loss": 1.0}


def test_define_metric_merges_unless_overwrite() -> None:
    h = RunHistory()
    h.on_metric(MetricDef("loss", summary=("min",), step_sync=True, hidden=True), overwrite=False)
    merged = h.on_metric(
        MetricDef("loss", summary=("max", "min"), step_metric="epoch", goal="minimize"),
        overwrite=False,
    )
    assert merged == MetricDef("loss", step_metric="epoch", step_sync=True, hidden=True,
                               summary=("min", "max"), goal="minimize")
    assert h.metrics["loss"] == merged
    # step_sync/hidden can only be turned on; an empty step_metric/goal keeps the old one.
    again = h.on_metric(MetricDef("loss", step_sync=False, hidden=False), overwrite=False)
    assert again == merged
    # overwrite replaces the whole definition.
    new = MetricDef("loss", summary=("last",))
    assert h.on_metric(new, overwrite=True) == new
    assert h.metrics["loss"] == new


def test_first_definition_is_taken_as_is() -> None:
    h = RunHistory()
    d = MetricDef("acc", summary=("max",), goal="maximize")
    assert h.on_metric(d, overwrite=False) == d


def test_explicit_summary_set_ends_aggregation_for_that_key() -> None:
    h = _hist_with(MetricDef("loss", summary=("max",)), MetricDef("acc", summary=("max",)))
    for v in (1, 3, 2):
        _log(h, {"loss": v, "acc": v})
    assert h.summary["loss"] == {"max": 3}
    h.on_summary([(("loss",), 42)], [])
    assert h.summary["loss"] == 42
    _log(h, {"loss": 5, "acc": 0})
    assert h.summary["loss"] == 5  # a plain latest value from now on
    assert h.summary["acc"] == {"max": 3}  # other keys keep aggregating
    _log(h, {"loss": 7})
    assert h.summary["loss"] == 7


def test_explicit_nested_summary_set_ends_aggregation_for_that_path() -> None:
    h = _hist_with(MetricDef("eval.acc", summary=("max",)))
    _log(h, {"eval": {"acc": 2}})
    _log(h, {"eval": {"acc": 1}})
    assert h.summary["eval"] == {"acc": {"max": 2}}
    h.on_summary([(("eval", "acc"), 0.5)], [])
    _log(h, {"eval": {"acc": 0.25}})
    assert h.summary["eval"] == {"acc": 0.25}


def test_dotted_metric_names_address_nested_keys() -> None:
    h = _hist_with(MetricDef("a.b", summary=("min",)), MetricDef("x\\.y", summary=("max",)))
    _log(h, {"a": {"b": 5, "c": 5}, "x.y": 1, "x": {"y": 1}})
    _log(h, {"a": {"b": 2, "c": 9}, "x.y": 4, "x": {"y": 0}})
    assert h.summary["a"] == {"b": {"min": 2}, "c": 9}
    assert h.summary["x.y"] == {"max": 4}  # "\\." is a literal dot in the key
    assert h.summary["x"] == {"y": 0}  # the nested x.y is a different key


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("loss", ("loss",)),
        ("a.b", ("a", "b")),
        ("a.b.c", ("a", "b", "c")),
        ("a\\.b", ("a.b",)),
        ("a\\.b.c", ("a.b", "c")),
        ("a.b\\.c", ("a", "b.c")),
        ("train/loss", ("train/loss",)),
        ("", ("",)),
    ],
)
def test_split_metric_name(name: str, path: tuple[str, ...]) -> None:
    assert split_metric_name(name) == path


# -- determinism -------------------------------------------------------------------------------


def _feed(h: RunHistory) -> list[str | None]:
    """A record sequence touching every rule; returns the notices."""
    notices = []
    h.on_metric(MetricDef("loss", step_metric="epoch", step_sync=True, summary=("min", "mean")),
                overwrite=False)
    h.on_metric(MetricDef("train/*", summary=("max", "last")), overwrite=False)
    for i in range(30):
        ts = 1000.0 + i * 0.5
        notices.append(h.on_history({"loss": 1.0 / (i + 1), "train/acc": i % 7}, None, None, ts))
        if i % 5 == 0:
            notices.append(h.on_history({"epoch": i // 5}, None, False, ts))
        if i % 9 == 0:
            notices.append(h.on_history({"n": {"a": i, "h": {"_type": "histogram", "v": [i]}}},
                                        40 + i, None, ts))
            notices.append(h.on_history({"late": i}, 1, None, ts))  # backwards: dropped
        if i == 12:
            h.on_summary([(("train/acc",), -1)], [("n", "a")])
        if i == 20:
            h.on_metric(MetricDef("loss", summary=("max",)), overwrite=False)
    h.on_exit()
    return notices


def test_replaying_the_same_records_gives_identical_rows_and_summary() -> None:
    a = RunHistory(start_time=1000.0)
    b = RunHistory(start_time=1000.0)
    na, nb = _feed(a), _feed(b)
    rows_a, rows_b = a.take_rows(), b.take_rows()
    assert rows_a == rows_b
    assert repr(rows_a) == repr(rows_b)  # same key order too
    assert a.summary == b.summary
    assert repr(a.summary) == repr(b.summary)
    assert na == nb
    assert any(n is not None for n in na)
    assert (a.current_step, a.rows_written, a.last_step) == (b.current_step, b.rows_written,
                                                             b.last_step)
    steps = [s for s, _ in rows_a]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert all(not math.isnan(r["_runtime"]) for _, r in rows_a)


def test_step_sync_uses_a_step_metric_logged_before_it_was_declared() -> None:
    h = RunHistory()
    _log(h, {"epoch": 5})
    h.on_metric(MetricDef("loss", step_metric="epoch", step_sync=True), overwrite=False)
    _log(h, {"loss": 0.5})
    assert _rows(h)[-1][1]["epoch"] == 5
