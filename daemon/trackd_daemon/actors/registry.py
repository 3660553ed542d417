"""RunRegistry: the live runs of this daemon, keyed by (entity, project, run_id).

It creates runs (store row, write-ahead log, history state), rebuilds runs that were still
running when the daemon last stopped (recovery from their logs), attaches and detaches client
streams, and retires runs when they finish or crash. Each live run's WalActor runs in the
registry's task group, so closing the registry drains and closes every log.

Creates of different runs are handled concurrently (each waits on the store, and the store
commits the writes queued together in one transaction), so a process starting a run does not
queue behind dozens of others. Everything for one run key stays in order: while a create of a
key is in progress, later messages for that key wait behind it, so a create, a resume and an
attach of the same run never race.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from trackd._shared.history import RunHistory
from trackd._shared.run_fields import ConfigSize
from trackd._shared.values import pack_map
from trackd._shared.walfile import read_records
from trackd.v1 import record_pb2
from trackd_daemon.actors.base import Actor, MailboxStats, Reply
from trackd_daemon.actors.heartbeat import Attached, Detached, HeartbeatActor
from trackd_daemon.actors.history import PRIMARY_ONLY, Barrier, HistoryActor, Ingest
from trackd_daemon.actors.wal import Append, WalActor
from trackd_daemon.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    RunEndingError,
    RunFinishedError,
    RunNotFoundError,
    ShuttingDownError,
)
from trackd_daemon.records import (
    Alert,
    Config,
    Decoded,
    Exit,
    History,
    Metric,
    Preempting,
    Resume,
    Rewind,
    Summary,
    alert_suppressed,
    each_seq,
    last_seq,
    metric_to_pb,
    parse_batch,
)
from trackd_daemon.run_limits import check_config
from trackd_daemon.session import RunSession
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import CRASHED, RUNNING, NewRun, RunChanges, RunInfo, RunKey

log = logging.getLogger("trackd.daemon.registry")

#: Records per log entry when the daemon copies rows (fork, rewind): bounds one entry's size.
COPY_BATCH = 1000
#: Messages taken out of the mailbox and not yet handled: creates in progress, and messages
#: waiting behind a create of the same run. Bounds the work in flight, so that under a storm
#: the backlog stays in the bounded mailbox and its senders wait there. 64 creates share one
#: store transaction (the group commit's size); more in flight would only queue at the store.
MAX_IN_FLIGHT = 64


def _number(value: object) -> float:
    return float(value) if type(value) in (int, float) else 0.0  # type: ignore[arg-type]


@dataclass(frozen=True)
class Create:
    """Create a run (a fork, with ``fork_from``), or continue an existing one when ``resume``
    allows it (rewinding it, with ``rewind_to``). The reply is the stored run, its live session
    (none for a retried create of a run that finished since), whether it was continued, and the
    step its history continues at."""

    new: NewRun
    resume: str  # "never", "allow" or "must"
    reply: Reply[tuple[RunInfo, RunSession | None, bool, int]]  # ..., resumed, starting step
    fork_from: tuple[str, int] | None = None  # (source run id, step)
    rewind_to: int | None = None  # with resume="must": the step to go back to
    shared: bool = False  # join the run unchanged when it exists
    writer: str = ""  # shared: the writer creating or joining ("" is the primary)
    #: Called with an existing run and "read" (a fork's source) or "write" (a run continued,
    #: joined or re-created by a retry) before it is touched; raises PermissionDeniedError.
    allow: Callable[[RunInfo, str], None] = lambda info, mode: None


@dataclass(frozen=True)
class Attach:
    """A stream wants to write to ``key`` as ``writer``; the newest stream of a writer owns
    it."""

    key: RunKey
    token: object
    reply: Reply[RunSession]
    writer: str = ""
    #: Called with the run and "write" before anything changes (see ``Create.allow``).
    allow: Callable[[RunInfo, str], None] = lambda info, mode: None


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
class Expire:
    """The grace period of ``session`` ran out with no stream (the heartbeat's word): replies
    True, and the session takes no stream from then on, if it still has none; False when one
    attached meanwhile (the run goes on). Decided here, in order with the attaches."""

    session: RunSession
    reply: Reply[bool]


@dataclass(frozen=True)
class Retire:
    """The run finished or crashed: close its log and forget it."""

    session: RunSession


@dataclass(frozen=True)
class Recover:
    """Rebuild a run that was running when the daemon stopped."""

    info: RunInfo
    reply: Reply[RunSession]


@dataclass(frozen=True)
class Remove:
    """Delete the stored run ``key``, which must not be live: its write-ahead log, then the
    run in the store (``MetadataStore.delete_run``; replies with what that returns). Served
    like a create, so that a create, resume or attach of the key waits behind it."""

    key: RunKey
    reply: Reply[int]


RegistryMsg = Create | Attach | Detach | Lookup | Expire | Retire | Recover | Remove


def _key(msg: RegistryMsg) -> RunKey:
    if isinstance(msg, Create):
        return msg.new.key
    if isinstance(msg, (Expire, Retire)):
        return msg.session.key
    if isinstance(msg, Recover):
        return msg.info.key
    return msg.key


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
        #: Keys with a create in progress -> the messages for that key that came after it.
        self._busy: dict[RunKey, deque[RegistryMsg]] = {}
        self._in_flight = anyio.Semaphore(MAX_IN_FLIGHT)

    # -- views (read-only, safe from any task) --------------------------------------------------

    @property
    def runs_in_flight(self) -> int:
        return len(self._sessions)

    def session_stats(self) -> list[MailboxStats]:
        return [s.wal.statistics() for s in self._sessions.values()]

    # -- loop ----------------------------------------------------------------------------------

    async def loop(self) -> None:
        async with anyio.create_task_group() as tg:  # the runs' log actors
            self._tg = tg
            async with anyio.create_task_group() as work:  # creates in progress
                async for msg in self._recv:
                    key = _key(msg)
                    if not (isinstance(msg, (Create, Remove)) or key in self._busy):
                        await self._handle_one(msg)  # quick: nothing of its run is in progress
                        continue
                    await self._in_flight.acquire()  # full: the backlog waits in the mailbox
                    waiting = self._busy.get(key)  # (again: the acquire may have waited)
                    if waiting is not None:
                        waiting.append(msg)
                    elif isinstance(msg, (Create, Remove)):
                        self._busy[key] = deque()
                        work.start_soon(self._serve, key, msg)
                    else:
                        self._in_flight.release()
                        await self._handle_one(msg)
            for s in list(self._sessions.values()):
                s.wal.close()

    async def _serve(self, key: RunKey, msg: RegistryMsg) -> None:
        """Handle a create, then the messages for its key that queued behind it, in order."""
        waiting = self._busy[key]
        try:
            while True:
                await self._handle_one(msg)
                self._in_flight.release()
                if not waiting:
                    del self._busy[key]  # no await since the check: nothing is left behind
                    return
                msg = waiting.popleft()
        except BaseException:
            # Cancelled (the daemon is stopping) or failed: nobody may wait on a lost reply.
            for m in (msg, *waiting):
                reply = getattr(m, "reply", None)
                if reply is not None:
                    reply.fail(ShuttingDownError("the daemon is stopping; retry"))
            self._busy.pop(key, None)
            raise

    async def _handle_one(self, msg: RegistryMsg) -> None:
        try:
            await self._handle(msg)
        except Exception as exc:
            reply = getattr(msg, "reply", None)
            if reply is None:
                raise
            reply.fail(exc)

    async def _handle(self, msg: RegistryMsg) -> None:
        if isinstance(msg, Create):
            if msg.shared:
                try:
                    existing = await self._store.get_run(msg.new.key)
                except RunNotFoundError:
                    pass
                else:
                    msg.allow(existing, "write")
                    s = self._sessions.get(existing.key)
                    if s is None:
                        if existing.state != RUNNING:
                            raise RunFinishedError(
                                f"run {existing.key} is {existing.state}; it cannot be joined",
                                run=str(existing.key))
                        s = await self._recover(existing)
                    s.share(primary_here=not msg.writer)
                    msg.reply.set((s.info, s, False, s.info.last_step + 1))
                    return
            if msg.resume != "never":
                try:
                    existing = await self._store.get_run(msg.new.key)
                except RunNotFoundError:
                    if msg.resume == "must":
                        raise RunNotFoundError(
                            f"run {msg.new.key} does not exist, so it cannot be resumed "
                            "(resume='must')", run=str(msg.new.key)) from None
                else:
                    msg.allow(existing, "write")
                    if msg.rewind_to is not None:
                        s, start = await self._rewind(existing, msg.rewind_to), msg.rewind_to + 1
                    else:
                        s, start = await self._resume(existing)
                    msg.reply.set((s.info, s, True, start))
                    return
            if msg.fork_from is not None:
                s = await self._fork(msg.new, *msg.fork_from, msg.allow)
                msg.reply.set((s.info, s, False, msg.fork_from[1] + 1))
                return
            info = await self._store.create_run(msg.new)
            if info.owner_uid != msg.new.owner_uid:  # a retry found the run made earlier
                msg.allow(info, "write")
            s = self._sessions.get(info.key)
            if s is None and info.state == RUNNING:
                # New, or a retried create of a run this daemon is not serving (recover it).
                s = await (self._recover(info) if self._wal_path(info).exists() else self._open(info))
            if s is not None and msg.shared:
                s.share(primary_here=not msg.writer)
            msg.reply.set((info, s, False, 0))
        elif isinstance(msg, Attach):
            s = self._sessions.get(msg.key)
            if s is not None and s.ending:
                raise RunEndingError(f"run {msg.key} is being marked crashed (no stream for its "
                                     "grace period); attach again", run=str(msg.key))
            if s is not None:
                msg.allow(s.info, "write")
            else:
                info = await self._store.get_run(msg.key)
                msg.allow(info, "write")
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
            s.owners[msg.writer] = msg.token
            if s.shared and not msg.writer:
                s.primary_here = True
            await self._heartbeat.tell(Attached(s))
            msg.reply.set(s)
        elif isinstance(msg, Detach):
            s = self._sessions.get(msg.key)
            if s is not None and msg.token in s.tokens:
                s.tokens.discard(msg.token)
                s.streams = len(s.tokens)
                for writer, token in list(s.owners.items()):
                    if token is msg.token:
                        del s.owners[writer]
                await self._heartbeat.tell(Detached(s))
        elif isinstance(msg, Lookup):
            msg.reply.set(self._sessions.get(msg.key))
        elif isinstance(msg, Expire):
            s = msg.session
            s.ending = s.unattended
            msg.reply.set(s.ending)
        elif isinstance(msg, Retire):
            s = msg.session
            s.retired = True
            s.mark_ingested(s.ingested_seq)  # wake waiters
            if self._sessions.get(s.key) is s:
                del self._sessions[s.key]
            s.wal.close()
        elif isinstance(msg, Recover):
            msg.reply.set(await self._recover(msg.info))
        elif isinstance(msg, Remove):
            msg.reply.set(await self._remove(msg.key))

    async def _remove(self, key: RunKey) -> int:
        """Delete a run that is not live. Its log goes first: until the store lets go of the
        run, no other run can be given its pk, and so its log's name."""
        info = await self._store.get_run(key)
        if key in self._sessions or info.state == RUNNING:
            raise FailedPreconditionError(f"run {key} is running; it can be deleted once it "
                                          "has finished")
        # Whatever of the run the history actor still holds is written before it goes.
        await self._history.ask(lambda r: Barrier(r))
        await anyio.to_thread.run_sync(self._wal_path(info).unlink, True)  # missing_ok
        return await self._store.delete_run(key)

    def _wal_path(self, info: RunInfo) -> Path:
        return self._wal_dir / f"{info.pk}-{info.key.run_id}.wal"

    async def _open(self, info: RunInfo, *, recovering: bool = False) -> RunSession:
        """A session for a run, with its log actor running. A new run's log file is created
        by its first append (off the path of CreateRun); a recovered run's is opened first,
        its torn tail cut, before it is read."""
        assert self._tg is not None
        wal = WalActor(self._wal_path(info), self._fsync_interval)
        if recovering:
            await wal.open()
        self._tg.start_soon(wal.run)
        history = RunHistory(start_time=info.start_time)
        s = RunSession(info.key, info.pk, wal, history, info, ingested_seq=info.ingested_seq,
                       crash_grace=info.crash_grace)
        self._sessions[info.key] = s
        # A run without a stream yet is "detached": it must attach within the grace period.
        await self._heartbeat.tell(Detached(s))
        return s

    async def _append(self, s: RunSession, records: list[record_pb2.Record]) -> None:
        """Write daemon-made records into a run's log, in the client's seq space, and ingest
        them (used where the daemon itself continues a run: resume, fork, rewind)."""
        async with s.lock:
            first = s.acked_seq + 1
            for i, rec in enumerate(records):
                rec.seq = first + i
            for start in range(0, len(records), COPY_BATCH):
                entry = record_pb2.WalEntry(records=records[start:start + COPY_BATCH])
                payload = entry.SerializeToString()
                batch = await anyio.to_thread.run_sync(parse_batch, payload)
                await s.wal.ask(lambda r, payload=payload: Append(payload, r))
                s.mark_acked(last_seq(batch.records))
                await self._history.tell(Ingest(s, batch.records))

    async def _resume(self, info: RunInfo) -> tuple[RunSession, int]:
        """Continue a stored run: rebuild it from its log (if this daemon is not serving it)
        and append a ResumeRecord, so its history goes on after its last step and _runtime
        after the runtime it had. Returns the session and the step it continues at."""
        s = self._sessions.get(info.key)
        if s is None:
            s = await self._recover(info)
        runtime = _number(info.summary.get("_runtime"))
        next_step = info.last_step + 1
        s.exit_seq = 0
        s.info.state, s.info.exit_code, s.info.finished_at = RUNNING, 0, 0.0
        await self._append(s, [record_pb2.Record(resume=record_pb2.ResumeRecord(
            start_time=time.time() - runtime, next_step=next_step))])
        log.info("run %s: resumed at step %d", info.key, next_step)
        return s, next_step

    async def _fork(self, new: NewRun, source_id: str, step: int,
                    allow: Callable[[RunInfo, str], None]) -> RunSession:
        """A new run holding ``source_id``'s rows up to ``step``, going on at ``step + 1``."""
        if source_id == new.key.run_id:
            raise InvalidArgumentError("a fork needs a new run id, not the id of its source")
        src = await self._store.get_run(RunKey(new.key.entity, new.key.project, source_id))
        allow(src, "read")
        new.config = {**src.config, **new.config}
        await anyio.to_thread.run_sync(check_config, new.config)  # each fit; together too?
        new.start_time = src.start_time
        new.fork_run_id, new.fork_step = source_id, step
        info = await self._store.create_run(new)
        s = await self._open(info)
        await self._copy(s, src.pk, src.metrics, step, [])
        log.info("run %s: forked from %s at step %d", info.key, source_id, step)
        return s

    async def _rewind(self, info: RunInfo, step: int) -> RunSession:
        """Go back to ``step`` in a stored run: later rows are set aside, state is rebuilt."""
        s = self._sessions.get(info.key)
        if s is None:
            s = await self._recover(info)
        s.exit_seq = 0
        s.info.state, s.info.exit_code, s.info.finished_at = RUNNING, 0, 0.0
        await self._copy(s, info.pk, info.metrics, step,
                         [record_pb2.Record(rewind=record_pb2.RewindRecord(step=step))])
        log.info("run %s: rewound to step %d", info.key, step)
        return s

    async def _copy(self, s: RunSession, source_pk: int, metrics: list[dict[str, object]],
                    step: int, head: list[record_pb2.Record]) -> None:
        """Feed a run ``head``, the metric definitions, the rows of ``source_pk`` up to
        ``step`` (as committed history records) and a ResumeRecord continuing at step + 1."""
        records = list(head)
        for d in metrics:
            records.append(record_pb2.Record(metric=record_pb2.MetricRecord(
                definition=metric_to_pb(d), overwrite=True)))
        lo, runtime = None, 0.0
        while True:
            rows = await self._store.scan_history(source_pk, lo, step + 1, COPY_BATCH)
            for row_step, row in rows:
                rec = record_pb2.Record()
                h = rec.history
                h.packed_data = pack_map({k: v for k, v in row.items()
                                          if k not in ("_step", "_runtime")})
                h.step, h.commit = row_step, True
                h.timestamp = _number(row.get("_timestamp"))
                runtime = _number(row.get("_runtime"))
                records.append(rec)
            if len(rows) < COPY_BATCH:
                break
            lo = rows[-1][0] + 1
        records.append(record_pb2.Record(resume=record_pb2.ResumeRecord(
            start_time=time.time() - runtime, next_step=step + 1)))
        await self._append(s, records)

    async def _recover(self, info: RunInfo) -> RunSession:
        """Rebuild a run from its log: the state up to each writer's ingested seq silently,
        the rest is sent to the history actor as new work."""
        s = await self._open(info, recovering=True)
        entries = await anyio.to_thread.run_sync(_read_wal, s.wal.path)

        def ingested(writer: str) -> int:
            return info.writer_seqs.get(writer, 0) if writer else info.ingested_seq

        done = [r for w, r in entries if r.seq <= ingested(w)
                and not (w and isinstance(r, PRIMARY_ONLY))]
        rest = [(w, r) for w, r in entries if r.seq > ingested(w)]
        await anyio.to_thread.run_sync(_replay, s.history, done)
        if info.shared:  # from here on the history state says what of the summary changes
            s.share(primary_here=any(not w for w, _ in entries))
        pending = [r for w, r in rest if not w and isinstance(r, Config)]
        if pending:  # config in the log, not stored yet: the run's size counts it already
            s.config_size = await anyio.to_thread.run_sync(_config_size, info.config, pending)
        for w, r in entries:
            if w:
                state = s.writer(w)
                state.acked_seq = r.seq
                state.done = state.done or isinstance(r, Exit)
                if isinstance(r, Alert) and r.seq <= ingested(w):
                    alert_suppressed(s.alert_last, r)
                continue
            s.acked_seq = r.seq
            if isinstance(r, Exit):
                s.exit_seq, s.exit_code = r.seq, r.exit_code
            elif isinstance(r, Resume):
                s.exit_seq = 0
                s.preempting = False
            elif isinstance(r, Preempting):
                s.preempting = True
            elif isinstance(r, Alert) and r.seq <= info.ingested_seq:
                alert_suppressed(s.alert_last, r)  # rebuild the rate limit of stored alerts
        # A run this daemon has no log of, or an older one (it was written through another
        # daemon since: resumed there, say): its records go on after what the store holds.
        s.mark_acked(max(s.acked_seq, info.ingested_seq))
        if rest:
            log.info("run %s: recovering %d records from its log", info.key, len(rest))
            group: list[Decoded] = []
            for k, (w, r) in enumerate(rest):  # consecutive records of one writer together
                group.append(r)
                if k + 1 == len(rest) or rest[k + 1][0] != w:
                    await self._history.tell(Ingest(s, group, w))
                    group = []
        return s


def _read_wal(path: Path) -> list[tuple[str, Decoded]]:
    """Every distinct record of a run's log with its writer, in log order (resent duplicates
    dropped). A log only ever gets contiguous seqs, so a gap means a damaged block: the records
    around it are kept, and the damage is reported."""
    if not path.exists():
        return []
    out: list[tuple[str, Decoded]] = []
    last: dict[str, int] = {}
    missing = 0
    skipped: list[tuple[int, int]] = []
    for payload in read_records(path, lambda offset, length: skipped.append((offset, length))):
        batch = parse_batch(payload)
        w = batch.writer
        for r in each_seq(batch.records):
            if r.seq <= last.get(w, 0):
                continue
            if w in last:  # a log may start after 1: its run was written elsewhere before
                missing += r.seq - last[w] - 1
            last[w] = r.seq
            out.append((w, r))
    if skipped:
        log.warning("%s: skipped %d damaged block(s) (%d bytes, at offsets %s); %d record(s) "
                    "were lost with them, the others were recovered", path, len(skipped),
                    sum(n for _, n in skipped), ", ".join(str(o) for o, _ in skipped[:10]),
                    missing)
    return out


def _config_size(config: dict[str, object], pending: list[Config]) -> ConfigSize:
    """The size of ``config`` once the logged (already accepted) ``pending`` records apply."""
    size = ConfigSize(config)
    change = size.change()
    for r in pending:
        change.add(r.update, r.remove, check=False)
    change.commit()
    return size


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
            h.on_resume(r.start_time, r.next_step)
        elif isinstance(r, Rewind):
            h.on_rewind()
    h.take_rows()
    h.summary_dirty = False
