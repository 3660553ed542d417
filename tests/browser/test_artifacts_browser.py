"""The artifact pages in a real browser, on artifacts made through the SDK (``prep`` logs a
dataset, ``train`` uses it and logs a model linked into a registry portfolio, ``evaluate`` uses
the model): from a run page to the project's artifacts, a version's files as a tree with text,
image and table previews (what could run script is never shown), the lineage graph run →
dataset → run → model → run grown by clicking nodes, and an alias added and removed on the page,
then read back through ``trackd.Api``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trackd
from tests.helpers import DaemonProcess
from tests.web.artifact_runs import make_lineage
from tests.web.dash import Dashboard


def _nodes(page: Any) -> dict[str, dict[str, Any]]:
    return {n["label"]: n for n in page.locator("#lineage g.lineage-node").evaluate_all(
        """els => els.map(e => {
             const box = e.getBoundingClientRect();
             return {label: e.dataset.label, id: e.dataset.id, kind: e.dataset.kind,
                     expanded: e.dataset.expanded === "1", x: box.x, y: box.y};
           })""")}


def test_a_version_page_files_previews_lineage_and_alias_edits(
        clean_sdk: DaemonProcess, dash: Dashboard, page: Any, shot: Any,
        tmp_path: Path) -> None:
    lin = make_lineage(tmp_path)
    # From a run page, the project's artifacts, then the dataset's version.
    page.goto(dash.ticket_url(f"/{lin.entity}/{lin.project}/runs/{lin.train}"))
    page.locator("#nav-artifacts").click()
    page.wait_for_selector('section.artifact-type[data-type="dataset"]')
    assert page.locator('tr.collection-row[data-name="ds"]').count() == 1
    assert page.locator('#portfolios .portfolio[data-name="registry"] tr.link-row').count() == 1
    shot(page, "artifacts")
    page.locator('tr.collection-row[data-name="ds"] td a').first.click()
    page.wait_for_selector('tr.version-row[data-version="v0"]')
    page.locator('tr.version-row[data-version="v0"] td a').first.click()
    page.wait_for_selector("#artifact-name")
    assert page.locator("#artifact-name").inner_text() == "ds:v0"
    assert page.locator("#logged-by").inner_text().startswith("prep")
    assert page.locator("#used-by a").all_inner_texts() == ["train"]
    page.wait_for_selector("#metadata > *")  # the tree is built by the page's script
    assert "synthetic" in page.locator("#metadata").inner_text()

    # Files: the root, then a folder opened; previews of text, an image and a table.
    tree = page.locator("#file-tree")
    page.wait_for_selector('#file-tree li.file[data-path="readme.txt"]')
    assert tree.locator(":scope > ul > li.folder").count() == 1
    page.locator('#file-tree li.folder[data-path="data"] > button').click()
    page.wait_for_selector('#file-tree li.file[data-path="data/train.csv"]')
    page.locator('#file-tree li.folder[data-path="data/deep"] > button').click()
    page.locator('#file-tree li.file[data-path="data/deep/notes.md"] button').click()
    page.wait_for_selector('#preview-body[data-path="data/deep/notes.md"]')
    assert page.locator("#preview-body pre").inner_text().strip() == "# notes"
    page.locator('#file-tree li.file[data-path="readme.txt"] button').click()
    page.wait_for_selector('#preview-body[data-path="readme.txt"]')
    assert page.locator("#preview-body pre").inner_text().strip() == "hello lineage"
    page.locator('#file-tree li.file[data-path="pic.png"] button').click()
    page.wait_for_selector('#preview-body[data-kind="image"] img')
    page.wait_for_function(
        "() => document.querySelector('#preview-body img').naturalWidth === 4")
    page.locator('#file-tree li.file[data-path="results.table.json"] button').click()
    page.wait_for_selector('#preview-body[data-kind="table"] table')
    assert page.locator("#preview-body thead th").all_inner_texts() == ["id", "label", "score"]
    assert page.locator("#preview-body tbody tr").count() == 2
    for unsafe in ("drawing.svg", "page.html"):
        page.locator(f'#file-tree li.file[data-path="{unsafe}"] button').click()
        page.wait_for_selector(f'#preview-body[data-path="{unsafe}"]')
        assert page.locator("#preview-body img, #preview-body iframe").count() == 0
        assert "No preview" in page.locator("#preview-body").inner_text()
    assert page.title().startswith("ds:v0")  # the HTML file's script never ran

    # Lineage: prep -> ds:v0 -> train; clicking train adds the model, clicking it its user.
    page.wait_for_selector('#lineage[data-nodes="3"]')
    nodes = _nodes(page)
    assert set(nodes) == {"prep", "ds:v0", "train"}
    assert nodes["prep"]["x"] < nodes["ds:v0"]["x"] < nodes["train"]["x"]
    assert page.locator("#lineage path.lineage-edge").count() == 2
    page.locator('#lineage g.lineage-node[data-label="train"]').click()
    page.wait_for_selector('#lineage[data-nodes="4"]')
    assert page.locator("#lineage-open").inner_text() == "train"
    page.locator('#lineage g.lineage-node[data-label="net:v0"]').click()
    page.wait_for_selector('#lineage[data-nodes="5"]')
    nodes = _nodes(page)
    chain = ["prep", "ds:v0", "train", "net:v0", "evaluate"]
    assert [nodes[n]["kind"] for n in chain] == ["run", "artifact", "run", "artifact", "run"]
    xs = [nodes[n]["x"] for n in chain]
    assert xs == sorted(xs) and len(set(xs)) == 5  # one layer per step, left to right
    assert page.locator("#lineage path.lineage-edge").count() == 4
    assert nodes["train"]["expanded"] and nodes["net:v0"]["expanded"]
    shot(page, "artifact-version")

    # Aliases: add one, remove another; the SDK reads the change back.
    page.locator("#alias-input").fill("best")
    page.locator("#alias-input").press("Enter")
    page.wait_for_selector('#aliases .alias[data-alias="best"]')
    page.locator('#aliases .alias[data-alias="raw"] .chip-remove').click()
    page.wait_for_function("() => !document.querySelector('#aliases [data-alias=\"raw\"]')")
    assert page.locator('#aliases .alias[data-alias="latest"] .chip-remove').count() == 0
    page.locator("#tag-input").fill("gold")
    page.locator("#tag-add").click()
    page.wait_for_selector('#tags .tag[data-tag="gold"]')
    got = trackd.Api().artifact(f"{lin.entity}/{lin.project}/ds:best")
    assert got.version == "v0" and sorted(got.aliases) == ["best", "latest"]
    assert got.tags == ["gold"]
    # A refused edit says why, and changes nothing.
    page.locator("#alias-input").fill("v9")
    page.locator("#alias-add").click()
    page.wait_for_function("() => document.getElementById('edit-status').textContent !== ''")
    assert "version index" in page.locator("#edit-status").inner_text()
    page.reload()
    assert sorted(page.locator("#aliases .alias").evaluate_all(
        "els => els.map(e => e.dataset.alias)")) == ["best", "latest"]
