"""The workspace panels' data routes of a real daemon's dashboard: the parameter importance of a
project's config keys for a metric (following the runs table's filters), and the runs table's
refusal of filters it cannot read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


@pytest.fixture
def project() -> str:
    """A project of the test's own (the session's daemon keeps the runs of earlier tests)."""
    return "panels-" + uuid.uuid4().hex[:8]


def _runs(project: str) -> tuple[str, list[str]]:
    """Eight finished runs whose accuracy follows ``lr`` (and not ``seed``); one more run
    without the metric. Returns the entity and the ids, oldest first."""
    ids = []
    entity = ""
    for i in range(8):
        lr = 0.001 * (i + 1)
        run = trackd.init(project=project, config={
            "lr": lr, "opt": "adam" if i % 2 else "sgd", "seed": (i * 7) % 5,
            "model": {"layers": 2}})
        run.log({"acc": 0.5 + 50 * lr, "loss": 1.0 - 50 * lr})
        run.finish()
        ids.append(run.id)
        entity = run.entity
    bare = trackd.init(project=project, config={"lr": 1.0, "opt": "sgd"})
    bare.log({"loss": 3.0})
    bare.finish()
    return entity, ids


def _importance(dash: Dashboard, where: tuple[str, str], status: int = 200,
                **params: Any) -> Any:
    return dash.json(f"/api/v1/projects/{where[0]}/{where[1]}/importance", params, status)


def test_importance_of_config_keys_for_a_metric(dash: Dashboard, project: str) -> None:
    entity, ids = _runs(project)
    where = (entity, project)
    got = _importance(dash, where, metric="acc")
    assert got["metric"] == "acc" and got["runs"] == 8  # the run without acc is left out
    by = {p["feature"]: p for p in got["params"]}
    assert {"lr", "seed", "opt=adam", "opt=sgd", "model.layers"} <= set(by)
    assert by["lr"]["param"] == "lr" and by["opt=adam"]["param"] == "opt"
    assert by["lr"]["correlation"] == pytest.approx(1.0)
    assert by["lr"]["importance"] > by["seed"]["importance"]
    assert got["params"][0]["feature"] == "lr"  # most important first
    assert by["model.layers"]["correlation"] is None  # constant: no correlation
    assert sum(p["importance"] for p in got["params"]) == pytest.approx(1.0)
    # The summary's column name works as well, and a negative correlation shows as such.
    assert _importance(dash, where, metric="summary.acc")["params"] == got["params"]
    everyone = _importance(dash, where, metric="loss")  # the run without acc has a loss
    assert everyone["runs"] == 9
    got = _importance(dash, where, metric="loss", ids=",".join(ids))
    loss = {p["feature"]: p for p in got["params"]}
    assert got["runs"] == 8 and loss["lr"]["correlation"] == pytest.approx(-1.0)


def test_importance_follows_the_tables_filters(dash: Dashboard, project: str) -> None:
    entity, ids = _runs(project)
    where = (entity, project)
    assert _importance(dash, where, metric="acc", filter="opt = adam")["runs"] == 4
    assert _importance(dash, where, metric="acc", filter="lr <= 0.003")["runs"] == 3
    assert _importance(dash, where, metric="acc", ids=",".join(ids[:5]))["runs"] == 5
    one = _importance(dash, where, metric="acc", ids=ids[0])
    assert one["runs"] == 1 and all(p["importance"] is None for p in one["params"])


def test_importance_refuses_what_it_cannot_answer(dash: Dashboard, project: str) -> None:
    entity, _ = _runs(project)
    where = (entity, project)
    got = _importance(dash, where, 400)
    assert "metric" in got["error"]["message"]
    got = _importance(dash, where, 400, metric="nope")
    assert "unknown metric 'nope'" in got["error"]["message"]
    got = _importance(dash, where, 400, metric="acc", filter="lr >> oops")
    assert "unknown operator '>>'" in got["error"]["message"]
    got = dash.json(f"/api/v1/projects/{entity}/no-such-project/importance",
                    {"metric": "acc"}, 404)
    assert got["error"]["code"] == "not_found"


@pytest.mark.parametrize(("text", "problem"), [
    ("lr >> oops", "unknown operator '>>'"),
    ("opt = 'adam", "unbalanced quotes"),
    ("config.nope = 1", "unknown column 'config.nope'"),
    ("nope > 1", "unknown column 'nope'"),
])
def test_a_filter_the_table_cannot_read_is_an_error_not_zero_runs(
        dash: Dashboard, project: str, text: str, problem: str) -> None:
    entity, _ = _runs(project)
    got = dash.json(f"/api/v1/projects/{entity}/{project}/runs", {"filter": text}, 400)
    assert got["error"]["code"] == "invalid_argument"
    assert problem in got["error"]["message"]


def test_the_table_shows_the_users_metrics_first(dash: Dashboard, project: str) -> None:
    entity, _ = _runs(project)
    got = dash.json(f"/api/v1/projects/{entity}/{project}/runs")
    assert got["columns"][:2] == ["summary.loss", "summary.acc"]  # loss: every run has it
    assert all(not c.startswith(("summary._", "summary.system.")) for c in got["columns"])
    assert "config.lr" in got["columns"]
