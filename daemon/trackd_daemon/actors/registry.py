"""RunRegistry: the live runs of this daemon, keyed by (entity, project, run_id).

It creates runs (store row, write-ahead log, history state), rebuilds runs that were still
running when the daemon last stopped (recovery from their logs), attaches and detaches client
streams, and retires runs when they finish or crash. Each live run's WalActor runs in the
registry's task group, so closing the registry drains and closes every log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from trackd._shared.history import RunHistory
from trackd._shared.walfile import read_records
from trackd.v1 import record_pb2, run_pb2
from trackd_daemon.actors.base import Actor, MailboxStats, Reply
from trackd_daemon.actors.heartbeat import Attached, Detached, HeartbeatActor
from trackd_daemon.actors.history import HistoryActor, Ingest
from trackd_daemon.actors.wal import Append, WalActor
from trackd_daemon.errors import RunFinishedError, RunNotFoundError
from trackd_daemon.records import Decoded, Exit, History, Metric, Resume, Summary
from trackd_daemon.records import parse_batch
from trackd_daemon.session import RunSession
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import CRASHED, RUNNING, NewRun, RunChanges, RunInfo, RunKey

log = logging.getLogger("trackd.daemon.registry")


@dataclass(frozen=True)
class Create:
    """Create a run, or continue an existing one when ``resume`` allows it. The reply is the
    stored run, its live session (none for a retried create of a run that finished since) and
    whether it was resumed."""

    new: NewRun
    resume: str  # "never", "allow" or "must"
    reply: Reply[tuple[RunInfo, RunSession | None, bool]]


@dataclass(frozen=True)
class Attach:
    """A stream wants to write to ``key``; the newest stream owns the run."""

    key: RunKey
    token: object
    reply: Reply[RunSession]


@dataclass(frozen=True)
class Detach:
    """The stream ``token`` of ``key`` ended (sent even if its Attach never completed)."""

    key: RunKey
    token: object


@dataclass(frozen=True)
class Lookup:
    """The live session of ``key`` or None (the run may be stored and finished)."""

    key: RunKey
    reply: Reply[RunSession | None]


@dataclass(frozen=True)
class Retire:
    """The run finished or crashed: close its log and forget it."""

    session: RunSession


@dataclass(frozen=True)
class Recover:
    """Rebuild a run that was running when the daemon stopped."""

    info: RunInfo
    reply: Reply[RunSession]


RegistryMsg = Create | Attach | Detach | Lookup | Retire | Recover


class RunRegistry(Actor[RegistryMsg]):
    #: One message per CreateRun/stream open/close/FinishRun; 1,024 absorbs hundreds of
    #: processes starting at once while the registry opens logs.
    mailbox_size = 1024
    name = "registry"

    def __init__(
        self,
        store: MetadataStore,
        history: HistoryActor,
        heartbeat: HeartbeatActor,
        wal_dir: Path,
        fsync_interval: float,
    ) -> None:
        super().__init__()
        self._store = store
        self._history = history
        self._heartbeat = heartbeat
        self._wal_dir = wal_dir
        self._fsync_interval = fsync_interval
        self._sessions: dict[RunKey, RunSession] = {}
        self._tg: TaskGroup | None = None

    # -- views (read-only, safe from any task) --------------------------------------------------

    @property
    def runs_in_flight(self) -> int:
        return len(self._sessions)

    def session_stats(self) -> list[MailboxStats]:
        return [s.wal.statistics() for s in self._sessions.values()]

    # -- loop ----------------------------------------------------------------------------------

    async def loop(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            async for msg in self._recv:
                try:
                    await self._handle(msg)
                except Exception as exc:
                    reply = getattr(msg, "reply", None)
                    if reply is None:
                        raise
                    reply.fail(exc)
            for s in list(self._sessions.values()):
                s.wal.close()

    async def _handle(self, msg: RegistryMsg) -> None:
        if isinstance(msg, Create):
            if msg.resume != "never":
                try:
                    existing = await self._store.get_run(msg.new.key)
                except RunNotFoundError:
                    if msg.resume == "must":
                        raise RunNotFoundError(
                            f"run {msg.new.key} does not exist, so it cannot be resumed "
                            "(resume='must')", run=str(msg.new.key)) from None
                else:
                    s = await self._resume(existing)
                    msg.reply.set((s.info, s, True))
                    return
            info = await self._store.create_run(msg.new)
            s = self._sessions.get(info.key)
            if s is None and info.state == RUNNING:
                # New, or a retried create of a run this daemon is not serving (recover it).
                s = await (self._recover(info) if self._wal_path(info).exists() else self._open(info))
            msg.reply.set((info, s, False))
        elif isinstance(msg, Attach):
            s = self._sessions.get(msg.key)
            if s is None:
                info = await self._store.get_run(msg.key)
                if info.state == CRASHED:
                    log.info("run %s: a client re-attached; the run is running again", info.key)
                    await self._store.apply([RunChanges(info.pk, info.ingested_seq, state=RUNNING)])
                    info.state = RUNNING
                    s = await self._recover(info)
                elif info.state != RUNNING:
                    raise RunFinishedError(f"run {msg.key} is {info.state}", run=str(msg.key))
                else:
                    s = await self._recover(info)
            s.tokens.add(msg.token)
            s.streams = len(s.tokens)
            s.stream_token = msg.token
            await self._heartbeat.tell(Attached(s))
            msg.reply.set(s)
        elif isinstance(msg, Detach):
            s = self._sessions.get(msg.key)
            if s is not None and msg.token in s.tokens:
                s.tokens.discard(msg.token)
                s.streams = len(s.tokens)
                if s.stream_token is msg.token:
                    s.stream_token = None
                await self._heartbeat.tell(Detached(s))
        elif isinstance(msg, Lookup):
            msg.reply.set(self._sessions.get(msg.key))
        elif isinstance(msg, Retire):
            s = msg.session
            s.retired = True
            s.mark_ingested(s.ingested_seq)  # wake waiters
            if self._sessions.get(s.key) is s:
                del self._sessions[s.key]
            s.wal.close()
        elif isinstance(msg, Recover):
            msg.reply.set(await self._recover(msg.info))

    def _wal_path(self, info: RunInfo) -> Path:
        return self._wal_dir / f"{info.pk}-{info.key.run_id}.wal"

    async def _open(self, info: RunInfo) -> RunSession:
        assert self._tg is not None
        wal = WalActor(self._wal_path(info), self._fsync_interval)
        await wal.open()
        await self._tg.start(wal.run)
        history = RunHistory(start_time=info.start_time)
        s = RunSession(info.key, info.pk, wal, history, info, ingested_seq=info.ingested_seq)
        self._sessions[info.key] = s
        # A run without a stream yet is "detached": it must attach within the grace period.
        await self._heartbeat.tell(Detached(s))
        return s

    async def _resume(self, info: RunInfo) -> RunSession:
        """Continue a stored run: rebuild it from its log (if this daemon is not serving it)
        and append a ResumeRecord, so its history goes on after its last step and _runtime
        after the runtime it had."""
        s = self._sessions.get(info.key)
        if s is None:
            s = await self._recover(info)
        h = s.history
        if h.current_step <= info.last_step:  # rows this log does not explain (e.g. imported)
            h.current_step = info.last_step + 1
        runtime = info.summary.get("_runtime", 0.0)
        runtime = float(runtime) if type(runtime) in (int, float) else 0.0
        seq = s.acked_seq + 1
        entry = record_pb2.WalEntry(
            run=run_pb2.RunRef(entity=info.key.entity, project=info.key.project,
                               run_id=info.key.run_id),
            records=[record_pb2.Record(seq=seq, resume=record_pb2.ResumeRecord(
                start_time=time.time() - runtime))],
        )
        s.exit_seq = 0
        s.info.state, s.info.exit_code, s.info.finished_at = RUNNING, 0, 0.0
        await s.wal.ask(lambda r: Append(entry.SerializeToString(), r))
        s.mark_acked(seq)
        await self._history.tell(Ingest(s, [Resume(seq, entry.records[0].resume.start_time)]))
        log.info("run %s: resumed at step %d", info.key, h.current_step)
        return s

    async def _recover(self, info: RunInfo) -> RunSession:
        """Rebuild a run from its log: state up to ``ingested_seq`` silently, the rest is sent
        to the history actor as new work."""
        s = await self._open(info)
        records = await anyio.to_thread.run_sync(_read_wal, s.wal.path)
        done = [r for r in records if r.seq <= info.ingested_seq]
        rest = [r for r in records if r.seq > info.ingested_seq]
        await anyio.to_thread.run_sync(_replay, s.history, done)
        if records:
            s.mark_acked(records[-1].seq)
        for r in records:
            if isinstance(r, Exit):
                s.exit_seq, s.exit_code = r.seq, r.exit_code
            elif isinstance(r, Resume):
                s.exit_seq = 0
        if rest:
            log.info("run %s: recovering %d records from its log", info.key, len(rest))
            await self._history.tell(Ingest(s, rest))
        return s


def _read_wal(path: Path) -> list[Decoded]:
    """Every distinct record of a run's log, in seq order (duplicates from resends dropped)."""
    if not path.exists():
        return []
    by_seq: dict[int, Decoded] = {}
    for payload in read_records(path):
        _ref, records = parse_batch(payload)
        for r in records:
            by_seq.setdefault(r.seq, r)
    out = [by_seq[k] for k in sorted(by_seq)]
    # Keep only the contiguous prefix: a gap would mean a lost batch, never acknowledged.
    for i, r in enumerate(out):
        if r.seq != i + 1:
            return out[:i]
    return out


def _replay(h: RunHistory, records: list[Decoded]) -> None:
    """Rebuild history state from records whose effects are already in the store."""
    for r in records:
        if isinstance(r, History):
            h.on_history(r.data, r.step, r.commit, r.timestamp)
        elif isinstance(r, Summary):
            h.on_summary(r.updates, r.removes)
        elif isinstance(r, Metric):
            h.on_metric(r.definition, r.overwrite)
        elif isinstance(r, Exit):
            h.on_exit()
        elif isinstance(r, Resume):
            h.start_time = r.start_time
    h.take_rows()
    h.summary_dirty = False
