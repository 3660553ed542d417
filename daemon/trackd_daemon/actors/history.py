"""HistoryActor: turns accepted records into history rows, summary, config and run metadata,
and writes them to the store, one transaction per round.

A round takes every queued message (up to ``ROUND_LIMIT``), applies the records of each run to
that run's :class:`~trackd._shared.history.RunHistory` in a worker thread, then commits all
resulting rows and run changes together with each run's new ``ingested_seq``. Rows are keyed
by (run, step) in the store, so replaying records after a crash never writes a row twice.

When the store cannot take a round (a team database that cannot be reached, a full disk), the
round is kept and retried with backoff, and the actor goes on taking messages meanwhile into a
backlog (bounded by ``BACKLOG_RECORDS``), so that streams keep being acknowledged: every record
is in its run's write-ahead log already. One warning says so when it starts and one line when
the store is back; the backlog is then stored in order, a round at a time.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from operator import itemgetter

import anyio
import anyio.to_thread

from trackd._shared.history import RunHistory
from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.errors import ResourceExhaustedError, StoreUnavailableError
from trackd_daemon.records import (
    INLINE_BYTES,
    Alert,
    Config,
    Console,
    Decoded,
    Exit,
    History,
    Metric,
    Preempting,
    Resume,
    Rewind,
    Rows,
    RunUpdate,
    Summary,
    alert_suppressed,
    last_seq,
    metric_to_dict,
)
from trackd_daemon.session import RunSession
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import (
    CRASHED,
    FAILED,
    FINISHED,
    KILLED,
    PREEMPTED,
    RUNNING,
    NewAlert,
    RunChanges,
    SharedDelta,
)
from trackd_daemon.store.run_data_models import ConsoleLine

log = logging.getLogger("trackd.daemon.history")

#: Messages taken per round: bounds one store transaction to a few thousand rows.
ROUND_LIMIT = 64
#: Records held in the backlog while a round waits for the store (see the module doc). Decoded
#: records are about 1 KiB each as Python objects, so this holds ~100 MiB: a team database
#: restarting or a minute of an outage at tens of thousands of rows a second. When it is full
#: the actor stops taking messages: the mailbox fills, streams wait, clients buffer (bounded)
#: or block; still nothing is lost, the records being in the write-ahead logs.
BACKLOG_RECORDS = 100_000
#: Encoded bytes of the record batches that streams decoded for this actor and it has not
#: stored yet. Decoded, a batch is several times its size in Python objects (a row of 1,000
#: floats: 16 KiB encoded, some 50 KiB decoded), and the mailbox's bound counts batches, not
#: bytes: 32 batches of 4 MiB of wide rows held about 1.5 GiB. A stream waits for room before it
#: decodes a request (so the client waits, its buffer bounded). 2 MiB is two of the Python
#: SDK's requests (about 1 MiB, or 10,000 rows of ten floats): room for one to be decoded while
#: the round before it is stored. A request larger than this (the Node SDK's, up to 4 MiB) goes
#: alone. Measured (2,000 rows of 1,000 floats; 1, 8 and 64 runs at once): 4 MiB took the
#: daemon's peak 7-10 MiB higher for the same throughput; 1 MiB halved the 64-run rate once in
#: two runs; 16 MiB was 20 MiB higher still.
INFLIGHT_BYTES = 2 * 1024 * 1024
#: Seconds a store call may take before the actor takes messages into the backlog while it
#: waits (a healthy store answers in milliseconds; an unreachable one only after its timeout).
SLOW_STORE_SECONDS = 1.0
#: Backoff between tries of a round the store did not take: first and largest delay.
RETRY_FIRST, RETRY_MAX = 0.5, 10.0


@dataclass(frozen=True)
class Ingest:
    """Records of one run, already in its write-ahead log (``writer``: whose seq space)."""

    session: RunSession
    records: list[Decoded]
    writer: str = ""
    #: Encoded bytes reserved for it (``HistoryActor.room``), given back once it is stored.
    size: int = 0


@dataclass(frozen=True)
class Crash:
    """The run's client is gone: write the pending row, mark the run crashed."""

    session: RunSession
    reply: Reply[None]


@dataclass(frozen=True)
class Barrier:
    """Replies once everything queued before it is in the store."""

    reply: Reply[None]


HistoryMsg = Ingest | Crash | Barrier

#: Records another writer of a shared run may not apply: the primary writer owns the run's
#: metadata and end (another writer's exit record ends only that writer). Config records merge
#: key by key from any writer: a process attached to the run (trackd._attach) sends its updates
#: as the run's, while shared mode's other writers keep their config local and send none.
PRIMARY_ONLY = (RunUpdate, Exit, Resume, Rewind, Preempting)


