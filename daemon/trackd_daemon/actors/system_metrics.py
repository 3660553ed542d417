"""SystemMetricsActor: samples each live run's training process tree and the machine, and
stores the samples as the run's system-metrics series (``system.*`` keys, W&B's names).

A run is tracked from CreateRun (which names the training process's pid and the sampling
interval, per writer of a shared run) until it finishes or crashes, or its process exits. The
sampling (psutil, NVML) runs in one worker thread at a time, never on the event loop, and costs
the training process nothing: the daemon reads /proc and NVML from outside it. Each pass
samples every tracked process that is due, once the machine-wide values are read, and stores
the samples in one write.

Which process a run is sampled from is kept in the store: a daemon restarted while the run goes
on (its client reconnects) samples the same process again, unless that pid now belongs to a
process started after the run.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from trackd_daemon.actors.base import Actor
from trackd_daemon.session import RunSession
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.run_data_models import SamplerSpec, SystemSample

log = logging.getLogger("trackd.daemon.system_metrics")

#: W&B's default interval, and the shortest one allowed (seconds).
DEFAULT_INTERVAL = 15.0
MIN_INTERVAL = 1.0
PREFIX = "system."


@dataclass(frozen=True)
class Track:
    """Sample ``pid`` (and its children) for ``session`` as ``writer`` every ``interval``
    seconds. ``uid`` is the caller's: a pid owned by another uid is not sampled (unless the
    caller is ``trusted``), ``fallback_pid`` (the connection's peer pid) is then used."""

    session: RunSession
    writer: str
    pid: int
    interval: float
    uid: int
    trusted: bool = False
    fallback_pid: int = 0
    #: Resumed after a daemon restart: the pid must belong to a process started no later than
    #: this (Unix seconds; the run's creation), else it was reused by another process.
    started_by: float = 0.0


SystemMetricsMsg = Track


@dataclass(eq=False)
class _Tracked:
    msg: Track
    due: float
    sampler: object | None = None  # a TreeSampler once the worker thread has made it
    failures: int = 0
    key: tuple[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.msg.session.pk, self.msg.writer)

    def ended(self) -> bool:
        s, w = self.msg.session, self.msg.writer
        if s.retired:
            return True
        if w:
            state = s.writers.get(w)
            return state is not None and state.done
        return bool(s.exit_seq)


class SystemMetricsActor(Actor[SystemMetricsMsg]):
    #: One message per CreateRun that asks for sampling; 1,024 absorbs hundreds of processes
    #: starting at once while a sampling pass runs.
    mailbox_size = 1024
    name = "system-metrics"

    def __init__(self, store: MetadataStore, gpus: bool = True) -> None:
        super().__init__()
        self._store = store
        self._gpus = gpus
        self._tracked: dict[tuple[int, str], _Tracked] = {}
        self._machine: object | None = None  # MachineSampler, made in the worker thread
        self._limiter = anyio.CapacityLimiter(1)  # sampler state is one thread's at a time
        #: Seconds the last sampling pass took (in the worker thread), for statistics.
        self.last_pass_seconds = 0.0

    @property
    def tracked(self) -> int:
        return len(self._tracked)

    async def loop(self) -> None:
        while True:
            wake = min((t.due for t in self._tracked.values()), default=math.inf)
            try:
                msg = await self.receive_until(wake)
            except anyio.EndOfStream:
                return
            if msg is not None:
                self._on(msg)
                if not msg.started_by:  # a new registration: kept for a restarted daemon
                    try:
                        await self._store.put_sampler(msg.session.pk, SamplerSpec(
                            msg.writer, msg.pid or msg.fallback_pid, msg.interval, msg.uid,
                            msg.trusted))
                    except Exception:  # sampling goes on without it
                        log.exception("run %s: could not record its sampled process",
                                      msg.session.key)
                continue
            await self._pass()

    def _on(self, msg: Track) -> None:
        interval = max(MIN_INTERVAL, msg.interval or DEFAULT_INTERVAL)
        msg = Track(msg.session, msg.writer, msg.pid, interval, msg.uid, msg.trusted,
                    msg.fallback_pid, msg.started_by)
        # The first sample comes one interval after the start (CPU % needs two readings).
        self._tracked[(msg.session.pk, msg.writer)] = _Tracked(msg, anyio.current_time())

    async def resume(self, session: RunSession) -> None:
        """Sample a recovered run's processes again (after a daemon restart)."""
        started_by = session.info.created_at or session.info.start_time
        for spec in await self._store.samplers(session.pk):
            await self.tell(Track(session, spec.writer, spec.pid, spec.interval, spec.uid,
                                  spec.trusted, 0, started_by=started_by + 1.0))

    async def _pass(self) -> None:
        now = anyio.current_time()
        for key, t in list(self._tracked.items()):
            if t.ended():
                del self._tracked[key]
        due = [t for t in self._tracked.values() if t.due <= now]
        if not due:
            return
        samples, gone = await anyio.to_thread.run_sync(self._sample, due, limiter=self._limiter)
        for t in due:
            t.due = now + t.msg.interval
        for t in gone:
            self._tracked.pop(t.key, None)
        if samples:
            try:
                await self._store.append_system_metrics(samples)
            except Exception:
                log.exception("could not store %d system-metric sample(s)", len(samples))

    # -- worker thread -------------------------------------------------------------------------

    def _sample(self, due: list[_Tracked]) -> tuple[list[SystemSample], list[_Tracked]]:
        # psutil and NVML load in the sampling thread, when a run is first sampled
        from trackd_daemon.sysmetrics.sampler import MachineSampler, ProcessGone, TreeSampler

        started = time.perf_counter()
        if self._machine is None:
            self._machine = MachineSampler(gpus=self._gpus)
            nvml = self._machine.gpu() if self._gpus else None
            if nvml is not None and nvml.reason:
                log.info("no GPU metrics: %s", nvml.reason)
        machine_sampler = self._machine
        assert isinstance(machine_sampler, MachineSampler)
        machine = machine_sampler.read()
        ts = time.time()
        samples: list[SystemSample] = []
        gone: list[_Tracked] = []
        for t in due:
            try:
                if t.sampler is None:
                    t.sampler = TreeSampler(self._pid_for(t.msg), machine)
                    continue  # primed: CPU % is measured from here
                assert isinstance(t.sampler, TreeSampler)
                values = t.sampler.sample(machine)
            except ProcessGone as exc:
                log.info("run %s%s: %s; system metrics stop", t.msg.session.key,
                         f" (writer {t.msg.writer})" if t.msg.writer else "", exc)
                gone.append(t)
                continue
            except Exception:
                t.failures += 1
                log.exception("run %s: system metrics sample failed", t.msg.session.key)
                if t.failures >= 5:
                    gone.append(t)
                continue
            samples.append(SystemSample(t.msg.session.pk, t.msg.writer, ts,
                                        {PREFIX + k: v for k, v in values.items()}))
        self.last_pass_seconds = time.perf_counter() - started
        return samples, gone

    @staticmethod
    def _pid_for(msg: Track) -> int:
        """The pid to sample: the one asked for when the caller owns it (or may see every
        process), else the connection's own pid.

        :raises ProcessGone: neither can be sampled.
        """
        # psutil and NVML: loaded when a run is first sampled, not at daemon start
        from trackd_daemon.sysmetrics.sampler import ProcessGone, owner_of, started_at

        for pid in (msg.pid, msg.fallback_pid):
            if pid <= 0 or not (msg.trusted or owner_of(pid) == msg.uid):
                continue
            if msg.started_by and started_at(pid) > msg.started_by:
                raise ProcessGone(f"pid {pid} now belongs to a process started after the run")
            return pid
        raise ProcessGone(f"no process of uid {msg.uid} to sample (pid {msg.pid})")
