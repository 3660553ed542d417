"""Editing runs through a real daemon's dashboard (``web/edit_api.py``): renaming, notes and
tags, moving a run to another project, deleting runs (one or a selection, with the artifacts
they logged when asked); a live run is renamed but neither moved nor deleted; deleting frees the
blob-store bytes only the deleted run held. And the cross-site attack: a page of another site
(a form posted with the user's cookie, or a fetch with its own Origin) cannot edit anything."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import trackd
from tests.e2e.test_media_deletion import _blob_files, _blob_of
from tests.e2e.test_run_editing import _file_blobs
from tests.helpers import DaemonProcess, wait_for
from tests.web.dash import Dashboard
from trackd import Api
from trackd._transport.artifact_client import collect_garbage
from trackd_daemon.errors import FailedPreconditionError
from trackd_daemon.store.models import RunKey
from trackd_daemon.web.api import Api as WebApi
from trackd_daemon.web.edit_api import MAX_DELETE, EditApi, NoRunEditor


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)



def _finished(project: str, **init: Any) -> trackd.Run:
    with trackd.init(project=project, **init) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
    return run


def _api(run: trackd.Run) -> str:
    return f"/api/v1/runs/{run.entity}/{run.project}/{run.id}"


def _delete_path(entity: str, project: str) -> str:
    return f"/api/v1/projects/{entity}/{project}/runs/delete"


def test_rename_notes_and_tags_change_and_read_back(dash: Dashboard) -> None:
    run = _finished("dash-edit", name="before", tags=["a"], notes="old")
    status, got = dash.post_json(_api(run) + "/update",
                        {"name": "after", "notes": "a note\nover two lines", "tags": ["a", "b"]})
    assert status == 200, got
    assert (got["id"], got["name"], got["notes"], got["tags"]) == (
        run.id, "after", "a note\nover two lines", ["a", "b"])
    assert got["color"] and got["history_rows"] == 2  # the detail JSON, as GET answers it
    assert dash.json(_api(run)) == got
    stored = Api().run(run.path)
    assert (stored.name, stored.notes, stored.tags) == ("after", "a note\nover two lines",
                                                        ["a", "b"])
    # Only the fields given change; tags are kept once each, in order.
    status, got = dash.post_json(_api(run) + "/update", {"tags": ["b", "c", "b"]})
    assert status == 200 and (got["name"], got["tags"]) == ("after", ["b", "c"])
    status, got = dash.post_json(_api(run) + "/update", {"notes": ""})
    assert status == 200 and got["notes"] == "" and got["tags"] == ["b", "c"]


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": "   "}, "name"), ({"tags": [""]}, "tag"),
    ({"tags": "a,b"}, "tags"), ({"tags": [1]}, "tags"), ({"name": 3}, "name"),
    ({"tags": ["x" * 300]}, "tag"), ({"name": "x" * 300}, "name"), ({"title": "x"}, "title"),
    ([], "JSON object"), ("name", "JSON object"),
])
def test_a_refused_update_changes_nothing(dash: Dashboard, body: Any, field: str) -> None:
    run = _finished("dash-edit-bad", name="kept", tags=["t"])
    status, err = dash.post_json(_api(run) + "/update", body)
    assert status == 400 and err["error"]["code"] == "invalid_argument", (status, err)
    assert field in err["error"]["message"]
    got = dash.json(_api(run))
    assert (got["name"], got["tags"]) == ("kept", ["t"])


def test_bodies_must_be_json(dash: Dashboard) -> None:
    run = _finished("dash-edit-json", name="kept")
    for data, kind in ((b"name=x", "application/x-www-form-urlencoded"),
                       (b'{"name": "x"}', "text/plain"), (b"{", "application/json")):
        status, _, raw = dash.request(_api(run) + "/update", method="POST", data=data,
                                      headers={"Content-Type": kind})
        assert status == 400, (kind, status, raw)
    assert dash.json(_api(run))["name"] == "kept"


def test_unknown_runs_are_404(dash: Dashboard) -> None:
    run = _finished("dash-edit-404")
    missing = f"/api/v1/runs/{run.entity}/dash-edit-404/nosuch"
    for path, body in ((missing + "/update", {"name": "x"}), (missing + "/move", {"project": "p"}),
                       (f"/api/v1/runs/{run.entity}/nowhere/{run.id}/update", {"name": "x"})):
        status, err = dash.post_json(path, body)
        assert status == 404 and err["error"]["code"] == "not_found", (path, status, err)


def test_a_moved_run_answers_under_its_new_key(dash: Dashboard) -> None:
    run = _finished("dash-from", config={"lr": 0.5})
    for bad in ("", "a/b", " padded", "x" * 200):
        status, err = dash.post_json(_api(run) + "/move", {"project": bad})
        assert status == 400 and err["error"]["code"] == "invalid_argument", bad
    for body in ({}, {"project": 3}):
        assert dash.post_json(_api(run) + "/move", body)[0] == 400
    status, got = dash.post_json(_api(run) + "/move", {"project": "dash-to"})
    assert status == 200, got
    assert (got["project"], got["id"], got["config"]) == ("dash-to", run.id, {"lr": 0.5})
    assert dash.request(_api(run))[0] == 404
    moved = f"/api/v1/runs/{run.entity}/dash-to/{run.id}"
    assert dash.json(moved)["history_rows"] == 2
    assert [r["loss"] for r in Api().run(f"{run.entity}/dash-to/{run.id}").history(
        pandas=False)] == [1.0, 0.5]
    # A project that has a run of that id already: 409, nothing moves.
    _finished("dash-from", id=run.id)
    status, err = dash.post_json(moved + "/move", {"project": "dash-from"})
    assert status == 409, err
    assert dash.json(moved)["project"] == "dash-to"


def test_a_live_run_is_renamed_but_neither_moved_nor_deleted(dash: Dashboard) -> None:
    with trackd.init(project="dash-live") as run:
        run.log({"x": 1})
        status, got = dash.post_json(_api(run) + "/update", {"name": "renamed-live"})
        assert status == 200 and got["name"] == "renamed-live" and got["state"] == "running"
        status, err = dash.post_json(_api(run) + "/move", {"project": "elsewhere"})
        assert status == 409 and err["error"]["code"] == "failed_precondition"
        assert "running" in err["error"]["message"]
        status, got = dash.post_json(_delete_path(run.entity, "dash-live"), {"runs": [run.id]})
        assert status == 200 and got["deleted"] == [] and "running" in got["errors"][run.id]
        run.log({"x": 2})
    stored = Api().run(run.path)
    assert stored.name == "renamed-live" and [r["x"] for r in stored.history(pandas=False)] == [
        1, 2]


def test_bulk_delete_deletes_the_good_ones_and_says_why_not_the_others(
        clean_sdk: DaemonProcess, dash: Dashboard) -> None:
    first, second, kept = (_finished("dash-bulk") for _ in range(3))
    path = _delete_path(first.entity, "dash-bulk")
    with trackd.init(project="dash-bulk") as live:
        live.log({"x": 1})
        status, got = dash.post_json(path, {"runs": [first.id, "nosuch", live.id, second.id,
                                                  first.id]})
    assert status == 200, got
    assert got["deleted"] == [first.id, second.id]
    assert set(got["errors"]) == {"nosuch", live.id}
    assert "not found" in got["errors"]["nosuch"] and "running" in got["errors"][live.id]
    for run in (first, second):
        assert dash.request(_api(run))[0] == 404
        with pytest.raises(trackd.errors.RunNotFoundError):
            Api().run(run.path)
    assert {r.id for r in Api().runs("dash-bulk")} == {kept.id, live.id}
    rows = dash.json(f"/api/v1/projects/{first.entity}/dash-bulk/runs")["runs"]
    assert {r["id"] for r in rows} == {kept.id, live.id}
    # The deletion is logged, naming the runs.
    wait_for(lambda: any(first.id in line and second.id in line and "deleted" in line
                         for line in clean_sdk.log_text().splitlines()))
    # Malformed requests delete nothing.
    for body in ({}, {"runs": kept.id}, {"runs": [1]}, {"runs": [kept.id], "delete_artifacts": 1},
                 {"runs": ["x"] * (MAX_DELETE + 1)}):
        status, err = dash.post_json(path, body)
        assert status == 400 and err["error"]["code"] == "invalid_argument", body
    assert Api().run(kept.path).id == kept.id
    # A project that holds none of the ids: each is named.
    status, got = dash.post_json(_delete_path(first.entity, "nowhere"), {"runs": [kept.id]})
    assert status == 200 and got == {"deleted": [], "errors": {kept.id: got["errors"][kept.id]}}


def test_delete_artifacts_deletes_what_the_runs_logged(dash: Dashboard, tmp_path: Any) -> None:
    (tmp_path / "d.txt").write_text("data")
    runs = []
    for name in ("dropped-data", "kept-data"):
        with trackd.init(project="dash-arts") as run:
            art = trackd.Artifact(name, "dataset")
            art.add_file(str(tmp_path / "d.txt"))
            run.log_artifact(art).wait()
        runs.append(run)
    path = _delete_path(runs[0].entity, "dash-arts")
    status, got = dash.post_json(path, {"runs": [runs[0].id], "delete_artifacts": True})
    assert status == 200 and got["deleted"] == [runs[0].id]
    with pytest.raises(trackd.errors.ArtifactNotFoundError):
        Api().artifact("dash-arts/dropped-data:latest")
    status, got = dash.post_json(path, {"runs": [runs[1].id]})
    assert status == 200 and got["deleted"] == [runs[1].id]
    assert Api().artifact("dash-arts/kept-data:latest").logged_by() is None  # it stays


def test_deleting_frees_the_bytes_only_the_run_held(own_daemon: DaemonProcess, monkeypatch: Any,
                                                   tmp_path: Any) -> None:
    own_daemon.stop()
    own_daemon.dirs.env["TRACKD_BLOB_GRACE"] = "0"  # collect at once, not after an hour
    own_daemon.start()
    monkeypatch.chdir(tmp_path)
    dash = Dashboard.of(own_daemon)
    rng = np.random.default_rng(5)
    own, shared, kept = (rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(3))
    with trackd.init(project="dash-gc") as doomed:
        doomed.log({"own": trackd.Image(own), "shared": trackd.Image(shared),
                    "kept": trackd.Image(kept)})
    with trackd.init(project="dash-gc") as other:
        other.log({"shared": trackd.Image(shared)})
    stored = Api().run(doomed.path)
    (row,) = stored.history(pandas=False)
    blob = {k: _blob_of(stored, row[k]["path"]) for k in ("own", "shared", "kept")}
    (tmp_path / "kept.png").write_bytes(stored.file(row["kept"]["path"]).read_bytes())
    with trackd.init(project="dash-gc", job_type="keep") as keeper:
        art = trackd.Artifact("kept-image", "dataset")
        art.add_file(str(tmp_path / "kept.png"))
        keeper.log_artifact(art).wait()
    held_elsewhere = set(_file_blobs(Api().run(other.path))) | set(
        _file_blobs(Api().run(keeper.path))) | {blob["kept"]}
    only_its = {k: n for k, n in _file_blobs(stored).items() if k not in held_elsewhere}
    assert blob["own"] in only_its and blob["shared"] not in only_its
    collect_garbage()
    assert all(_blob_files(own_daemon, b) for b in blob.values())

    status, got = dash.post_json(_delete_path(doomed.entity, "dash-gc"), {"runs": [doomed.id]})
    assert status == 200 and got == {"deleted": [doomed.id], "errors": {}}
    freed = collect_garbage()
    assert (freed.blobs_freed, freed.bytes_freed) == (len(only_its), sum(only_its.values()))
    assert not _blob_files(own_daemon, blob["own"])
    assert _blob_files(own_daemon, blob["shared"])  # the other run's image holds it
    assert _blob_files(own_daemon, blob["kept"])  # the artifact holds it
    (again,) = Api().run(other.path).history(pandas=False)
    assert Api().run(other.path).file(again["shared"]["path"]).read_bytes()[:4] == b"\x89PNG"


def test_a_cross_site_request_cannot_edit_a_run(dash: Dashboard) -> None:
    """The attack: a page of another site, which the user opens while logged in to the
    dashboard, posts to the editing routes; the browser sends the session cookie with it."""
    run = _finished("dash-csrf", name="original", tags=["t"])
    update, move = _api(run) + "/update", _api(run) + "/move"
    delete = _delete_path(run.entity, "dash-csrf")
    attempts = [(update, {"name": "pwned", "tags": []}), (move, {"project": "stolen"}),
                (delete, {"runs": [run.id], "delete_artifacts": True})]
    # Not logged in at all: 401, whatever the origin.
    for path, body in attempts:
        status, _ = dash.post_json(path, body, token=None,
                                   headers={"Sec-Fetch-Site": "same-origin"})
        assert status == 401, path
    session = dash.login()
    cookie = {"Cookie": f"{dash.cookie_name}={session}"}
    own = dash.base.rstrip("/")
    for path, body in attempts:
        # A fetch or form of another site (what a browser says of it), with the cookie.
        for cross in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                      {"Sec-Fetch-Site": "same-site", "Origin": own}, {"Origin": "null"}, {}):
            status, raw = dash.post_json(path, body, token=None, headers={**cookie, **cross})
            assert status == 403 and b"did not come from this dashboard" in raw, (path, cross)
        # A simple form post (no preflight): urlencoded, no Origin, the cookie.
        form = "&".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                        for k, v in body.items()).encode()
        for extra in ({}, {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            status, _, raw = dash.request(path, method="POST", data=form, token=None, headers={
                **cookie, **extra, "Content-Type": "application/x-www-form-urlencoded"})
            assert status == 403 and b"did not come from this dashboard" in raw, (path, extra)
    got = dash.json(_api(run))
    assert (got["name"], got["tags"], got["project"]) == ("original", ["t"], "dash-csrf")
    assert Api().run(run.path).name == "original"
    # The dashboard's own page (what a browser sends with its fetch) may.
    status, got = dash.post_json(update, {"name": "renamed"}, token=None,
                        headers={**cookie, "Sec-Fetch-Site": "same-origin", "Origin": own})
    assert status == 200 and got["name"] == "renamed"


@pytest.mark.anyio
async def test_a_dashboard_without_the_editor_refuses_edits_saying_so() -> None:
    api = EditApi(WebApi(None))  # type: ignore[arg-type]
    assert isinstance(api.editor, NoRunEditor)
    key = RunKey("e", "p", "r")
    for call in (api.editor.update(key, lambda thing, noun: None, name="x"),
                 api.editor.move(key, "q", lambda thing, noun: None),
                 api.editor.delete(key, lambda thing, noun: None)):
        with pytest.raises(FailedPreconditionError, match="no run editor.*trackd runs"):
            await call