class HistoryActor(Actor[HistoryMsg]):
    #: Each message is one decoded client batch (up to 1,000 rows or 4 MiB encoded, which can
    #: be tens of MiB as Python objects). 32 of them keep the actor busy while bounding memory;
    #: when full, streams stop reading, and clients buffer (bounded) or block. Nothing is lost:
    #: every queued batch is already in its run's write-ahead log. While a round waits for the
    #: store, messages move on from here into the backlog (``BACKLOG_RECORDS``).
    mailbox_size = 32
    name = "history"

    def __init__(self, store: MetadataStore, on_alerts: Callable[[], None] = lambda: None,
                 on_sweep_runs: Callable[[set[str]], None] = lambda ids: None) -> None:
        super().__init__()
        self._store = store
        self._on_alerts = on_alerts  # new alerts are in the store: tell the notifier
        #: Runs of these sweeps logged or ended (in the store): tell the sweep controller.
        self._on_sweep_runs = on_sweep_runs
        #: Messages taken while a round waited for the store (records counted for the bound).
        self._backlog: deque[HistoryMsg] = deque()
        self._backlog_records = 0
        self._closing = False  # the mailbox was closed while a round waited
        self._outage_since: float | None = None  # monotonic time of the first failed try
        self._inflight = 0  # bytes reserved (see INFLIGHT_BYTES)
        self._freed: anyio.Event | None = None  # set when bytes are given back

    async def room(self, size: int) -> None:
        """Wait until a request of ``size`` encoded bytes may be decoded for this actor, and
        reserve them: pass them to :class:`Ingest` (given back once it is stored), or give them
        back with :meth:`give_back` when no Ingest carries them."""
        while self._inflight and self._inflight + size > INFLIGHT_BYTES:
            if self._freed is None:
                self._freed = anyio.Event()
            await self._freed.wait()
        self._inflight += size

    def give_back(self, size: int) -> None:
        """Give back bytes :meth:`room` reserved."""
        if not size:
            return
        self._inflight -= size
        freed, self._freed = self._freed, None
        if freed is not None:
            freed.set()

    async def loop(self) -> None:
        while True:
            if not self._backlog:
                try:
                    self._hold(await self._recv.receive())
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    return
            msgs = [self._backlog.popleft() for _ in range(min(ROUND_LIMIT, len(self._backlog)))]
            self._backlog_records -= sum(_records(m) for m in msgs)
            msgs += self.drain_nowait(ROUND_LIMIT - len(msgs))
            if not await self._round(msgs):
                return
            del msgs  # stored: the round's records are not held while the next ones are awaited

    def _hold(self, msg: HistoryMsg) -> None:
        self._backlog.append(msg)
        self._backlog_records += _records(msg)

    async def _round(self, msgs: list[HistoryMsg]) -> bool:
        """Apply and store one round; False when the daemon stops while the store is away."""
        if all(type(m) is Ingest and 0 < m.size for m in msgs) and sum(
                m.size for m in msgs) <= INLINE_BYTES:  # type: ignore[union-attr]
            changes, touched = _apply(msgs)  # a small round (see INLINE_BYTES)
        else:
            changes, touched = await anyio.to_thread.run_sync(_apply, msgs)
        if not await self._store_round(changes):
            # Stopping with the store away: the records stay in the write-ahead logs, and the
            # next start ingests them (a run's recovery replays what its stored
            # ingested_seq lacks).
            log.warning("stopping while the store is unreachable: %d message(s) not stored; "
                        "they are in the runs' write-ahead logs and are stored at the next "
                        "start", len(msgs) + len(self._backlog))
            error = StoreUnavailableError("the daemon stopped while the store was unreachable")
            for m in [*msgs, *self._backlog]:
                if isinstance(m, (Crash, Barrier)):
                    m.reply.fail(error)
            return False
        self.give_back(sum(m.size for m in msgs if isinstance(m, Ingest)))
        if any(ch.alerts for ch in changes):
            self._on_alerts()
        for session, seq in touched:
            session.mark_ingested(seq)
        sweeps = {s.info.sweep_id for s, _ in touched if s.info.sweep_id}
        if sweeps:
            self._on_sweep_runs(sweeps)
        for m in msgs:
            if isinstance(m, (Crash, Barrier)):
                m.reply.set(None)
        return True

    async def _store_round(self, changes: list[RunChanges]) -> bool:
        """Store a round, retrying with backoff while the store cannot take it (the round's
        records are in the logs), taking messages into the backlog meanwhile. False: the
        mailbox was closed (the daemon stops) while the store was away."""
        delay = RETRY_FIRST
        while True:
            error = await self._attempt(changes)
            if error is None:
                if self._outage_since is not None:
                    log.warning("the store is back after %.0f s; storing the %d record(s)"
                                " received meanwhile", time.monotonic() - self._outage_since,
                                self._backlog_records)
                    self._outage_since = None
                return True
            if self._outage_since is None:
                self._outage_since = time.monotonic()
                log.warning("%s; records are still accepted (they are in the write-ahead"
                            " logs) and are stored when it is back: retrying with backoff up"
                            " to %.0f s", error.message, RETRY_MAX)
            if self._closing:
                return False
            await self._take_during(functools.partial(anyio.sleep, delay))
            delay = min(delay * 2, RETRY_MAX)

    async def _attempt(self, changes: list[RunChanges]
                       ) -> StoreUnavailableError | ResourceExhaustedError | None:
        """One try of ``store.apply``; the error when the store could not take the round.
        When it takes longer than ``SLOW_STORE_SECONDS``, messages go to the backlog while it
        goes on (it is never cancelled: a store call cut short could have committed)."""
        result: list[Exception | None] = [None]

        async def apply() -> None:
            try:
                await self._store.apply(changes)
            except Exception as exc:  # noqa: BLE001 - raised below, outside the task group
                result[0] = exc

        await self._take_during(apply, after=SLOW_STORE_SECONDS)
        error = result[0]
        if error is None or isinstance(error, (StoreUnavailableError, ResourceExhaustedError)):
            return error
        raise error

    async def _take_during(self, fn: Callable[[], Awaitable[None]], *, after: float = 0.0
                           ) -> None:
        """Await ``fn()`` and, from ``after`` seconds on, take messages into the backlog (up to
        its bound) meanwhile. Messages are only held here, not applied: applying them changes
        run state that a round in flight may still be reading."""
        async def take() -> None:
            await anyio.sleep(after)
            while self._backlog_records < BACKLOG_RECORDS:
                try:
                    msg = await self._recv.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    self._closing = True
                    return
                self._hold(msg)

        async with anyio.create_task_group() as tg:
            tg.start_soon(take)
            await fn()
            tg.cancel_scope.cancel()

