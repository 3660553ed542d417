"""Samples under W&B's key names (wandb-semantics §1.10), without the ``system.`` prefix the
caller adds:

- process tree (the training process and its children): ``cpu`` (its CPU %, of the CPUs it
  may use: the cgroup quota, else the logical CPUs), ``proc.cpu.threads``, ``proc.fds``
  (open file descriptors), ``proc.memory.rssMB``, ``proc.memory.percent`` (of the memory it may
  use), and ``gpu.process.{i}.*`` for each GPU the tree uses;
- machine: ``cpu.{i}.cpu_percent`` per CPU, ``memory_percent`` (and its older name
  ``memory``) and ``proc.memory.availableMB`` (both against the cgroup memory limit when there
  is one), ``disk.{path}.usagePercent`` and ``usageGB``, ``disk.in`` / ``disk.out`` (MB read and
  written since the run's sampling began), ``network.sent`` / ``network.recv`` (bytes since
  then), and ``gpu.{i}.*`` (``gpu.py``).

Blocking (psutil, NVML): run in worker threads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import psutil

from trackd_daemon.sysmetrics.cgroup import Limits, limits_of
from trackd_daemon.sysmetrics.gpu import Nvml, process_values

MB = 1 << 20
GB = 1 << 30


@dataclass
class Machine:
    """One machine-wide reading, shared by every run sampled in the same pass."""

    values: dict[str, float]
    memory_total: int
    memory_available: int
    disk_read: int
    disk_write: int
    net_sent: int
    net_recv: int
    gpu_procs: dict[int, dict[int, int]] = field(default_factory=dict)


class MachineSampler:
    """Machine-wide values; NVML is opened on first use (and never again when it fails)."""

    def __init__(self, disk_paths: tuple[str, ...] = ("/",), gpus: bool = True) -> None:
        self._disk_paths = disk_paths
        self._gpus = gpus
        self.nvml: Nvml | None = None
        psutil.cpu_percent(percpu=True)  # the first call only starts the measurement

    def gpu(self) -> Nvml:
        if self.nvml is None:
            self.nvml = Nvml()
        return self.nvml

    def read(self) -> Machine:
        values: dict[str, float] = {}
        for i, pct in enumerate(psutil.cpu_percent(percpu=True)):
            values[f"cpu.{i}.cpu_percent"] = pct
        vm = psutil.virtual_memory()
        for path in self._disk_paths:
            try:
                du = psutil.disk_usage(path)
            except OSError:
                continue
            values[f"disk.{path}.usagePercent"] = du.percent
            values[f"disk.{path}.usageGB"] = du.used / GB
        io = _safe(psutil.disk_io_counters)
        net = _safe(psutil.net_io_counters)
        m = Machine(values, vm.total, vm.available,
                    io.read_bytes if io else 0, io.write_bytes if io else 0,
                    net.bytes_sent if net else 0, net.bytes_recv if net else 0)
        if self._gpus:
            gpu_values, m.gpu_procs = self.gpu().sample()
            values.update(gpu_values)
        return m


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except (OSError, RuntimeError):
        return None


class ProcessGone(Exception):
    """The sampled process has exited."""


class TreeSampler:
    """One training process and its children, sampled again and again (CPU % needs the
    previous reading of each process, so the process objects are kept)."""

    def __init__(self, pid: int, machine: Machine) -> None:
        try:
            self.root = psutil.Process(pid)
            self._create_time = self.root.create_time()
        except psutil.Error:
            raise ProcessGone(f"process {pid} does not exist") from None
        self.pid = pid
        self.limits: Limits = limits_of(pid)
        self._procs: dict[int, psutil.Process] = {pid: self.root}
        self.root.cpu_percent(None)
        self._base = (machine.disk_read, machine.disk_write, machine.net_sent, machine.net_recv)
        self.cpus = float(psutil.cpu_count() or 1)
        if self.limits.cpus is not None:
            self.cpus = max(0.01, min(self.cpus, self.limits.cpus))

    def _tree(self) -> list[psutil.Process]:
        try:
            children = self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            raise ProcessGone(f"process {self.pid} has exited") from None
        except psutil.Error:
            children = []
        current = {self.pid: self.root}
        for child in children:
            known = self._procs.get(child.pid)
            if known is None:
                try:
                    child.cpu_percent(None)  # start measuring it; counted from the next pass
                except psutil.Error:
                    continue
                known = child
            current[child.pid] = known
        self._procs = current
        return list(current.values())

    def sample(self, machine: Machine) -> dict[str, float]:
        """:raises ProcessGone: the training process has exited."""
        if not self.root.is_running():
            raise ProcessGone(f"process {self.pid} has exited")
        cpu = rss = 0.0
        threads = fds = 0
        for p in self._tree():
            try:
                with p.oneshot():
                    cpu += p.cpu_percent(None)
                    rss += p.memory_info().rss
                    threads += p.num_threads()
                    try:
                        fds += p.num_fds()
                    except psutil.AccessDenied:
                        pass
            except psutil.Error:
                continue  # exited (or hidden) since the tree was listed
        total, available = machine.memory_total, machine.memory_available
        used_pct = 100.0 * (total - available) / total if total else 0.0
        if self.limits.memory_bytes is not None and self.limits.memory_bytes < total:
            current = self.limits.memory_current()
            total = self.limits.memory_bytes
            if current is not None:
                available = max(0, min(available, total - current))
                used_pct = 100.0 * current / total
        disk_read, disk_write, sent, recv = self._base
        out = dict(machine.values)
        out.update({
            "cpu": cpu / self.cpus,
            "proc.cpu.threads": float(threads),
            "proc.fds": float(fds),
            "proc.memory.rssMB": rss / MB,
            "proc.memory.percent": 100.0 * rss / total if total else 0.0,
            "proc.memory.availableMB": available / MB,
            "memory_percent": used_pct,
            "memory": used_pct,
            "disk.in": max(0, machine.disk_read - disk_read) / MB,
            "disk.out": max(0, machine.disk_write - disk_write) / MB,
            "network.sent": float(max(0, machine.net_sent - sent)),
            "network.recv": float(max(0, machine.net_recv - recv)),
        })
        if machine.gpu_procs:
            out.update(process_values(machine.values, machine.gpu_procs, self._procs))
        return out


def owner_of(pid: int) -> int | None:
    """The real uid of process ``pid`` (None when it does not exist)."""
    try:
        return int(psutil.Process(pid).uids().real)
    except psutil.Error:
        return None


def started_at(pid: int) -> float:
    """When process ``pid`` started (Unix seconds; infinity when it does not exist)."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return float("inf")


def same_machine(host: str) -> bool:
    """Whether a client's host name is this machine's (only then is its pid meaningful)."""
    return not host or host == os.uname().nodename
