"""A live run: what the daemon keeps in memory while a run may still receive records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from trackd._shared.history import RunHistory
from trackd_daemon.errors import RunFinishedError, SequenceGapError
from trackd_daemon.records import Decoded, Exit
from trackd_daemon.store.models import RunInfo, RunKey

if TYPE_CHECKING:
    from trackd_daemon.actors.wal import WalActor


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
    stream_token: object | None = None
    retired: bool = False
    preempting: bool = False  # if the client vanishes now, the run ends preempted
    stop_requested: bool = False  # StopRun was called: the run ends killed
    alert_last: dict[str, float] = field(default_factory=dict)  # rate limit: title -> time
    _progress: anyio.Event = field(default_factory=anyio.Event)
    _acked: anyio.Event = field(default_factory=anyio.Event)

    def accept(self, records: list[Decoded]) -> list[Decoded]:
        """Drop records already acknowledged; return the new ones.

        :raises SequenceGapError: the first new record does not follow ``acked_seq``.
        :raises RunFinishedError: the run has its exit record already.
        """
        fresh = [r for r in records if r.seq > self.acked_seq]
        if not fresh:
            return fresh
        if fresh[0].seq != self.acked_seq + 1:
            raise SequenceGapError(
                f"run {self.key}: expected seq {self.acked_seq + 1}, got {fresh[0].seq}",
                acked_seq=str(self.acked_seq),
            )
        if self.exit_seq:
            raise RunFinishedError(f"run {self.key} is finished; no more records are accepted")
        for i, r in enumerate(fresh):
            if isinstance(r, Exit):
                if i != len(fresh) - 1:
                    raise RunFinishedError(f"run {self.key}: records follow the exit record")
                self.exit_seq, self.exit_code = r.seq, r.exit_code
        return fresh

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
