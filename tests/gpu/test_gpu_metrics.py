"""System metrics of an NVIDIA GPU while a CUDA tensor workload runs: utilisation and memory
rise, and the training process's own GPU memory is counted (``system.gpu.process.*``).

Needs an NVIDIA GPU with its driver (NVML) and PyTorch built with CUDA; skipped otherwise, with
the reason. Run it alone on a GPU machine: ``pytest -q tests/gpu``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trackd


def _gpu_problem() -> str | None:
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except Exception as exc:  # noqa: BLE001 - no driver: NVMLError_LibraryNotFound and kin
        return f"no NVIDIA driver here (NVML: {exc})"
    if count == 0:
        return "NVML sees no GPU"
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode != 0:
        return "PyTorch is not installed (the CUDA workload needs it)"
    if probe.stdout.strip() != "True":
        return "PyTorch cannot use CUDA here"
    return None


_PROBLEM = _gpu_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=f"GPU check: {_PROBLEM}")

SCRIPT = """
import time, torch, trackd

run = trackd.init(project="gpu", settings={"x_stats_sampling_interval": 1})
time.sleep(3)  # idle samples first
x = torch.randn(8192, 8192, device="cuda")
held = [torch.empty(1 << 28, dtype=torch.uint8, device="cuda") for _ in range(8)]  # 2 GiB
end = time.time() + 8
while time.time() < end:
    y = x @ x
    torch.cuda.synchronize()
run.log({"done": 1})
run.finish()
print("PATH", run.path)
"""


def test_gpu_utilisation_and_memory_rise_under_a_cuda_workload(clean_sdk, tmp_path: Path) -> None:
    script = tmp_path / "gpu_burn.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().splitlines()[-1].split()[-1]
    rows = trackd.Api().run(path).history(stream="system", samples=0, pandas=False)
    assert len(rows) >= 8, rows
    util = [r.get("system.gpu.0.gpu", 0.0) for r in rows]
    used = [r.get("system.gpu.0.memoryAllocatedBytes", 0.0) for r in rows]
    mine = [r.get("system.gpu.process.0.memoryAllocatedBytes", 0.0) for r in rows]
    print(f"GPU utilisation %: {util}")
    print(f"GPU memory used (MiB): {[round(u / 2**20) for u in used]}")
    print(f"this process's GPU memory (MiB): {[round(m / 2**20) for m in mine]}")
    assert min(util[:2]) < 50 and max(util) > 50, util
    assert max(used) - min(used) > 2 << 30, used  # the 2 GiB held, and the matrices
    assert max(mine) > 2 << 30, mine
    last = rows[-1]
    for key in ("system.gpu.0.memoryAllocated", "system.gpu.0.memoryTotalBytes",
                "system.gpu.0.temp", "system.gpu.0.smClock"):
        assert key in last, key
    assert any("system.gpu.0.powerWatts" in r for r in rows)
