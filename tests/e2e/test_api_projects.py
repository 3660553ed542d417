"""The public API names the seed's examples use: ``PublicRun.sample_history``,
``Api().projects()``, ``Api().project(name)``, ``Api().flush()`` and ``run.url`` of a run read
back, against the real daemon."""

from __future__ import annotations

import http.cookiejar
import secrets
import urllib.error
import urllib.request

import pytest

import trackd
from trackd import Api
from trackd.errors import UsageError


def _project() -> str:
    return "proj-" + secrets.token_hex(4)


def test_sample_history_of_the_artifact_history_step_example(art_sdk, tmp_path):
    project = _project()
    run = trackd.init(project=project)
    for step in range(30):
        run.log({"my_metric": step * 10, "other": -step})
    data = tmp_path / "data.txt"
    data.write_text("x")
    art = trackd.Artifact("ds", type="dataset")
    art.add_file(str(data))
    run.log_artifact(art).wait()
    for step in range(30, 40):
        run.log({"my_metric": step * 10})
    run.finish()

    # The seed's example, verbatim apart from the artifact's name.
    artifact = Api().artifact(f"{project}/ds:latest")
    run = artifact.logged_by()
    assert run and (artifact.history_step is not None)
    history = run.sample_history(
        min_step=artifact.history_step,
        max_step=artifact.history_step + 1,
        keys=["my_metric"],
    )
    assert history == [{"_step": 29, "my_metric": 290}]


def test_sample_history_spreads_rows_over_the_range_and_the_keys(clean_sdk):
    run = trackd.init(project=_project())
    for step in range(200):
        run.log({"v": step, **({"rare": step} if step % 20 == 0 else {})})
    run.finish()
    stored = Api().run(run.path)
    rows = stored.sample_history(samples=5)
    assert [r["_step"] for r in rows] == [0, 49, 99, 149, 199]
    assert rows[1]["v"] == 49 and "rare" not in rows[1] and "_timestamp" in rows[1]
    # Within [50, 151): sampled there, the bounds' rows included (max_step is exclusive).
    assert [r["_step"] for r in stored.sample_history(samples=3, min_step=50, max_step=151)] \
        == [50, 100, 150]
    # A key in every 20th row: sampled among those rows, each holding only its keys.
    rare = stored.sample_history(keys=["rare"], samples=4)
    assert rare == [{"_step": s, "rare": s} for s in (0, 60, 120, 180)]
    assert len(stored.sample_history()) == 200  # fewer rows than samples: all of them
    assert [r["_step"] for r in stored.sample_history(samples=1)] == [0]
    with pytest.raises(UsageError, match="samples"):
        stored.sample_history(samples=0)
    # history(keys=...) samples among the rows that have the keys as well.
    assert [r["_step"] for r in stored.history(samples=4, keys=["rare"],
                                                          pandas=False)] == [0, 60, 120, 180]


def test_projects_and_project(clean_sdk):
    first, second = _project(), _project()
    runs = []
    for project in (first, first, second):
        with trackd.init(project=project, reinit="create_new") as run:
            run.log({"x": 1})
        runs.append(run)
    live = trackd.init(project=second, reinit="create_new")
    api = Api()
    projects = api.projects()
    names = [p.name for p in projects]
    assert first in names and second in names
    assert names.index(second) < names.index(first)  # most recently updated first
    p1 = next(p for p in projects if p.name == first)
    assert p1.entity == api.default_entity == runs[0].entity
    assert p1.path == [p1.entity, first] and p1.id == f"{p1.entity}/{first}"
    assert p1.run_count == 2 and p1.running == 0
    assert p1.created_at and p1.updated_at and p1.created_at <= p1.updated_at
    assert {r.id for r in p1.runs()} == {runs[0].id, runs[1].id}
    assert p1.url is not None and p1.url.endswith(f"/{p1.entity}/{first}")
    assert p1.url == live.project_url.replace(second, first)

    p2 = api.project(second)
    assert (p2.name, p2.entity, p2.run_count, p2.running) == (second, p1.entity, 2, 1)
    assert [r.id for r in p2.runs()] == [live.id, runs[2].id]
    assert api.project(second, entity=p1.entity).run_count == 2
    live.finish()
    assert api.project(second).running == 0

    # As in W&B, a project is not checked for existence: one without runs reads as empty.
    nothing = api.project("no-such-project-" + secrets.token_hex(4))
    assert nothing.run_count == 0 and nothing.created_at is None and list(nothing.runs()) == []
    assert api.projects(entity="no-such-entity-" + secrets.token_hex(4)) == []
    with pytest.raises(UsageError, match="project name"):
        api.project("a/b")
    assert "Project" in repr(p1)


def test_project_lists_its_artifact_types(art_sdk, tmp_path):
    project = _project()
    (tmp_path / "f.txt").write_text("x")
    with trackd.init(project=project) as run:
        art = trackd.Artifact("m", type="model")
        art.add_file(str(tmp_path / "f.txt"))
        run.log_artifact(art).wait()
    assert [t.name for t in Api().project(project).artifacts_types()] == ["model"]


def test_url_of_a_run_read_back_is_the_live_runs_url(clean_sdk):
    run = trackd.init(project=_project())
    live_url = run.url
    run.finish()
    stored = Api().run(run.path)
    assert stored.url == live_url
    assert stored.url.endswith(f"/{run.entity}/{run.project}/runs/{run.id}")
    assert "?" not in stored.url  # no ticket, no token: safe to share
    # It names the dashboard's run page: a browser that is not logged in is refused, one
    # that logs in with a ticket (what `trackd ui` opens) gets the page.
    assert _status(stored.url) == 401
    assert _status(_with_ticket(stored)) == 200
    assert list(Api().runs(run.path.rsplit("/", 1)[0]))[0].url == live_url


def test_flush_makes_the_next_read_fresh(own_daemon, tmp_path, monkeypatch):
    """The dashboard's address is the one thing reads reuse: a daemon restarted on another
    port is seen at once after flush()."""
    monkeypatch.chdir(tmp_path)
    with trackd.init(project="flushed") as run:
        run.log({"x": 1})
    api = Api()
    before = api.run(run.path).url
    trackd.teardown()
    own_daemon.stop()
    own_daemon.start()  # TRACKD_UI_PORT=0: its dashboard is on a new port
    api.flush()
    after = api.run(run.path).url
    assert after is not None and after != before
    assert after.endswith(f"/runs/{run.id}")
    assert _status(_with_ticket(api.run(run.path))) == 200


def _status(url: str) -> int:
    """The status a browser ends on (cookies kept across the ticket's redirect)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        with opener.open(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _with_ticket(stored: object) -> str:
    """The stored run's page with a login ticket (the page a logged-in browser sees)."""
    from trackd._transport.dashboard import link
    from trackd._transport.setup import connect

    url = link(connect(), *stored.path[:2], "runs", stored.path[2], login=True)
    assert url is not None and url.startswith(stored.url + "?")
    return url
