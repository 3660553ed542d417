"""NVIDIA GPUs through NVML (nvidia-ml-py): utilisation, memory, temperature, power, clocks and
per-process memory, under W&B's key names (``gpu.{i}.gpu``, ``gpu.{i}.memoryAllocated``...).

Without the library, the driver or a GPU, :class:`Nvml` says why once and samples nothing. A
query a GPU does not support (power on some boards, say) leaves its key out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("trackd.daemon.sysmetrics")


class Nvml:
    """The machine's NVIDIA GPUs (blocking: call from a worker thread)."""

    def __init__(self) -> None:
        self.reason = ""  # why there are no GPUs ("" when there are)
        self._nv: Any = None
        self._handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                             for i in range(pynvml.nvmlDeviceGetCount())]
            self._nv = pynvml
        except ImportError:
            self.reason = "nvidia-ml-py is not installed"
        except Exception as exc:  # noqa: BLE001 - pynvml.NVMLError and friends: no driver
            self.reason = f"NVML is not usable ({exc})"
        if self._nv is not None and not self._handles:
            self.reason = "NVML found no GPU"

    @property
    def count(self) -> int:
        return len(self._handles)

    def _get(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported etc.: leave the key out
            return None

    def inventory(self) -> list[dict[str, Any]]:
        """Name and memory of each GPU (for the run's environment)."""
        nv = self._nv
        out = []
        for h in self._handles:
            name = self._get(nv.nvmlDeviceGetName, h)
            mem = self._get(nv.nvmlDeviceGetMemoryInfo, h)
            out.append({"name": name.decode() if isinstance(name, bytes) else name,
                        "memory_total": int(mem.total) if mem is not None else None})
        return out

    def sample(self) -> tuple[dict[str, float], dict[int, dict[int, int]]]:
        """Per-GPU values (``gpu.{i}.*``) and, per GPU, the memory each process uses."""
        nv = self._nv
        values: dict[str, float] = {}
        procs: dict[int, dict[int, int]] = {}
        if nv is None:
            return values, procs
        for i, h in enumerate(self._handles):
            p = f"gpu.{i}."
            util = self._get(nv.nvmlDeviceGetUtilizationRates, h)
            if util is not None:
                values[p + "gpu"] = float(util.gpu)
                values[p + "memory"] = float(util.memory)
            mem = self._get(nv.nvmlDeviceGetMemoryInfo, h)
            if mem is not None and mem.total:
                values[p + "memoryAllocated"] = 100.0 * mem.used / mem.total
                values[p + "memoryAllocatedBytes"] = float(mem.used)
                values[p + "memoryTotalBytes"] = float(mem.total)
            temp = self._get(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
            if temp is not None:
                values[p + "temp"] = float(temp)
            power = self._get(nv.nvmlDeviceGetPowerUsage, h)
            limit = self._get(nv.nvmlDeviceGetEnforcedPowerLimit, h)
            if power is not None:
                values[p + "powerWatts"] = power / 1000.0
                if limit:
                    values[p + "enforcedPowerLimitWatts"] = limit / 1000.0
                    values[p + "powerPercent"] = 100.0 * power / limit
            for key, clock in (("smClock", "NVML_CLOCK_SM"), ("memoryClock", "NVML_CLOCK_MEM"),
                               ("graphicsClock", "NVML_CLOCK_GRAPHICS")):
                mhz = self._get(nv.nvmlDeviceGetClockInfo, h, getattr(nv, clock))
                if mhz is not None:
                    values[p + key] = float(mhz)
            used: dict[int, int] = {}
            for fn in (nv.nvmlDeviceGetComputeRunningProcesses,
                       nv.nvmlDeviceGetGraphicsRunningProcesses):
                for proc in self._get(fn, h) or ():
                    mem_used = getattr(proc, "usedGpuMemory", None) or 0
                    used[int(proc.pid)] = used.get(int(proc.pid), 0) + int(mem_used)
            procs[i] = used
        return values, procs


def process_values(gpus: dict[str, float], procs: dict[int, dict[int, int]],
                   pids: Iterable[int]) -> dict[str, float]:
    """``gpu.process.{i}.*`` for each GPU some process of ``pids`` uses: the memory the tree
    holds there (bytes and % of the GPU's) and the GPU's utilisation."""
    tree = set(pids)
    out: dict[str, float] = {}
    for i, used in procs.items():
        mine = sum(b for pid, b in used.items() if pid in tree)
        if not any(pid in tree for pid in used):
            continue
        p = f"gpu.process.{i}."
        out[p + "memoryAllocatedBytes"] = float(mine)
        total = gpus.get(f"gpu.{i}.memoryTotalBytes")
        if total:
            out[p + "memoryAllocated"] = 100.0 * mine / total
        for key in ("gpu", "memory", "temp", "powerWatts"):
            if f"gpu.{i}.{key}" in gpus:
                out[p + key] = gpus[f"gpu.{i}.{key}"]
    return out
