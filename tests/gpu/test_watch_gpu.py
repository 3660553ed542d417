"""``watch`` on a CUDA model: the histograms of gradients and parameters are counted on the GPU
and only their bins and range come back to the host — one copy of 67 numbers, the one
synchronizing operation per histogram — and nothing at all runs between two ``log_freq``
batches; what reaches the daemon matches the same tensors counted on the CPU.

Needs PyTorch built with CUDA and a GPU; skipped otherwise, with the reason. Run it alone on a
GPU machine: ``pytest -q tests/gpu``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import trackd

torch = pytest.importorskip("torch", reason="GPU check: PyTorch is not installed")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="GPU check: PyTorch cannot use CUDA here")

import trackd.torch_watch.device_histogram as device_histogram_module  # noqa: E402
import trackd.torch_watch.hooks as hooks  # noqa: E402


def test_histograms_are_counted_on_the_gpu_copying_back_only_the_bins(
        clean_sdk: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[str, int]] = []  # (device of the counted tensor, its elements)
    copied: list[tuple[str, int]] = []  # (device, elements) of each tensor copied to the host
    syncs: list[int] = []  # synchronizing CUDA operations per histogram
    expected: dict[int, tuple[Any, Any]] = {}
    real_count = device_histogram_module._count
    real_histogram = hooks.device_histogram
    real_cpu = torch.Tensor.cpu

    def count_spy(flat: Any, weights: Any) -> Any:
        counted.append((flat.device.type, flat.numel()))
        return real_count(flat, weights)

    def cpu_spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        copied.append((self.device.type, self.numel()))
        return real_cpu(self, *args, **kwargs)

    def histogram_spy(tensor: Any) -> Any:
        on_cpu = real_histogram(tensor.detach().to("cpu", copy=True))  # the same, on the CPU
        copied.clear()
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                got = real_histogram(tensor)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        syncs.append(sum("synchronizing" in str(w.message) for w in caught))
        assert copied == [("cuda", 67)], copied  # 65 counts, minimum, maximum
        expected[len(expected)] = (got, on_cpu)
        return got

    monkeypatch.setattr(device_histogram_module, "_count", count_spy)
    monkeypatch.setattr(torch.Tensor, "cpu", cpu_spy)
    monkeypatch.setattr(hooks, "device_histogram", histogram_spy)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(128, 64, device="cuda"), torch.randint(0, 10, (128,), device="cuda")
    with trackd.init(project="gpu-watch") as run:
        run.watch(model, log="all", log_freq=5)
        for step in range(10):
            before = len(counted)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log({"step": step})
            if step not in (4, 9):  # between two log_freq batches the hooks only count
                assert len(counted) == before, step
    assert counted and all(device == "cuda" for device, _ in counted), counted
    assert len(counted) == 16  # 4 gradients + 4 parameters, twice
    assert syncs and max(syncs) <= 1, syncs
    for got, on_cpu in expected.values():
        assert got[1] == pytest.approx(on_cpu[1], rel=1e-5, abs=1e-6)
        assert np.abs(np.array(got[0]) - np.array(on_cpu[0])).sum() <= 2
    rows = list(trackd.Api().run(run.path).scan_history())
    logged = [sorted(k for k in r if "/" in k) for r in rows]
    assert [i for i, keys in enumerate(logged) if keys] == [4, 9]
    assert "gradients/0.weight" in logged[4] and "parameters/2.bias" in logged[9]
    assert sum(rows[4]["gradients/0.weight"]["values"]) == 64 * 256
