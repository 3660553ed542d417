"""``watch``/``unwatch`` on a tiny CPU model against the real daemon: gradient and parameter
histograms at W&B's steps (every ``log_freq``-th batch, into the current step), ``unwatch``
stops them, several models with ``idx`` (W&B's ``graph_<idx>`` names), the graph-file of
``log_graph``, the errors, and no PyTorch imported for what is not a torch model.

Needs PyTorch (a CPU build is enough); skipped, with the reason, without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import trackd
from tests.e2e.refusals import refused_losing_nothing
from trackd import Api

torch = pytest.importorskip("torch", reason="watch() needs PyTorch: pip install torch (CPU build)")
import trackd.torch_watch as torch_watch  # noqa: E402 - after the skip
from trackd.torch_watch.device_histogram import (  # noqa: E402
    _device_histogram,
    device_histogram,
)


@pytest.fixture(autouse=True)
def _first_watch_in_process(monkeypatch):  # type: ignore[no-untyped-def]
    """Each test starts W&B's per-process model count at 0, as a fresh process would."""
    monkeypatch.setattr(torch_watch, "_next_idx", 0)


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def _train_step(model, opt, seed: int) -> float:  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 4, generator=g), torch.randn(16, 2, generator=g)
    loss = ((model(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def _hist_keys(row: dict) -> set[str]:  # type: ignore[type-arg]
    return {k for k in row if k.startswith(("gradients/", "parameters/"))}


def _close_to_numpy(logged: dict, values: np.ndarray) -> None:  # type: ignore[type-arg]
    """What was logged is numpy's 64-bin histogram of ``values`` (a value on a bin's edge may
    fall on either side: float32 arithmetic on the device)."""
    counts, edges = np.histogram(values, 64)
    assert logged["_type"] == "histogram"
    assert sum(logged["values"]) == values.size
    assert logged["bins"] == pytest.approx(edges.tolist(), rel=1e-5, abs=1e-6)
    assert np.abs(np.array(logged["values"]) - counts).sum() <= 2


def test_all_logs_gradients_and_parameters_every_log_freq_batches(clean_sdk):
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen_params, seen_grads = {}, {}
    with trackd.init(project="watch") as run:
        trackd.watch(model, log="all", log_freq=3)
        for step in range(7):
            before = {n: p.detach().clone().numpy() for n, p in model.named_parameters()}
            _train_step(model, opt, step)
            seen_params[step] = before
            seen_grads[step] = {n: p.grad.clone().numpy() for n, p in model.named_parameters()}
            run.log({"loss": step})
    rows = list(Api().run(run.path).scan_history())
    assert [r["_step"] for r in rows] == list(range(7))
    names = {"0.weight", "0.bias", "2.weight", "2.bias"}
    expected = {f"{kind}/{n}" for kind in ("gradients", "parameters") for n in names}
    for row in rows:  # the 3rd and 6th batches, with the row the step's log() committed
        assert _hist_keys(row) == (expected if row["_step"] in (2, 5) else set()), row["_step"]
        assert row["loss"] == row["_step"]
    for step in (2, 5):
        for n in names:
            _close_to_numpy(rows[step][f"parameters/{n}"], seen_params[step][n])
            _close_to_numpy(rows[step][f"gradients/{n}"], seen_grads[step][n])


def test_default_logs_gradients_only_and_parameters_alone(clean_sdk):
    a, b = _mlp(), _mlp()
    with trackd.init(project="watch") as run:
        run.watch(a, log_freq=1)
        run.watch(b, log="parameters", log_freq=2, idx=0)
        for step in range(2):
            a(torch.randn(2, 4)).sum().backward()
            b(torch.randn(2, 4))
            run.log({"x": step})
    rows = list(Api().run(run.path).scan_history())
    assert _hist_keys(rows[0]) == {"gradients/0.weight", "gradients/0.bias",
                                   "gradients/2.weight", "gradients/2.bias"}
    assert _hist_keys(rows[1]) == _hist_keys(rows[0]) | {
        "parameters/0.weight", "parameters/0.bias", "parameters/2.weight", "parameters/2.bias"}


def test_unwatch_stops_the_histograms_of_one_model_or_all(clean_sdk, capsys):
    a, b = _mlp(), _mlp()
    with trackd.init(project="watch") as run:
        run.watch([a, b], log="all", log_freq=1)

        def step(i: int) -> None:
            for m in (a, b):
                m(torch.randn(2, 4)).sum().backward()
            run.log({"i": i})

        step(0)
        run.unwatch(b)
        step(1)
        trackd.unwatch()  # every model of the run
        step(2)
        capsys.readouterr()
        run.unwatch(a)  # watched no more: a warning on the terminal, nothing raised
        said = capsys.readouterr()
        assert "Sequential model has not been watched" in said.out + said.err
    rows = list(Api().run(run.path).scan_history())
    assert any(k.startswith("gradients/graph_1") for k in rows[0])
    assert _hist_keys(rows[1]) and not any("graph_1" in k for k in _hist_keys(rows[1]))
    assert _hist_keys(rows[2]) == set()
    assert not a._forward_hooks and not any(p._backward_hooks for p in a.parameters())


def test_several_models_get_w_and_bs_names_by_index(clean_sdk):
    a, b, c = _mlp(), _mlp(), _mlp()
    with trackd.init(project="watch") as run:
        run.watch([a, b], log_freq=1)  # no idx: counted in this process, 0 and 1
        run.watch(c, log_freq=1, idx=5)
        for m in (a, b, c):
            m(torch.randn(2, 4)).sum().backward()
        run.log({"done": 1})
    (row,) = Api().run(run.path).scan_history()
    keys = _hist_keys(row)
    assert {"gradients/0.weight", "gradients/graph_10.weight",
            "gradients/graph_50.weight"} <= keys
    assert len(keys) == 12
    with trackd.init(project="watch") as run:
        with pytest.raises(ValueError, match="already been set"):
            run.watch(a, log_freq=1, idx=0)
            run.watch(a, log_freq=1, idx=0)  # the same names twice


class _Net(torch.nn.Module):
    """Modules joined by functional operations (relu, a residual sum) and a Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.block = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh())
        self.head = torch.nn.Linear(8, 3)

    def forward(self, x):  # type: ignore[no-untyped-def]
        h = torch.relu(self.fc1(x))
        return self.head(self.block(h) + h)


def test_log_graph_stores_the_models_graph_file(clean_sdk):
    model = _Net()
    with trackd.init(project="watch") as run:
        run.watch(model, log=None, log_graph=True)
        for _ in range(2):
            model(torch.randn(5, 4)).sum().backward()
        run.log({"loss": 1.0})
    stored = Api().run(run.path)
    ref = stored.summary["graph_0"]
    assert ref["_type"] == "graph-file"
    assert ref["path"].startswith("media/graph/graph_0_") and ref["path"].endswith(".graph.json")
    with stored.file(ref["path"]).download(root="dl", replace=True) as f:
        graph = json.load(f)
    assert graph["format"] == "torch"
    by_name = {n["name"]: n for n in graph["nodes"]}
    assert list(by_name) == ["fc1", "block.0", "block.1", "head"]
    assert by_name["fc1"]["class_name"].startswith("Linear(in_features=4, out_features=8")
    assert by_name["block.1"]["class_name"] == "Tanh()"
    assert by_name["fc1"]["parameters"] == [["weight", [8, 4]], ["bias", [8]]]
    assert by_name["fc1"]["num_parameters"] == [32, 8]
    assert by_name["head"]["output_shape"] == [[5, 3]]
    name_of = {n["id"]: n["name"] for n in graph["nodes"]}
    edges = {(name_of[a], name_of[b]) for a, b in graph["edges"]}
    # through relu, and the residual sum: head takes block.1's output and fc1's
    assert edges == {("fc1", "block.0"), ("block.0", "block.1"), ("block.1", "head"),
                     ("fc1", "head")}
    assert not model._forward_hooks and not model.fc1._forward_hooks  # done: hooks removed
    again = trackd.Graph.from_json(ref, stored)
    assert [n.name for n in again.nodes] == list(by_name) and len(again.edges) == 4


def test_nan_and_infinities_are_left_out_and_all_nan_logs_nothing(clean_sdk):
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, float("nan"), float("inf")]]))
    with trackd.init(project="watch") as run:
        run.watch(model, log="parameters", log_freq=1)
        model(torch.ones(1, 3))
        run.log({"a": 1})
        with torch.no_grad():
            model.weight.fill_(float("nan"))
        model(torch.ones(1, 3))
        run.log({"a": 2})
    rows = list(Api().run(run.path).scan_history())
    assert rows[0]["parameters/weight"]["values"] == [1.0]  # one finite value: W&B's one bin
    assert rows[0]["parameters/weight"]["bins"] == [1.0, 1.0]
    assert "parameters/weight" not in rows[1]
    counts, edges = device_histogram(torch.tensor([0.0, 1.0, 2.0, float("-inf")]))
    assert sum(counts) == 3 and edges[0] == 0.0 and edges[-1] == 2.0 and len(edges) == 65
    sparse = torch.sparse_coo_tensor([[0, 3]], [1.0, 2.0], (10,), check_invariants=True)
    counts, edges = device_histogram(sparse)  # the unstored zeros count too
    assert sum(counts) == 10 and counts[0] == 8 and edges[0] == 0.0


def test_the_accelerator_count_matches_the_cpu_count():
    """The counting that runs on a GPU (one copy back), run here on the CPU, counts as the
    CPU's ``torch.histc`` does (a value on a bin's edge may fall on either side)."""
    g = torch.Generator().manual_seed(1)
    values = torch.randn(10_000, generator=g)
    values[::97] = float("nan")
    values[5] = float("inf")
    for t in (values, values.double(), torch.full((7,), 2.5),
              torch.tensor([float("nan"), float("-inf")])):
        on_cpu, packed = device_histogram(t), _device_histogram(t.reshape(-1), None)
        if on_cpu is None:
            assert packed is None
            continue
        assert packed[1] == pytest.approx(on_cpu[1], rel=1e-6)
        assert np.abs(np.array(packed[0]) - np.array(on_cpu[0])).sum() <= 2
        assert sum(packed[0]) == sum(on_cpu[0]) == int(torch.isfinite(t).sum())


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda run: run.watch(object()), ValueError, "torch.nn.Module"),
    (lambda run: run.watch([_mlp(), "model"]), ValueError, "torch.nn.Module"),
    (lambda run: run.watch(_mlp(), log="weights"), ValueError, "log must be one of"),
    (lambda run: run.watch(_mlp(), log_freq=-1), ValueError, "log_freq must be >= 0"),
    (lambda run: run.watch(_mlp(), log_freq="10"), TypeError, "log_freq must be an int"),
])
def test_bad_arguments_are_refused_and_lose_nothing(clean_sdk, call, error, match):
    with trackd.init(project="watch-bad") as run:
        run.log({"loss": 1.0})
        with pytest.raises(error, match=match):
            call(run)
        run.log({"loss": 0.5})
    assert [r["loss"] for r in Api().run(run.path).scan_history()] == [1.0, 0.5]
    refused_losing_nothing("watch-bad", lambda: trackd.watch(object()), ValueError, "torch")


def test_module_functions_need_a_run(clean_sdk):
    with pytest.raises(ValueError, match="init"):
        trackd.watch(_mlp())
    with pytest.raises(trackd.Error, match="init"):
        trackd.unwatch()


def test_finished_run_hooks_log_nothing_and_watch_refuses(clean_sdk):
    model = _mlp()
    run = trackd.init(project="watch")
    run.watch(model, log="all", log_freq=1)
    run.finish()
    model(torch.randn(2, 4)).sum().backward()  # the run is over: the hooks log nothing
    with pytest.raises(trackd.UsageError, match="finished"):
        run.watch(_mlp())
    fresh = _mlp()
    with trackd.init(mode="disabled") as off:  # nothing is logged: no hooks at all
        off.watch(fresh, log="all", log_graph=True)
        assert not fresh._forward_hooks and not any(p._backward_hooks for p in fresh.parameters())
        with pytest.raises(ValueError, match="torch.nn.Module"):  # still checked
            off.watch("model")


def test_no_torch_is_imported_for_what_is_not_a_torch_model(clean_sdk, tmp_path):
    prog = textwrap.dedent("""
        import sys, trackd
        run = trackd.init(project="watch", mode="offline")
        try:
            run.watch(object())
        except ValueError as exc:
            print("refused:", exc)
        run.unwatch()
        run.finish()
        print("torch imported:", "torch" in sys.modules)
    """)
    p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "refused: watch() takes PyTorch models (torch.nn.Module), got builtins.object" \
        in p.stdout
    assert "torch imported: False" in p.stdout
