"""The runs table's logic: filters, sorting, grouping, paging (pure, no daemon)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.models import RunInfo, RunKey
from trackd_daemon.web.runs_table import (
    Filter,
    Query,
    RowCache,
    parse_filter,
    parse_query,
    run_query,
)


def run(i: int, **kw: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "pk": i, "key": RunKey("e", "p", f"r{i}"), "name": f"run-{i}", "notes": "", "tags": [],
        "group": "", "job_type": "", "state": "finished", "exit_code": 0,
        "created_at": 1000.0 + i, "updated_at": 1000.0 + i, "finished_at": 1100.0 + i,
        "config": {}, "summary": {}, "metrics": [], "history_rows": 0, "last_step": -1,
        "host": "h", "program": "p.py", "start_time": 1000.0 + i, "sweep_id": "",
        "request_id": "", "ingested_seq": 0}
    fields.update(kw)
    return RunInfo(**fields)


RUNS = [
    run(1, config={"lr": 0.1, "opt": {"name": "adam"}}, summary={"acc": 0.5}, tags=["base"],
        group="g1"),
    run(2, config={"lr": 0.01, "opt": {"name": "sgd"}}, summary={"acc": 0.9}, group="g1",
        state="running"),
    run(3, config={"lr": 0.001, "opt": {"name": "adam"}}, summary={"acc": math.nan},
        tags=["base", "x"], group="g2", state="failed", name="special"),
    run(4, config={"batch": 64}, summary={}, notes="no lr here"),
]


def ask(**kw: Any) -> dict[str, Any]:
    return run_query(RowCache().rows(RUNS), Query(**kw))


def ids(result: dict[str, Any]) -> list[str]:
    return [r["id"] for r in result["runs"]]


def test_default_is_newest_first_with_summary_metrics_then_config() -> None:
    got = ask()
    assert ids(got) == ["r4", "r3", "r2", "r1"]
    assert got["total"] == got["total_in_project"] == 4
    assert got["columns"] == ["summary.acc", "config.lr", "config.opt.name", "config.batch"]
    assert got["runs"][1]["values"]["summary.acc"] == "NaN"  # JSON has no NaN
    assert got["running"] == 1


def test_filters_on_config_and_summary_values() -> None:
    assert ids(ask(filters=[parse_filter("lr > 0.005")], sort="config.lr")) == ["r2", "r1"]
    assert ids(ask(filters=[parse_filter("config.opt.name = adam")], sort="id")) == ["r1", "r3"]
    assert ids(ask(filters=[parse_filter("summary.acc >= 0.9")])) == ["r2"]
    assert ids(ask(filters=[parse_filter("lr != 0.1")], sort="id")) == ["r2", "r3", "r4"]
    assert ids(ask(filters=[parse_filter("tags ~ bas"), parse_filter("state = failed")])) == ["r3"]
    assert ids(ask(filters=[parse_filter("name ~ SPEC")])) == ["r3"]


def test_state_tag_group_text_and_id_conditions() -> None:
    assert ids(ask(states=frozenset({"running", "failed"}), sort="id")) == ["r2", "r3"]
    assert ids(ask(tags=frozenset({"base", "x"}))) == ["r3"]
    assert ids(ask(group="g1", sort="id")) == ["r1", "r2"]
    assert ids(ask(text="no LR")) == ["r4"]
    assert ids(ask(ids=frozenset({"r1", "r4"}), sort="id")) == ["r1", "r4"]


def test_sorting_puts_runs_without_the_column_last() -> None:
    assert ids(ask(sort="lr")) == ["r3", "r2", "r1", "r4"]
    assert ids(ask(sort="-lr")) == ["r1", "r2", "r3", "r4"]
    assert ids(ask(sort="-summary.acc"))[-1] == "r4"


def test_paging() -> None:
    first = ask(per_page=3, sort="id")
    second = ask(per_page=3, page=2, sort="id")
    assert (ids(first), ids(second), first["pages"]) == (["r1", "r2", "r3"], ["r4"], 2)
    assert ids(ask(per_page=3, page=3)) == []


def test_grouping_by_group_and_by_config() -> None:
    got = ask(group_by="group", sort="id")
    assert [(g["value"], g["count"]) for g in got["groups"]] == [("", 1), ("g1", 2), ("g2", 1)]
    assert [r["id"] for r in got["groups"][1]["runs"]] == ["r1", "r2"]
    assert got["groups"][1]["states"] == {"finished": 1, "running": 1}
    by_opt = ask(group_by="opt.name")
    assert by_opt["group_by"] == "config.opt.name"
    assert [g["value"] for g in by_opt["groups"]] == ["adam", "sgd", None]


def test_chosen_columns() -> None:
    got = ask(columns=["batch", "acc"])
    assert got["columns"] == ["config.batch", "summary.acc"]
    assert got["runs"][0]["values"] == {"config.batch": 64, "summary.acc": None}


def test_default_columns_are_the_users_metrics_not_system_or_underscore_keys() -> None:
    many = [run(i, config={f"c{k}": k for k in range(6)},
                summary={"_runtime": 5.0, "_step": 9, "system.gpu.0.gpu": 40.0,
                         **{f"m{k}": k for k in range(10)}}) for i in range(3)]
    got = run_query(RowCache().rows(many), Query())
    metrics = [c for c in got["columns"] if c.startswith("summary.")]
    assert metrics == [f"summary.m{k}" for k in range(8)]  # the first ones, before any config
    assert got["columns"][8:] == [f"config.c{k}" for k in range(4)]
    assert "summary.system.gpu.0.gpu" in [f"summary.{k}" for k in got["available"]["summary"]]


@pytest.mark.parametrize(("text", "problem"), [
    ("lr >> oops", "unknown operator '>>'"),
    ("lr => 3", "unknown operator '=>'"),
    ("lr <> 3", "unknown operator '<>'"),
    ("lr === 3", "unknown operator '==='"),
    ("lr > > 3", "starts with an operator"),
    ("name = 'a b", "unbalanced quotes"),
    ("name = a b'", "unbalanced quotes"),
    ("name = 'a'b'", "unbalanced quotes"),
    ("name = \"a'", "unbalanced quotes"),
])
def test_unreadable_filters_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=problem) as err:
        parse_filter(text)
    assert repr(text) in err.value.message  # names the filter as typed
    with pytest.raises(InvalidArgumentError, match=problem):  # as the HTTP API reads it
        parse_query({"filter": text}, {"filter": [text]})


@pytest.mark.parametrize("column", ["nope", "config.nope", "summary.nope", "config.opt"])
def test_a_filter_on_a_column_no_run_has_is_refused_not_empty(column: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"unknown column '{column}' in a filter"):
        ask(filters=[parse_filter(f"{column} = 1")])
    # A key only some runs have is a column: runs without it do not pass.
    assert ids(ask(filters=[parse_filter("config.batch = 64")])) == ["r4"]


def test_quoted_values_may_hold_the_other_quote_and_operators() -> None:
    assert parse_filter("name = \"it's\"") == Filter("name", "=", "it's")
    assert parse_filter("name ~ '>>'") == Filter("name", "~", ">>")
    assert parse_filter("name = it's") == Filter("name", "=", "it's")
    assert parse_filter("name = ''") == Filter("name", "=", "")


@pytest.mark.parametrize("text", ["lr", "lr >", "> 3", "lr ** 3", ""])
def test_malformed_filters_name_themselves(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="COLUMN OP VALUE"):
        parse_filter(text)


def test_filter_values() -> None:
    assert parse_filter("a = 'x y'") == Filter("a", "=", "x y")
    assert parse_filter("a==true") == Filter("a", "=", True)
    assert parse_filter("a <= 1e-3") == Filter("a", "<=", 0.001)
    assert parse_filter("a = 3") == Filter("a", "=", 3)


def test_unknown_columns_and_bad_paging_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown column 'nope'"):
        ask(sort="nope")
    with pytest.raises(InvalidArgumentError, match="per_page"):
        parse_query({"per_page": "0"}, {})
    with pytest.raises(InvalidArgumentError, match="page"):
        parse_query({"page": "x"}, {})


def test_rows_are_reused_while_a_run_is_unchanged() -> None:
    cache = RowCache()
    first = cache.rows(RUNS)
    again = cache.rows(RUNS)
    assert first[0] is again[0]  # finished and unchanged: flattened once
    assert first[1] is not again[1]  # running: its duration moves
