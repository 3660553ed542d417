"""System metrics of a run's process tree and of the machine (psutil; NVIDIA GPUs through
NVML), under W&B's key names. Everything here blocks (it reads /proc, /sys and NVML): callers run
it in worker threads, never on the event loop."""

from trackd_daemon.sysmetrics.sampler import MachineSampler, TreeSampler

__all__ = ["MachineSampler", "TreeSampler"]
