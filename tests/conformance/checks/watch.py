"""``Run.watch``/``Run.unwatch`` and ``wandb.watch``/``wandb.unwatch`` (seed 1.4, 3.7, 3.10):
histograms of a PyTorch model's gradients and parameters every ``log_freq`` batches, its graph,
several models by index, the hooks removed; read back through ``Api()``.

These checks need PyTorch (a CPU build); the conformance run installs it. It is imported by
the checks, not by this module, so that the other checks load without it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import trackd
from tests.conformance.registry import check


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        pytest.fail("the watch checks need PyTorch: pip install torch (a CPU build is enough)")
    return torch


def _model() -> Any:
    torch = _torch()
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))


def _batch(model: Any) -> None:
    torch = _torch()
    model(torch.randn(5, 3)).pow(2).mean().backward()


def _histograms(row: dict[str, Any]) -> set[str]:
    return {k for k in row if k.startswith(("gradients/", "parameters/"))}


def _check_watch(ctx: Any, watch: Any, unwatch: Any) -> None:
    a, b = _model(), _model()
    with ctx.init() as run:
        watch(a, None, "all", 2, 0, True)  # positional, in the documented order
        watch(models=[b], log="gradients", log_freq=1, idx=3)
        for i in range(4):
            _batch(a)
            _batch(b)
            if i == 2:
                unwatch(b)
            run.log({"i": i})
        unwatch()
        _batch(a)
        run.log({"i": 4})
    stored = ctx.stored(run)
    rows = list(stored.scan_history())
    a_names = {f"{k}/{n}" for k in ("gradients", "parameters")
               for n in ("0.weight", "0.bias", "2.weight", "2.bias")}
    b_names = {f"gradients/graph_3{n}" for n in ("0.weight", "0.bias", "2.weight", "2.bias")}
    expected = [b_names, a_names | b_names, b_names, a_names, set()]
    assert [_histograms(r) for r in rows] == expected
    graph = stored.summary["graph_0"]
    assert graph["_type"] == "graph-file" and graph["path"].startswith("media/graph/")
    with stored.file(graph["path"]).download(root=str(ctx.tmp / "g"), replace=True) as f:
        data = json.load(f)
    assert [n["name"] for n in data["nodes"]] == ["0", "1", "2"]
    assert len(data["edges"]) == 2
    with ctx.init():
        with pytest.raises(ValueError, match="torch.nn.Module"):
            watch(object())
        with pytest.raises(ValueError, match="log must be one of"):
            watch(_model(), log="everything")


@check("Run.watch", "Run.watch.models", "Run.watch.criterion", "Run.watch.log",
       "Run.watch.log_freq", "Run.watch.idx", "Run.watch.log_graph",
       "Run.unwatch", "Run.unwatch.models")
def _(ctx):  # type: ignore[no-untyped-def]
    def watch(*args: Any, **kwargs: Any) -> None:
        trackd.run.watch(*args, **kwargs)

    def unwatch(*args: Any, **kwargs: Any) -> None:
        trackd.run.unwatch(*args, **kwargs)

    _check_watch(ctx, watch, unwatch)


@check("wandb.watch", "wandb.watch.models", "wandb.watch.criterion", "wandb.watch.log",
       "wandb.watch.log_freq", "wandb.watch.idx", "wandb.watch.log_graph",
       "wandb.unwatch", "wandb.unwatch.models")
def _(ctx):  # type: ignore[no-untyped-def]
    _check_watch(ctx, trackd.watch, trackd.unwatch)
    with pytest.raises(ValueError, match="init"):  # the seed: before wandb.init
        trackd.watch(_model())
