"""SweepController: the daemon as every sweep's controller.

Agents ask for their next run (:class:`Next`); the controller answers from the sweep's queue
(runs a controller scheduled), or runs the sweep's search (``trackd_daemon.sweeps``, in a worker
thread) and records the proposal before answering, so a proposal is never made twice: the
search is rebuilt from the recorded runs on every call, and an agent retrying a request (same
agent id and request id, e.g. across a daemon restart) gets the run it was given. A paused
sweep, or one whose search belongs to a controller (method ``custom``), holds the agent until
there is something to give or its wait runs out.

The history actor tells the controller which sweeps' runs logged (:meth:`touched`); for a
sweep with ``early_terminate`` the controller then reads its running runs' metric history and
stops those hyperband says fall behind, through the mechanism ``trackd runs stop`` uses (the
run ends killed and is recorded as stopped early). Everything that matters is in the store:
after a restart the controller needs nothing but the store to carry on.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from trackd_daemon.actors.base import Actor, Reply
from trackd_daemon.actors.sweep_messages import (
    Check,
    Create,
    Heartbeat,
    Next,
    NoRun,
    Preview,
    Proposal,
    Schedule,
    SetState,
    Stop,
    SweepMsg,
    search_runs,
)
from trackd_daemon.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    RunNotFoundError,
    ShuttingDownError,
    SweepNotFoundError,
)
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RUNNING, RunKey
from trackd_daemon.store.sweep_models import (
    PENDING,
    SWEEP_CANCELED,
    SWEEP_FINISHED,
    SWEEP_PAUSED,
    SWEEP_RUNNING,
    NewSweep,
    NewSweepRun,
    SweepInfo,
    SweepRunInfo,
)
from trackd_daemon.sweeps import (
    needs_history,
    next_params,
    params_from_run_config,
    runs_to_stop,
    validate_config,
)

log = logging.getLogger("trackd.daemon.sweeps")

#: The longest an agent's NextRun may be held waiting (seconds); it asks again after.
MAX_WAIT_SECONDS = 60.0
#: Agents held waiting on one sweep. Each is one agent's outstanding NextRun; past this many a
#: request is answered "ask again" at once, so a flood of agents cannot grow memory unbounded.
MAX_WAITERS = 1024
#: The least time between two early-termination checks of a sweep (seconds): a check reads
#: every running run's metric history, and runs log far more often than hyperband's bands move.
CHECK_INTERVAL = 1.0
#: An agent heard from within this many seconds (asking for a run, or its heartbeat, every 5 s
#: by default) keeps the daemon from stopping as idle: it is between runs, not gone.
AGENT_SEEN_SECONDS = 60.0
#: Metric values read per run for hyperband: its bands are iteration counts, and a run that
#: logged more values than this is judged on evenly spaced ones (the store's downsampling).
HISTORY_POINTS = 10_000
#: Run and sweep ids: 8 characters of lower-case letters and digits (as W&B's).
_ID_ALPHABET = string.ascii_lowercase + string.digits

ACTIONS = ("pause", "resume", "finish", "cancel")


def new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))




@dataclass
class _Live:
    """What the controller holds of a sweep between messages (none of it needs to survive a
    restart: agents ask again, and stop requests are made again by the next check)."""

    waiters: list[Next] = field(default_factory=list)
    #: Runs whose agent must stop their process (no live run session to stop them through).
    stop_wanted: set[str] = field(default_factory=set)
    last_check: float = 0.0
    #: The metric history of ended runs (read once; hyperband compares running runs to them).
    ended_histories: dict[str, list[float]] = field(default_factory=dict)


def _seed(sweep_id: str) -> int:
    """The sweep's seed for its search (which mixes in how many runs it has seen): the same
    proposal for the same sweep and recorded runs, so a search redone after a restart proposes
    what the first would have, and a bayes search's quasi-random start is one sequence."""
    digest = hashlib.sha256(sweep_id.encode()).digest()
    return int.from_bytes(digest[:4], "big")


