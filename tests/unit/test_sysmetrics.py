"""The samplers behind the system-metrics actor: cgroup v2 limits, the process tree, NVML
absent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trackd_daemon.sysmetrics.cgroup import Limits, cgroup_of, limits_of
from trackd_daemon.sysmetrics.gpu import Nvml, process_values
from trackd_daemon.sysmetrics.sampler import MachineSampler, ProcessGone, TreeSampler


def _own_cgroup() -> str | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:].lstrip("/")
    except OSError:
        pass
    return None


def test_cgroup_limits_take_the_tightest_on_the_path(tmp_path: Path) -> None:
    rel = _own_cgroup()
    if rel is None:
        pytest.skip("no cgroup v2 here")
    leaf = tmp_path / rel
    leaf.mkdir(parents=True, exist_ok=True)
    (leaf / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs
    (leaf / "memory.max").write_text("max\n")
    (leaf / "memory.current").write_text("1000\n")
    parent = leaf.parent if leaf != tmp_path else leaf
    (parent / "memory.max").write_text(f"{64 << 20}\n")
    (parent / "memory.current").write_text(f"{10 << 20}\n")
    got = limits_of(os.getpid(), root=tmp_path)
    assert got.cpus == 1.5
    assert got.memory_bytes == 64 << 20
    assert got.memory_current() == 10 << 20
    assert cgroup_of(os.getpid(), root=tmp_path / "missing") is None
    assert limits_of(os.getpid(), root=tmp_path / "missing") == Limits(None, None)


def test_tree_sampler_counts_children_and_notices_the_end() -> None:
    machine_sampler = MachineSampler(gpus=False)
    proc = subprocess.Popen([sys.executable, "-c",
                             ("import subprocess, sys, time\n"
                             "c = subprocess.Popen([sys.executable, '-c', "
                             "'import time\\nb = bytearray(40 << 20)\\n"
                             "for i in range(0, len(b), 4096): b[i] = 1\\n"
                             "time.sleep(30)'])\n"
                             "time.sleep(30)")])
    try:
        tree = TreeSampler(proc.pid, machine_sampler.read())
        deadline = time.monotonic() + 20
        while True:
            time.sleep(0.5)
            values = tree.sample(machine_sampler.read())
            if values["proc.memory.rssMB"] > 40 or time.monotonic() > deadline:
                break
        assert values["proc.memory.rssMB"] > 40  # the grandchild's memory is the tree's
        assert values["proc.cpu.threads"] >= 2
        assert 0 <= values["cpu"] <= 100
        assert "cpu.0.cpu_percent" in values and "disk./.usageGB" in values
    finally:
        for child in __import__("psutil").Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()
    with pytest.raises(ProcessGone):
        tree.sample(machine_sampler.read())
    with pytest.raises(ProcessGone):
        TreeSampler(proc.pid, machine_sampler.read())


def test_no_gpu_is_reported_once_and_samples_nothing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as if nvidia-ml-py were not installed
    nvml = Nvml()
    assert nvml.reason == "nvidia-ml-py is not installed" and nvml.count == 0
    assert nvml.sample() == ({}, {})


def test_process_gpu_values_count_only_the_tree() -> None:
    gpus = {"gpu.0.gpu": 90.0, "gpu.0.memoryTotalBytes": 1000.0, "gpu.1.gpu": 5.0}
    procs = {0: {10: 300, 11: 100, 99: 500}, 1: {99: 10}}
    out = process_values(gpus, procs, [10, 11])
    assert out == {"gpu.process.0.memoryAllocatedBytes": 400.0,
                   "gpu.process.0.memoryAllocated": 40.0, "gpu.process.0.gpu": 90.0}