def _records(msg: HistoryMsg) -> int:
    """The records ``msg`` stands for (a :class:`Rows` counts a record a row)."""
    if isinstance(msg, Ingest) and msg.records:
        return last_seq(msg.records) - msg.records[0].seq + 1
    return 1

def _apply(msgs: list[HistoryMsg]) -> tuple[list[RunChanges], list[tuple[RunSession, int]]]:
    """Apply a round's records (in a worker thread, or on the event loop for a small round:
    the actor loop waits for it either way, so state is not shared)."""
    by_run: dict[int, RunChanges] = {}
    touched: dict[int, tuple[RunSession, int]] = {}
    now = time.time()
    for msg in msgs:
        if isinstance(msg, Barrier):
            continue
        s = msg.session
        ch = by_run.get(s.pk)
        if ch is None:
            ch = by_run[s.pk] = RunChanges(pk=s.pk, ingested_seq=s.ingested_seq, updated_at=now,
                                           shared=SharedDelta() if s.shared else None)
        if isinstance(msg, Crash):
            s.history.on_exit()
            if s.ends_run:  # else only this daemon's writers are gone: the run goes on
                state = PREEMPTED if s.preempting else KILLED if s.stop_requested else CRASHED
                ch.state, ch.finished_at = state, now
                s.info.state = state
        elif msg.writer:
            for rec in msg.records:
                if not isinstance(rec, PRIMARY_ONLY):
                    _apply_record(s, rec, ch, now, msg.writer)
            last = last_seq(msg.records)
            ch.writer_seqs[msg.writer] = max(ch.writer_seqs.get(msg.writer, 0), last)
        else:
            _apply_records(s, msg.records, ch, now)
            ch.ingested_seq = max(ch.ingested_seq, last_seq(msg.records))
        if ch.shared is not None and isinstance(msg, Ingest):
            ch.shared.mark = (msg.writer, last_seq(msg.records))
        ch.rows.extend(s.history.take_rows())
        h = s.history
        if h.summary_dirty:
            if ch.shared is not None and h.summary_changes is not None:
                for k in h.summary_changes:  # only what changed: other daemons' keys stay
                    if k in h.summary:
                        ch.shared.summary_set[k] = h.summary[k]
                        ch.shared.summary_removed.discard(k)
                    else:
                        ch.shared.summary_set.pop(k, None)
                        ch.shared.summary_removed.add(k)
                h.summary_changes.clear()
            else:
                ch.summary = h.summary
            h.summary_dirty = False
        touched[s.pk] = (s, ch.ingested_seq)
    return list(by_run.values()), list(touched.values())


def _apply_records(s: RunSession, records: list[Decoded], ch: RunChanges, now: float) -> None:
    """Apply the primary writer's records in order; each run of rows without step or commit
    (most of them) goes to the run's history in one call."""
    start = -1  # where the current run of History records without step or commit began
    for i, rec in enumerate(records):
        if type(rec) is History and rec.step is None and rec.commit is None:
            if start < 0:
                start = i
            continue
        if start >= 0:
            _apply_rows(s.history, records[start:i])  # type: ignore[arg-type]
            start = -1
        _apply_record(s, rec, ch, now)
    if start >= 0:
        _apply_rows(s.history, records[start:] if start else records)  # type: ignore[arg-type]