class SweepController(Actor[SweepMsg]):
    #: Requests from agents, controllers and the dashboard, each small. 256 holds a burst from
    #: hundreds of agents at once; when full, their calls wait (gRPC holds them).
    mailbox_size = 256
    name = "sweeps"

    def __init__(self, store: MetadataStore,
                 stop_run: Callable[[RunKey], Awaitable[bool]]) -> None:
        """``stop_run(key)`` asks a live run to stop as ``trackd runs stop`` does; False when
        the run has no live session."""
        super().__init__()
        self._store = store
        self._stop_run = stop_run
        self._live: dict[str, _Live] = {}
        self._dirty: set[str] = set()
        self._check_queued = False
        #: When the sweeps left dirty by a check are due (``anyio.current_time()``).
        self._check_at = math.inf
        self._agent_seen = -math.inf  # time.monotonic() of the last agent request

    # -- calls from elsewhere in the daemon -------------------------------------------------------

    def busy(self) -> bool:
        """Whether agents are using the daemon: one is waiting for a run, or asked for one or
        reported within :data:`AGENT_SEEN_SECONDS` (then the daemon is not idle)."""
        return (any(live.waiters for live in self._live.values())
                or time.monotonic() - self._agent_seen < AGENT_SEEN_SECONDS)

    def touched(self, sweep_ids: Iterable[str]) -> None:
        """Runs of these sweeps logged or ended (the history actor calls it; never waits)."""
        self._dirty.update(sweep_ids)
        if self._dirty and not self._check_queued:
            try:
                self.tell_nowait(Check())
                self._check_queued = True
            except anyio.WouldBlock:
                pass  # a full mailbox: the next message handled runs the check

    async def create(self, entity: str, project: str, config: Any, prior_runs: Sequence[str],
                     owner_uid: int) -> SweepInfo:
        return await self.ask(lambda r: Create(entity, project, config, prior_runs, owner_uid, r))

    async def set_state(self, sweep_id: str, action: str) -> SweepInfo:
        """``action``: pause, resume, finish or cancel.

        :raises SweepNotFoundError: no such sweep.
        :raises FailedPreconditionError: a finished or canceled sweep cannot be resumed or paused.
        """
        return await self.ask(lambda r: SetState(sweep_id, action, r))

    async def next_run(self, sweep_id: str, agent_id: str, request_id: str,
                       wait_seconds: float) -> Proposal | NoRun:
        wait = min(max(wait_seconds, 0.0), MAX_WAIT_SECONDS)
        reply: Reply[Proposal | NoRun] = Reply()
        await self.tell(Next(sweep_id, agent_id, request_id, anyio.current_time() + wait, reply))
        with anyio.move_on_after(wait):
            return await reply.wait()
        info = await self._store.get_sweep(sweep_id)
        return NoRun(False, info.state, "no run yet")

    async def heartbeat(self, sweep_id: str, agent_id: str, running: Sequence[str],
                        exits: Sequence[tuple[str, int]]) -> tuple[list[str], str]:
        return await self.ask(lambda r: Heartbeat(sweep_id, agent_id, running, exits, r))

    async def schedule(self, sweep_id: str,
                       params: Sequence[dict[str, Any]]) -> list[SweepRunInfo]:
        return await self.ask(lambda r: Schedule(sweep_id, params, r))

    async def preview(self, sweep_id: str) -> dict[str, Any] | None:
        return await self.ask(lambda r: Preview(sweep_id, r))

    async def stop_runs(self, sweep_id: str, run_ids: Sequence[str],
                        only_candidates: bool) -> list[str]:
        return await self.ask(lambda r: Stop(sweep_id, run_ids, only_candidates, r))

    # -- the loop -----------------------------------------------------------------------------

    async def loop(self) -> None:
        while True:
            try:
                msg = await self.receive_until(self._check_at)
            except anyio.EndOfStream:
                return
            if msg is None:  # a check put off by CHECK_INTERVAL is due
                msg = Check()
            try:
                await self._handle(msg)
            except Exception as exc:  # noqa: BLE001 - the asker gets it; the loop goes on
                reply = getattr(msg, "reply", None)
                if reply is None:
                    log.exception("sweep check failed")
                else:
                    if not isinstance(exc, (InvalidArgumentError, FailedPreconditionError,
                                            SweepNotFoundError, RunNotFoundError)):
                        log.exception("sweep request %s failed", type(msg).__name__)
                    reply.fail(exc)

    async def stopped(self) -> None:
        """Agents still waiting are told the daemon is going (they ask the next one)."""
        for live in self._live.values():
            for w in live.waiters:
                w.reply.fail(ShuttingDownError("the daemon is stopping; ask again"))
            live.waiters.clear()

    async def _handle(self, msg: SweepMsg) -> None:
        if isinstance(msg, (Next, Heartbeat)):
            self._agent_seen = time.monotonic()
        if isinstance(msg, Next):
            await self._next(msg)
        elif isinstance(msg, Check):
            self._check_queued = False
            self._check_at = math.inf
            await self._check()
        elif isinstance(msg, Heartbeat):
            msg.reply.set(await self._heartbeat(msg))
        elif isinstance(msg, Create):
            msg.reply.set(await self._create(msg))
        elif isinstance(msg, SetState):
            msg.reply.set(await self._set_state(msg.sweep_id, msg.action))
        elif isinstance(msg, Schedule):
            msg.reply.set(await self._schedule(msg))
        elif isinstance(msg, Preview):
            info = await self._store.get_sweep(msg.sweep_id)
            runs = await self._store.list_sweep_runs(msg.sweep_id)
            msg.reply.set(await self._search(info, runs))
        elif isinstance(msg, Stop):
            msg.reply.set(await self._stop_request(msg))

    # -- creating ---------------------------------------------------------------------------------

    async def _create(self, m: Create) -> SweepInfo:
        config = await anyio.to_thread.run_sync(validate_config, m.config)
        entity = m.entity or str(config.get("entity") or "")
        project = m.project or str(config.get("project") or "")
        if not entity or not project:
            raise InvalidArgumentError("a sweep needs an entity and a project")
        prior: list[NewSweepRun] = []
        for run_id in dict.fromkeys(m.prior_runs):
            try:
                run = await self._store.get_run(RunKey(entity, project, run_id))
            except RunNotFoundError:
                raise InvalidArgumentError(
                    f"prior run {run_id!r} is not a run of {entity}/{project}",
                    run_id=run_id) from None
            params = params_from_run_config(config, run.config) or {}
            prior.append(NewSweepRun(run_id, params, prior=True, created_at=run.created_at))
        sweep_id = new_id()
        info = await self._store.create_sweep(NewSweep(
            sweep_id, entity, project, str(config.get("name") or sweep_id), config,
            owner_uid=m.owner_uid))
        if prior:
            await self._store.add_sweep_runs(sweep_id, prior)
            info = await self._store.get_sweep(sweep_id)
        log.info("sweep %s created (%s, %s)", info.key, config.get("method"),
                 f"{len(prior)} prior runs" if prior else "no prior runs")
        return info

    # -- proposing --------------------------------------------------------------------------------

    def _live_of(self, sweep_id: str) -> _Live:
        live = self._live.get(sweep_id)
        if live is None:
            live = self._live[sweep_id] = _Live()
        return live

    async def _next(self, m: Next) -> None:
        claimed = await self._store.find_sweep_claim(m.sweep_id, m.agent_id, m.request_id)
        info = await self._store.get_sweep(m.sweep_id)
        if claimed is not None:
            m.reply.set(Proposal(claimed.run_id, claimed.params, info.entity, info.project))
            return
        if info.state in (SWEEP_FINISHED, SWEEP_CANCELED):
            m.reply.set(NoRun(True, info.state, f"the sweep is {info.state.lower()}"))
            return
        if info.state == SWEEP_PAUSED:
            self._wait(m, info)
            return
        runs = await self._store.list_sweep_runs(m.sweep_id)
        queued = [r for r in runs if not r.agent_id and not r.prior and r.state == PENDING
                  and r.run_id not in self._live_of(m.sweep_id).stop_wanted]
        if queued:
            run = await self._store.claim_sweep_run(m.sweep_id, queued[0].run_id, m.agent_id,
                                                    m.request_id)
            m.reply.set(Proposal(run.run_id, run.params, info.entity, info.project))
            return
        cap = info.config.get("run_cap")
        if cap and sum(1 for r in runs if not r.prior) >= cap:
            await self._finish(info, f"run_cap {cap} reached")
            m.reply.set(NoRun(True, SWEEP_FINISHED, f"run_cap {cap} reached"))
            return
        if info.config.get("method") == "custom":
            self._wait(m, info)  # a controller's search schedules the runs
            return
        params = await self._search(info, runs)
        if params is None:
            reason = "the search proposed every run it has"
            await self._finish(info, reason)
            m.reply.set(NoRun(True, SWEEP_FINISHED, reason))
            return
        taken = {r.run_id for r in runs}
        run_id = new_id()
        while run_id in taken:
            run_id = new_id()
        await self._store.add_sweep_runs(m.sweep_id, [NewSweepRun(
            run_id, params, agent_id=m.agent_id, request_id=m.request_id)])
        m.reply.set(Proposal(run_id, params, info.entity, info.project))

    def _wait(self, m: Next, info: SweepInfo) -> None:
        live = self._live_of(info.sweep_id)
        now = anyio.current_time()
        live.waiters = [w for w in live.waiters if w.deadline > now]
        if len(live.waiters) >= MAX_WAITERS:
            m.reply.set(NoRun(False, info.state, "too many agents waiting; ask again"))
            return
        live.waiters.append(m)

    async def _wake(self, sweep_id: str) -> None:
        """Answer again the agents waiting on the sweep (its state or queue changed)."""
        live = self._live.get(sweep_id)
        if live is None:
            return
        waiting, live.waiters = live.waiters, []
        now = anyio.current_time()
        for w in waiting:
            if w.deadline > now:
                await self._next(w)

    async def _search(self, info: SweepInfo, runs: list[SweepRunInfo]) -> dict[str, Any] | None:
        config = info.config
        if config.get("method") == "custom":
            return None
        view = search_runs(config, runs)
        seed = _seed(info.sweep_id)
        return await anyio.to_thread.run_sync(next_params, config, view, seed)

    async def _finish(self, info: SweepInfo, reason: str) -> None:
        if info.state == SWEEP_RUNNING:
            await self._store.set_sweep_state(info.sweep_id, SWEEP_FINISHED, time.time())
            log.info("sweep %s finished: %s", info.key, reason)
            await self._wake(info.sweep_id)

    async def _schedule(self, m: Schedule) -> list[SweepRunInfo]:
        info = await self._store.get_sweep(m.sweep_id)
        if info.state in (SWEEP_FINISHED, SWEEP_CANCELED):
            raise FailedPreconditionError(f"sweep {info.key} is {info.state.lower()}",
                                          sweep_id=info.sweep_id)
        for p in m.params:
            if not isinstance(p, dict):
                raise InvalidArgumentError("each scheduled run's parameters must be an object")
        taken = {r.run_id for r in await self._store.list_sweep_runs(m.sweep_id)}
        new: list[NewSweepRun] = []
        for params in m.params:
            run_id = new_id()
            while run_id in taken:
                run_id = new_id()
            taken.add(run_id)
            new.append(NewSweepRun(run_id, params))
        added = await self._store.add_sweep_runs(m.sweep_id, new)
        await self._wake(m.sweep_id)
        return added

    # -- state --------------------------------------------------------------------------------

    async def _set_state(self, sweep_id: str, action: str) -> SweepInfo:
        if action not in ACTIONS:
            raise InvalidArgumentError(f"unknown sweep action {action!r}; expected one of "
                                       f"{', '.join(ACTIONS)}")
        info = await self._store.get_sweep(sweep_id)
        ended = info.state in (SWEEP_FINISHED, SWEEP_CANCELED)
        target = {"pause": SWEEP_PAUSED, "resume": SWEEP_RUNNING, "finish": SWEEP_FINISHED,
                  "cancel": SWEEP_CANCELED}[action]
        if ended and action in ("pause", "resume"):
            raise FailedPreconditionError(
                f"sweep {info.key} is {info.state.lower()}; it cannot be {action}d",
                sweep_id=sweep_id)
        if info.state == target or (ended and action == "finish"):
            return info
        info = await self._store.set_sweep_state(sweep_id, target, time.time())
        log.info("sweep %s: %s -> %s", info.key, action, target)
        if target == SWEEP_CANCELED:
            runs = await self._store.list_sweep_runs(sweep_id)
            await self._stop(info, [r for r in runs if r.state in (RUNNING, PENDING)], early=False)
        await self._wake(sweep_id)
        return info

    # -- stopping -----------------------------------------------------------------------------

    async def _heartbeat(self, m: Heartbeat) -> tuple[list[str], str]:
        info = await self._store.get_sweep(m.sweep_id)
        for run_id, code in m.exits:
            try:
                await self._store.update_sweep_run(m.sweep_id, run_id, agent_exit_code=code)
            except SweepNotFoundError:
                log.info("sweep %s: agent %s reported unknown run %s", info.key, m.agent_id,
                         run_id)
        if m.exits:
            self._dirty.add(m.sweep_id)
        live = self._live_of(m.sweep_id)
        for run_id, _ in m.exits:
            live.stop_wanted.discard(run_id)
        return [r for r in m.running if r in live.stop_wanted], info.state

    async def _stop_request(self, m: Stop) -> list[str]:
        info = await self._store.get_sweep(m.sweep_id)
        runs = await self._store.list_sweep_runs(m.sweep_id)
        if m.only_candidates:
            return await self._candidates(info, runs)
        by_id = {r.run_id: r for r in runs}
        unknown = [r for r in m.run_ids if r not in by_id]
        if unknown:
            raise InvalidArgumentError(f"sweep {info.key} has no run {unknown[0]!r}",
                                       run_id=unknown[0])
        chosen = [by_id[r] for r in dict.fromkeys(m.run_ids)]
        return await self._stop(info, [r for r in chosen if r.state in (RUNNING, PENDING)],
                                early=True)

    async def _stop(self, info: SweepInfo, runs: Sequence[SweepRunInfo], early: bool) -> list[str]:
        live = self._live_of(info.sweep_id)
        stopped = []
        for r in runs:
            if early:
                await self._store.update_sweep_run(info.sweep_id, r.run_id, stopped_early=True)
            reached = r.state == RUNNING and await self._stop_run(
                RunKey(info.entity, info.project, r.run_id))
            if not reached:
                live.stop_wanted.add(r.run_id)  # its agent stops the process
            stopped.append(r.run_id)
            log.info("sweep %s: run %s stopped%s", info.key, r.run_id,
                     " early" if early else "")
        return stopped

    async def _candidates(self, info: SweepInfo, runs: list[SweepRunInfo]) -> list[str]:
        """The running runs early_terminate would stop now (judged against every run that
        reached a band, ended ones included)."""
        config = info.config
        if not needs_history(config):
            return []
        live = self._live_of(info.sweep_id)
        histories: dict[str, list[float]] = {}
        for r in runs:
            if not r.run_pk:
                continue
            if r.state != RUNNING and r.run_id in live.ended_histories:
                histories[r.run_id] = live.ended_histories[r.run_id]
                continue
            histories[r.run_id] = await self._metric_history(r.run_pk, config)
            if r.state != RUNNING:  # it will not change: read it once
                live.ended_histories[r.run_id] = histories[r.run_id]
        view = search_runs(config, runs, histories)
        return list(await anyio.to_thread.run_sync(runs_to_stop, config, view))

    async def _metric_history(self, run_pk: int, config: dict[str, Any]) -> list[float]:
        """The run's values of the sweep's metric, in logging order."""
        name = str(config["metric"]["name"])
        series = await self._store.downsample_history(run_pk, [name], buckets=HISTORY_POINTS)
        s = series.get(name)
        return [] if s is None else [v for v in s.last if v is not None]

    async def _check(self) -> None:
        """Apply early termination to the sweeps whose runs logged (at most once a second
        each; a sweep not due yet stays dirty, and the loop wakes when it is)."""
        now = anyio.current_time()
        due = [s for s in self._dirty if now - self._live_of(s).last_check >= CHECK_INTERVAL]
        if len(due) < len(self._dirty):
            self._check_at = min(self._live_of(s).last_check + CHECK_INTERVAL
                                 for s in self._dirty if s not in due)
        for sweep_id in due:
            self._dirty.discard(sweep_id)
            self._live_of(sweep_id).last_check = now
            try:
                info = await self._store.get_sweep(sweep_id)
            except SweepNotFoundError:
                continue  # a run names a sweep this daemon does not have
            runs = await self._store.list_sweep_runs(sweep_id)
            stop = set(await self._candidates(info, runs))
            if stop:
                await self._stop(info, [r for r in runs if r.run_id in stop], early=True)
