"""HistoryActor: turns accepted records into history rows, summary, config and run metadata,
and writes them to the store, one transaction per round.

A round takes every queued message (up to ``ROUND_LIMIT``), applies the records of each run to
that run's :class:`~trackd._shared.history.RunHistory` in a worker thread, then commits all
resulting rows and run changes together with each run's new ``ingested_seq``. Rows are keyed
by (run, step) in the store, so replaying records after a crash never writes a row twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread

from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.errors import ResourceExhaustedError
from trackd_daemon.records import (
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
    RunUpdate,
    Summary,
    alert_suppressed,
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
)
from trackd_daemon.store.run_data_models import ConsoleLine

log = logging.getLogger("trackd.daemon.history")

#: Messages taken per round: bounds one store transaction to a few thousand rows.
ROUND_LIMIT = 64


@dataclass(frozen=True)
class Ingest:
    """Records of one run, already in its write-ahead log (``writer``: whose seq space)."""

    session: RunSession
    records: list[Decoded]
    writer: str = ""


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
    #: every queued batch is already in its run's write-ahead log.
    mailbox_size = 32
    name = "history"

    def __init__(self, store: MetadataStore, on_alerts: Callable[[], None] = lambda: None,
                 on_sweep_runs: Callable[[set[str]], None] = lambda ids: None) -> None:
        super().__init__()
        self._store = store
        self._on_alerts = on_alerts  # new alerts are in the store: tell the notifier
        #: Runs of these sweeps logged or ended (in the store): tell the sweep controller.
        self._on_sweep_runs = on_sweep_runs

    async def loop(self) -> None:
        async for msg in self._recv:
            await self._round([msg, *self.drain_nowait(ROUND_LIMIT - 1)])

    async def _round(self, msgs: list[HistoryMsg]) -> None:
        changes, touched = await anyio.to_thread.run_sync(_apply, msgs)
        delay = 0.5
        while True:  # a full store: keep the round (its records are in the logs) and retry
            try:
                await self._store.apply(changes)
                break
            except ResourceExhaustedError as exc:
                log.warning("%s; retrying in %.1fs", exc.message, delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, 10.0)
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


def _apply(msgs: list[HistoryMsg]) -> tuple[list[RunChanges], list[tuple[RunSession, int]]]:
    """Apply a round's records (worker thread; the actor loop waits, so state is not shared)."""
    by_run: dict[int, RunChanges] = {}
    touched: dict[int, tuple[RunSession, int]] = {}
    now = time.time()
    for msg in msgs:
        if isinstance(msg, Barrier):
            continue
        s = msg.session
        ch = by_run.get(s.pk)
        if ch is None:
            ch = by_run[s.pk] = RunChanges(pk=s.pk, ingested_seq=s.ingested_seq, updated_at=now)
        if isinstance(msg, Crash):
            s.history.on_exit()
            state = PREEMPTED if s.preempting else KILLED if s.stop_requested else CRASHED
            ch.state, ch.finished_at = state, now
            s.info.state = state
        elif msg.writer:
            for rec in msg.records:
                if not isinstance(rec, PRIMARY_ONLY):
                    _apply_record(s, rec, ch, now, msg.writer)
            last = msg.records[-1].seq
            ch.writer_seqs[msg.writer] = max(ch.writer_seqs.get(msg.writer, 0), last)
        else:
            for rec in msg.records:
                _apply_record(s, rec, ch, now)
            ch.ingested_seq = max(ch.ingested_seq, msg.records[-1].seq)
        ch.rows.extend(s.history.take_rows())
        if s.history.summary_dirty:
            ch.summary = s.history.summary
            s.history.summary_dirty = False
        touched[s.pk] = (s, ch.ingested_seq)
    return list(by_run.values()), list(touched.values())


def _apply_record(s: RunSession, rec: Decoded, ch: RunChanges, now: float,
                  writer: str = "") -> None:
    h = s.history
    if isinstance(rec, History):
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
        ch.config = cfg
    elif isinstance(rec, Metric):
        h.on_metric(rec.definition, rec.overwrite)
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
