"""A live run: what the daemon keeps in memory while a run may still receive records."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from trackd._shared.history import RunHistory
from trackd._shared.run_fields import ConfigChange, ConfigSize
from trackd_daemon.errors import RunFinishedError, SequenceGapError
from trackd_daemon.records import Config, Decoded, Exit, Rows
from trackd_daemon.run_limits import measure_config
from trackd_daemon.store.models import RunInfo, RunKey

if TYPE_CHECKING:
    from trackd_daemon.actors.wal import WalActor


@dataclass
class WriterState:
    """Another writer of a shared run."""

    acked_seq: int = 0
    done: bool = False


@dataclass(eq=False)
class RunSession:
    """State shared by the actors that serve one run.

    ``acked_seq`` is advanced only by the stream that owns the run (after the WAL append),
    ``ingested_seq`` only by the history actor (after the store commit); waiters use
    :meth:`wait_ingested` / :meth:`wait_acked`.
    """

    key: RunKey
    pk: int
    wal: WalActor
    history: RunHistory
    info: RunInfo
    acked_seq: int = 0
    ingested_seq: int = 0
    exit_seq: int = 0
    exit_code: int = 0
    streams: int = 0
    tokens: set[object] = field(default_factory=set)
    #: writer label -> the stream that writes as it now ("" is the primary writer).
    owners: dict[str, object] = field(default_factory=dict)
    #: The other writers of a shared run: their own seq spaces.
    writers: dict[str, WriterState] = field(default_factory=dict)
    #: A shared run (see :meth:`share`), and whether its primary writer writes through this
    #: daemon: only that daemon ends the run (crashed, when its writers vanish); another
    #: daemon only lets go of it.
    shared: bool = False
    primary_here: bool = True
    #: Held from a batch's log append to its hand-off to the history actor, so the history
    #: actor sees the run's records in log order (replays then rebuild the same state).
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    retired: bool = False
    #: Being marked crashed (its grace ran out with no stream): a stream that attaches now is
    #: told to retry, and finds the run crashed, which runs it again.
    ending: bool = False
    preempting: bool = False  # if the client vanishes now, the run ends preempted
    stop_requested: bool = False  # StopRun was called: the run ends killed
    #: Seconds without a stream before the run is marked crashed (0: the daemon's default);
    #: the stored run's (``info.crash_grace``, from its client's heartbeat_seconds).
    crash_grace: float = 0.0
    alert_last: dict[str, float] = field(default_factory=dict)  # rate limit: title -> time
    #: The size of the config as accepted into the log (stored or not yet), measured from the
    #: first config record on: until then no config record waits to be stored, so
    #: ``info.config`` is exact. Recovery sets it when its log holds config not yet stored.
    config_size: ConfigSize | None = None
    _progress: anyio.Event = field(default_factory=anyio.Event)
    _acked: anyio.Event = field(default_factory=anyio.Event)

    @property
    def unattended(self) -> bool:
        """Live, not exited, and no stream attached: what the crash grace waits on."""
        return self.streams == 0 and not self.retired and not self.exit_seq

    def share(self, primary_here: bool) -> None:
        """The run is shared: its rounds are settled by the store (steps, merged summary,
        config and definitions: ``store/shared_runs.py``), its history state says what of the
        summary changed."""
        if not self.shared:
            self.shared = True
            self.primary_here = primary_here
            self.history.summary_changes = set()
        self.primary_here = self.primary_here or primary_here

    @property
    def ends_run(self) -> bool:
        """Whether this daemon ends the run when its writers here vanish."""
        return not self.shared or self.primary_here

    def accept(self, records: list[Decoded], kinds: Collection[type] | None = None
               ) -> list[Decoded]:
        """Drop records already acknowledged; return the new ones. ``records`` have
        consecutive seqs (``parse_batch`` makes sure); ``kinds``, when given, holds their
        types (``Batch.kinds``), so that a batch without an exit record is not looked through.

        :raises SequenceGapError: the first new record does not follow ``acked_seq``.
        :raises RunFinishedError: the run has its exit record already.
        """
        fresh = _after(records, self.acked_seq)
        if not fresh:
            return fresh
        if fresh[0].seq != self.acked_seq + 1:
            raise SequenceGapError(
                f"run {self.key}: expected seq {self.acked_seq + 1}, got {fresh[0].seq}",
                acked_seq=str(self.acked_seq),
            )
        if self.exit_seq:
            raise RunFinishedError(f"run {self.key} is finished; no more records are accepted")
        if kinds is not None and Exit not in kinds:
            return fresh
        for i, r in enumerate(fresh):
            if isinstance(r, Exit):
                if i != len(fresh) - 1:
                    raise RunFinishedError(f"run {self.key}: records follow the exit record")
                self.exit_seq, self.exit_code = r.seq, r.exit_code
        return fresh

    def measure_config(self, records: list[Decoded], acked: int) -> ConfigChange | None:
        """What the new config records among ``records`` (of a writer that has ``acked``
        acknowledged) change in the config's size (None: they hold none); committed once they
        are in the log. Blocking (values are measured): call it from a worker thread.

        :raises InvalidRecordError: the config would grow over its limits.
        """
        configs = [r for r in records if isinstance(r, Config) and r.seq > acked]
        if not configs:
            return None
        if self.config_size is None:
            self.config_size = ConfigSize(self.info.config)
        return measure_config(self.config_size, configs)

    def writer(self, label: str) -> WriterState:
        """Another writer's state; one this daemon has not seen goes on from the run's stored
        seq of it (it may have written through another daemon)."""
        w = self.writers.get(label)
        if w is None:
            w = self.writers[label] = WriterState(self.info.writer_seqs.get(label, 0))
        return w

    def accept_from(self, writer: str, records: list[Decoded],
                    kinds: Collection[type] | None = None) -> list[Decoded]:
        """:meth:`accept` for any writer: another writer's exit record ends only that writer."""
        if not writer:
            return self.accept(records, kinds)
        w = self.writer(writer)
        fresh = _after(records, w.acked_seq)
        if not fresh:
            return fresh
        if fresh[0].seq != w.acked_seq + 1:
            raise SequenceGapError(
                f"run {self.key}, writer {writer!r}: expected seq {w.acked_seq + 1}, "
                f"got {fresh[0].seq}", acked_seq=str(w.acked_seq))
        if self.exit_seq or w.done:
            raise RunFinishedError(f"run {self.key}: writer {writer!r} or the run has finished")
        for i, r in enumerate(fresh):
            if isinstance(r, Exit):
                if i != len(fresh) - 1:
                    raise RunFinishedError(f"run {self.key}: records follow writer {writer!r}'s exit")
                w.done = True
        return fresh

    def acked_of(self, writer: str) -> int:
        """The highest seq acknowledged for ``writer``."""
        if not writer:
            return self.acked_seq
        return self.writer(writer).acked_seq

    def mark_acked_of(self, writer: str, seq: int) -> None:
        if not writer:
            self.mark_acked(seq)
            return
        self.writer(writer).acked_seq = seq
        ev, self._acked = self._acked, anyio.Event()
        ev.set()

    async def wait_acked_of(self, writer: str, seq: int) -> None:
        while self.acked_of(writer) < seq:
            await self._acked.wait()

    def mark_acked(self, seq: int) -> None:
        self.acked_seq = seq
        ev, self._acked = self._acked, anyio.Event()
        ev.set()

    def mark_ingested(self, seq: int) -> None:
        self.ingested_seq = max(self.ingested_seq, seq)
        ev, self._progress = self._progress, anyio.Event()
        ev.set()

    async def wait_acked(self, seq: int) -> None:
        while self.acked_seq < seq:
            await self._acked.wait()

    async def wait_ingested(self, seq: int) -> None:
        while self.ingested_seq < seq and not self.retired:
            await self._progress.wait()


def _after(records: list[Decoded], acked: int) -> list[Decoded]:
    """The records with a seq above ``acked`` (their seqs are consecutive): ``records`` as
    they are when all are new (most often), else a slice, a :class:`Rows` that ``acked``
    falls in cut to its new rows."""
    if not records or records[0].seq > acked:
        return records
    for i, r in enumerate(records):
        if type(r) is Rows:
            if r.last > acked:
                return [r.after(acked + 1), *records[i + 1:]] if r.seq <= acked else records[i:]
        elif r.seq > acked:
            return records[i:]
    return []
