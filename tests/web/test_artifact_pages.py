"""The artifact pages and their API on a real daemon's dashboard: a project's artifacts by type
and its registry portfolios, a collection's versions, a version with its files, previews and
the bytes served as user content (never run on the dashboard's origin), who logged and used
it, its lineage graph grown a step at a time, and alias and tag edits with the SDK's rules,
read back through ``trackd.Api`` and refused from another site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.helpers import DaemonProcess
from tests.web.artifact_runs import BIG_TEXT, DATASET, Lineage, make_lineage
from tests.web.dash import Dashboard
from trackd_daemon.web.artifacts.lineage import MAX_NEIGHBOURS


@pytest.fixture
def dash(clean_sdk: DaemonProcess) -> Dashboard:
    return Dashboard.of(clean_sdk)


@pytest.fixture
def lin(clean_sdk: DaemonProcess, tmp_path: Path) -> Lineage:
    return make_lineage(tmp_path)



def _ids(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["label"]: n for n in graph["nodes"]}


def test_the_project_list_collections_and_portfolios(dash: Dashboard, lin: Lineage) -> None:
    got = dash.json(f"/api/v1/projects/{lin.entity}/{lin.project}/artifacts")
    assert [t["type"] for t in got["types"]] == ["dataset", "model"]
    ds = got["types"][0]["collections"][0]
    assert (ds["name"], ds["versions"], ds["portfolio"]) == ("ds", 1, False)
    assert sorted(ds["latest"]["aliases"]) == ["latest", "raw"]
    assert ds["latest"]["size"] == sum(map(len, DATASET.values()))
    assert ds["href"] == f"/{lin.entity}/{lin.project}/artifacts/dataset/ds"
    assert ds["updated_at"] > 0
    [registry] = got["portfolios"]
    assert (registry["name"], registry["type"], registry["versions"]) == ("registry", "model", 1)
    [link] = registry["links"]
    assert sorted(link["aliases"]) == ["latest", "staging"] and link["link"]["version"] == "v0"
    assert link["source_version"]["name"] == "net" and link["source_version"]["version"] == "v0"
    # The page: by type, then collection, and the registry.
    status, _, body = dash.request(lin.page)
    page = body.decode()
    assert status == 200
    assert 'data-type="dataset"' in page and 'data-name="ds"' in page and "registry" in page
    assert f"/{lin.entity}/{lin.project}/artifacts/model/registry/v0" in page
    # A project without artifacts says so.
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}-none/artifacts")
    assert status == 200 and b'id="no-artifacts"' in body
    assert dash.json(f"/api/v1/projects/{lin.entity}/{lin.project}-none/artifacts")[
        "types"] == []
    # Every page of the project links to it.
    for path in (f"/{lin.entity}/{lin.project}/runs/{lin.train}", lin.page):
        status, _, body = dash.request(path)
        assert status == 200 and f'id="nav-artifacts" href="{lin.page}"' in body.decode()


def test_a_collection_and_a_version_with_who_logged_and_used_it(dash: Dashboard,
                                                                lin: Lineage) -> None:
    got = dash.json(f"{lin.api}/dataset/ds")
    assert got["collection"]["name"] == "ds" and got["collection"]["type"] == "dataset"
    [v0] = got["versions"]
    assert v0["version"] == "v0" and v0["logged_by"]["id"] == lin.prep
    assert v0["logged_by"]["name"] == "prep" and v0["file_count"] == len(DATASET)
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/artifacts/dataset/ds")
    assert status == 200 and 'data-version="v0"' in body.decode()

    for selector in ("v0", "latest", "raw", v0["digest"]):
        got = dash.json(f"{lin.api}/dataset/ds/{selector}")
        assert got["id"] == v0["id"], selector
    assert got["description"] == "the inputs"
    assert got["metadata"] == {"rows": 2, "source": {"kind": "synthetic", "seed": 7}}
    assert [r["id"] for r in got["used_by"]] == [lin.train]
    assert got["used_by"][0]["href"] == f"/{lin.entity}/{lin.project}/runs/{lin.train}"
    model = dash.json(f"{lin.api}/model/net/v0")
    assert model["logged_by"]["id"] == lin.train and [r["id"] for r in model["used_by"]] == [
        lin.evaluate]
    assert [(link["portfolio"], link["version"]) for link in model["links"]] == [("registry",
                                                                                 "v0")]
    # Through the portfolio: the link's number and aliases, and its source.
    linked = dash.json(f"{lin.api}/model/registry/staging")
    assert linked["link"]["version"] == "v0" and "staging" in linked["link"]["aliases"]
    assert linked["source_version"]["name"] == "net"
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/artifacts/model/registry/v0")
    assert status == 200 and 'id="link-note"' in body.decode()
    assert f"/{lin.entity}/{lin.project}/artifacts/model/net/v0" in body.decode()
    # The HTML page.
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/artifacts/dataset/ds/raw")
    page = body.decode()
    assert status == 200 and 'id="artifact-name">ds:v0<' in page and v0["digest"] in page
    assert f'data-id="{lin.train}"' in page
    # What is not there.
    for path in ("/dataset/nope/v0", "/model/ds/v0", "/dataset/ds/v7", "/dataset/ds/nope"):
        status, _, body = dash.request(lin.api + path)
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found", path
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/artifacts/dataset/ds/v9")
    assert status == 404 and b"Not found" in body


def test_files_as_a_tree_previews_and_bytes_as_user_content(dash: Dashboard,
                                                            lin: Lineage) -> None:
    base = f"{lin.api}/dataset/ds/v0"
    root = dash.json(base + "/files")
    assert [(f["name"], f["files"]) for f in root["folders"]] == [("data", 2)]
    names = {f["name"]: f for f in root["files"]}
    assert set(names) == {p for p in DATASET if "/" not in p}
    assert names["readme.txt"]["size"] == len(DATASET["readme.txt"]) and names["pic.png"][
        "digest"]
    assert {n: f["preview"] for n, f in names.items()} == {
        "readme.txt": "text", "pic.png": "image", "page.html": "none", "drawing.svg": "none",
        "results.table.json": "table", "big.txt": "text"}
    data = dash.json(base + "/files", {"dir": "data"})
    assert [f["path"] for f in data["folders"]] == ["data/deep"]
    assert [f["path"] for f in data["files"]] == ["data/train.csv"]

    text = dash.json(base + "/preview/readme.txt")
    assert text == {"kind": "text", "text": "hello lineage\n", "truncated": False,
                    "size": 14, "url": base + "/files/readme.txt"}
    big = dash.json(base + "/preview/big.txt")
    assert big["truncated"] and len(big["text"]) == 256 << 10 and big["size"] == BIG_TEXT
    table = dash.json(base + "/preview/results.table.json")
    assert table["columns"] == ["id", "label", "score"] and table["rows"][1] == [2, "dog", 0.25]
    assert dash.json(base + "/preview/pic.png")["kind"] == "image"
    assert dash.json(base + "/preview/drawing.svg")["kind"] == "none"
    assert dash.json(base + "/preview/data/deep/notes.md")["text"] == "# notes\n"

    status, headers, body = dash.request(base + "/files/pic.png")
    assert status == 200 and body == DATASET["pic.png"]
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox")
    # Documents that could run script are downloads of opaque bytes.
    for name in ("page.html", "drawing.svg"):
        status, headers, body = dash.request(f"{base}/files/{name}")
        assert status == 200 and body == DATASET[name]
        assert headers["Content-Type"] == "application/octet-stream", name
        assert headers["Content-Disposition"].startswith("attachment"), name
    status, _, _ = dash.request(base + "/files/missing.txt")
    assert status == 404


def test_the_lineage_graph_grows_a_step_at_a_time(dash: Dashboard, lin: Lineage) -> None:
    path = f"{lin.api}/dataset/ds/v0/lineage"
    first = dash.json(path)
    nodes = _ids(first)
    assert set(nodes) == {"prep", "ds:v0", "train"}
    assert nodes["ds:v0"]["seed"] and nodes["ds:v0"]["expanded"]
    assert [nodes[n]["layer"] for n in ("prep", "ds:v0", "train")] == [0, 1, 2]
    assert not nodes["train"]["expanded"] and nodes["train"]["href"].endswith(lin.train)
    run = nodes["train"]["id"]
    assert run == f"run:{lin.entity}/{lin.project}/{lin.train}"
    # Expanding the run that used it adds what that run made; then the model's users.
    second = dash.json(path, [("expand", run)])
    nodes = _ids(second)
    assert set(nodes) == {"prep", "ds:v0", "train", "net:v0"}
    assert nodes["net:v0"]["layer"] == 3 and nodes["train"]["expanded"]
    third = dash.json(path, [("expand", run), ("expand", nodes["net:v0"]["id"])])
    nodes = _ids(third)
    assert nodes["evaluate"]["layer"] == 4 and third["layers"] == 5
    edges = {(e["source"], e["target"]) for e in third["edges"]}
    by_label = {n["label"]: n["id"] for n in third["nodes"]}
    chain = ["prep", "ds:v0", "train", "net:v0", "evaluate"]
    assert edges == {(by_label[a], by_label[b]) for a, b in zip(chain, chain[1:], strict=False)}
    # A node not in the graph is not expanded; the model's own graph starts from it.
    assert set(_ids(dash.json(path, [("expand", "run:x/y/z")]))) == {"prep", "ds:v0",
                                                                      "train"}
    assert set(_ids(dash.json(f"{lin.api}/model/net/v0/lineage"))) == {"train", "net:v0",
                                                                      "evaluate"}


def test_aliases_and_tags_edited_with_the_sdk_rules(clean_sdk: DaemonProcess, dash: Dashboard,
                                                   lin: Lineage, tmp_path: Path) -> None:
    base = f"{lin.api}/dataset/ds"
    status, got = dash.post_json(base + "/v0/aliases", {"add": ["best"], "remove": ["raw"]})
    assert status == 200 and sorted(got["aliases"]) == ["best", "latest"]
    assert trackd.Api().artifact(f"{lin.entity}/{lin.project}/ds:best").version == "v0"
    # A second version: "latest" moves to it; "best" moves when given to it.
    (tmp_path / "more.txt").write_text("more\n")
    with trackd.init(project=lin.project) as run:
        art = trackd.Artifact("ds", type="dataset")
        art.add_file(str(tmp_path / "more.txt"))
        run.log_artifact(art).wait()
    status, got = dash.post_json(base + "/v1/aliases", {"add": ["best"]})
    assert status == 200 and sorted(got["aliases"]) == ["best", "latest"]
    assert dash.json(base + "/v0")["aliases"] == []
    api = trackd.Api()
    assert api.artifact(f"{lin.entity}/{lin.project}/ds:best").version == "v1"
    # "latest" is moved, not removed; aliases and tags follow the SDK's rules.
    status, got = dash.post_json(base + "/v1/aliases", {"remove": ["latest"]})
    assert status == 400 and "latest" in got["error"]["message"]
    for bad in (["v3"], ["a/b"], [""]):
        status, got = dash.post_json(base + "/v1/aliases", {"add": bad})
        assert status == 400, bad
    status, got = dash.post_json(base + "/v0/aliases", {"add": ["latest"]})
    assert status == 200 and got["aliases"] == ["latest"]
    assert api.artifact(f"{lin.entity}/{lin.project}/ds:latest").version == "v0"
    for body in ({"add": "x"}, {"add": [1]}, [], "nope"):
        status, _ = dash.post_json(base + "/v0/tags", body)
        assert status == 400, body
    status, got = dash.post_json(base + "/v0/tags", {"add": ["gold", "eval set"]})
    assert status == 200 and got["tags"] == ["gold", "eval set"]
    status, got = dash.post_json(base + "/v0/tags", {"remove": ["gold"], "add": ["bad/tag"]})
    assert status == 400
    status, got = dash.post_json(base + "/v0/tags", {"remove": ["gold"]})
    assert status == 200 and got["tags"] == ["eval set"]
    assert trackd.Api().artifact(f"{lin.entity}/{lin.project}/ds:v0").tags == ["eval set"]
    # Through a portfolio: the link's aliases; tags belong to the source version.
    status, got = dash.post_json(f"{lin.api}/model/registry/v0/aliases", {"add": ["production"]})
    assert status == 200 and "production" in got["link"]["aliases"]
    assert "production" not in dash.json(f"{lin.api}/model/net/v0")["aliases"]
    assert trackd.Api().artifact(
        f"{lin.entity}/{lin.project}/registry:production").source_name == "net:v0"
    status, got = dash.post_json(f"{lin.api}/model/registry/v0/tags", {"add": ["x"]})
    assert status == 400 and "source version" in got["error"]["message"]


def test_a_cross_site_request_cannot_edit_an_artifact(dash: Dashboard, lin: Lineage) -> None:
    path = f"{lin.api}/dataset/ds/v0/aliases"
    status, _ = dash.post_json(path, {"add": ["pwned"]}, token=None,
                      headers={"Sec-Fetch-Site": "same-origin"})
    assert status == 401  # not logged in
    session = dash.login()
    cookie = {"Cookie": f"{dash.cookie_name}={session}"}
    own = dash.base.rstrip("/")
    for cross in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                  {"Sec-Fetch-Site": "same-site", "Origin": own}, {}):
        for route, body in ((path, {"add": ["pwned"]}),
                            (path.replace("/aliases", "/tags"), {"add": ["pwned"]})):
            status, got = dash.post_json(route, body, token=None, headers={**cookie, **cross})
            assert status == 403 and b"did not come from this dashboard" in got, (cross, status)
    v0 = dash.json(f"{lin.api}/dataset/ds/v0")
    assert "pwned" not in v0["aliases"] and "pwned" not in v0["tags"]
    status, got = dash.post_json(path, {"add": ["ok"]}, token=None,
                        headers={**cookie, "Sec-Fetch-Site": "same-origin", "Origin": own})
    assert status == 200 and "ok" in got["aliases"]


def test_a_version_used_by_many_runs_draws_the_first_and_counts_the_rest(
        dash: Dashboard, tmp_path: Path) -> None:
    project = f"web-art-many-{tmp_path.name[-8:]}"
    (tmp_path / "x.txt").write_text("x\n")
    with trackd.init(project=project) as run:
        art = trackd.Artifact("shared", type="dataset")
        art.add_file(str(tmp_path / "x.txt"))
        run.log_artifact(art).wait()
        entity = run.entity
    users = []
    for i in range(MAX_NEIGHBOURS + 2):
        with trackd.init(project=project, name=f"user-{i:02d}") as run:
            run.use_artifact("shared:latest")
            users.append(run.id)
    got = dash.json(f"/api/v1/artifacts/{entity}/{project}/dataset/shared/v0/lineage")
    seed = next(n for n in got["nodes"] if n["seed"])
    runs = [n for n in got["nodes"] if n["kind"] == "run"]
    assert len(runs) == 1 + MAX_NEIGHBOURS and seed["more"] == 2
    assert {n["layer"] for n in runs if n["label"].startswith("user-")} == {2}
    assert sorted(n["row"] for n in runs if n["label"].startswith("user-")) == list(
        range(MAX_NEIGHBOURS))
    # The first users are drawn (first use first).
    assert {n["id"].rsplit("/", 1)[1] for n in runs if n["label"].startswith("user-")} == set(
        users[:MAX_NEIGHBOURS])
    assert len(dash.json(f"/api/v1/artifacts/{entity}/{project}/dataset/shared/v0")[
        "used_by"]) == MAX_NEIGHBOURS + 2


def test_a_run_page_lists_the_artifacts_it_logged_and_used(dash: Dashboard,
                                                           lin: Lineage) -> None:
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/runs/{lin.train}")
    page = body.decode()
    assert status == 200 and ">Artifacts (2)<" in page
    logged = page.split('id="artifacts-logged"')[1].split("</table>")[0]
    used = page.split('id="artifacts-used"')[1].split("</table>")[0]
    assert f'href="/{lin.entity}/{lin.project}/artifacts/model/net/v0">net:v0<' in logged
    assert "ds:v0" in used and "raw" in used and "net:v0" not in used
    status, _, body = dash.request(f"/{lin.entity}/{lin.project}/runs/{lin.evaluate}")
    page = body.decode()
    assert ">Artifacts (1)<" in page and 'id="artifacts-logged"' not in page
