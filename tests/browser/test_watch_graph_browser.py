"""The graph of a watched PyTorch model (``watch(log_graph=True)``) in a real browser: the
run page's media panel shows its modules as a tree the user expands — a container's modules
under its name, each module with its type, parameter shapes, output shape and connections.

Needs PyTorch (a CPU build is enough); skipped, with the reason, without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import trackd
from tests.web.dash import Dashboard

torch = pytest.importorskip("torch", reason="watch() needs PyTorch: pip install torch (CPU build)")


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Linear(4, 8)
        self.blocks = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.head(self.blocks(self.stem(x)))


def test_the_model_graph_is_a_tree_the_user_expands(dash: Dashboard, page: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     shot: Any) -> None:
    monkeypatch.chdir(tmp_path)
    model = _Net()
    with trackd.init(project="browser-graph") as run:
        run.watch(model, log="all", log_freq=1, log_graph=True)
        model(torch.randn(3, 4)).sum().backward()
        run.log({"loss": 1.0})
    page.goto(dash.ticket_url(f"/{run.entity}/browser-graph/runs/{run.id}"))
    box = page.locator('.media-panel[data-key="graph_0"]')
    box.scroll_into_view_if_needed()
    drawn = box.locator(".media-graph[data-drawn='1']")
    drawn.wait_for()
    assert (drawn.get_attribute("data-nodes"), drawn.get_attribute("data-edges")) == ("4", "3")
    assert "torch: 4 modules, 3 connections, 130 parameters" in drawn.inner_text()
    # In the order of the forward pass.
    top = drawn.locator(":scope > .graph-items > details > summary .graph-name")
    assert top.all_inner_texts() == ["stem", "blocks", "head"]
    # Collapsed at first: the container and the modules are there, their details hidden.
    group = drawn.locator('details.graph-group[data-group="blocks"]')
    inner = group.locator('details.graph-node[data-node="blocks.0"]')
    assert not inner.is_visible()
    group.locator("summary").first.click()
    assert inner.is_visible()
    assert "Linear" in inner.locator(".graph-type").inner_text()
    assert not inner.locator(".graph-params").is_visible()
    inner.locator("summary").click()
    assert inner.locator(".graph-params").inner_text().split("\n")[1:] == [
        "weight\t[8,8]\t64", "bias\t[8]\t8"]
    assert inner.locator(".graph-output").inner_text() == "[[3,8]]"
    assert inner.locator(".graph-in").inner_text() == "stem"
    assert inner.locator(".graph-out").inner_text() == "blocks.1"
    stem = drawn.locator('details.graph-node[data-node="stem"]')
    drawn.locator("button.graph-expand").click()
    assert stem.locator(".graph-out").is_visible()
    assert stem.locator(".graph-module").inner_text().startswith("Linear(in_features=4")
    shot(page, "media-graph")
    drawn.locator("button.graph-collapse").click()
    assert not inner.is_visible() and not stem.locator(".graph-out").is_visible()
    # The histograms of the same run are panels of their own.
    assert page.locator('.media-panel[data-key="gradients/head.weight"]').count() == 1