#: The fields of a History record, taken from many at once in C.
_DATA, _STAMP = itemgetter(1), itemgetter(4)


def _apply_rows(h: RunHistory, rows: list[History]) -> None:
    """``h.on_rows`` for ``rows``, History records without step or commit."""
    h.on_rows(list(zip(map(_DATA, rows), map(_STAMP, rows))))


def _apply_packed(h: RunHistory, rows: Rows) -> None:
    """Rows that stay packed into ``h``: stored as they came, with ``_step``, ``_runtime``
    and ``_timestamp`` spliced in, in bulk (see ``Layout.stored_many``); only the last is
    decoded, for the summary (their keys are the same), with the keys the daemon adds, as
    on_rows gives it."""
    if not h.plain_summary:  # the summary needs each row's values
        h.on_rows(rows.decoded())
        return
    blobs, stamps = rows.blobs, rows.timestamps
    if h.has_pending:  # a partial row (commit=False) takes the first
        h.on_history(rows.layout.row(blobs[0]), None, None, stamps[0])
        blobs, stamps = blobs[1:], stamps[1:]
        if not blobs:
            return
    step, begin = h.current_step, h.start_time
    last = len(blobs) - 1
    stored = rows.layout.stored_many(blobs, stamps, step, begin)
    ts = stamps[last]
    row = rows.layout.row(blobs[last])
    row["_step"], row["_runtime"], row["_timestamp"] = step + last, max(0.0, ts - begin), ts
    h.add_encoded_rows(stored, [row], ts)


def _apply_record(s: RunSession, rec: Decoded, ch: RunChanges, now: float,
                  writer: str = "") -> None:
    h = s.history
    if isinstance(rec, Rows):
        _apply_packed(h, rec)
    elif isinstance(rec, History):
        notice = h.on_history(rec.data, rec.step, rec.commit, rec.timestamp)
        if notice:
            log.info("run %s: %s", s.key, notice)
    elif isinstance(rec, Summary):
        h.on_summary(rec.updates, rec.removes)
    elif isinstance(rec, Config):
        cfg = s.info.config
        cfg.update(rec.update)
        for k in rec.remove:
            cfg.pop(k, None)
        if ch.shared is not None:  # key by key: other daemons' writers may change others
            ch.shared.config_set.update(rec.update)
            ch.shared.config_removed.difference_update(rec.update)
            for k in rec.remove:
                ch.shared.config_set.pop(k, None)
                ch.shared.config_removed.add(k)
        else:
            ch.config = cfg
    elif isinstance(rec, Metric):
        defined = h.on_metric(rec.definition, rec.overwrite)
        if ch.shared is not None:  # by name, as for the summary
            ch.shared.metrics[defined.name] = metric_to_dict(defined)
        else:
            ch.metrics = [metric_to_dict(d) for d in h.metrics.values()]
    elif isinstance(rec, RunUpdate):
        for name, value in rec.fields.items():
            setattr(ch, name, value)
            setattr(s.info, name, value)
    elif isinstance(rec, Exit):
        h.on_exit()
        state = KILLED if s.stop_requested else FINISHED if rec.exit_code == 0 else FAILED
        ch.state, ch.exit_code, ch.finished_at = state, rec.exit_code, now
        s.info.state, s.info.exit_code, s.info.finished_at = state, rec.exit_code, now
        ch.purge_rewound = True
    elif isinstance(rec, Rewind):
        # Rows this round wrote after the rewind step are set aside as well (never stored).
        ch.rows.extend(h.take_rows())
        ch.rows = [(step, row) for step, row in ch.rows if step <= rec.step]
        ch.rewind_after = rec.step
        h.on_rewind()
    elif isinstance(rec, Preempting):
        s.preempting = True
    elif isinstance(rec, Alert):
        suppressed = alert_suppressed(s.alert_last, rec)
        ch.alerts.append(NewAlert(rec.seq, rec.title, rec.text, rec.level, rec.timestamp,
                                  rec.wait_ms, suppressed))
    elif isinstance(rec, Console):
        ch.console.extend(ConsoleLine(stream, line, ts, text, writer)
                          for stream, line, ts, text in rec.lines)
    elif isinstance(rec, Resume):
        s.preempting = s.stop_requested = False
        h.on_resume(rec.start_time, rec.next_step)
        ch.state, ch.exit_code, ch.finished_at = RUNNING, 0, 0.0
        s.info.state, s.info.exit_code, s.info.finished_at = RUNNING, 0, 0.0
