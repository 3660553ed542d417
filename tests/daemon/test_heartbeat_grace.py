"""A run's grace period (no stream: marked crashed when it ends) against a daemon that did
not run for a while, and against a stream that attaches as the grace ends.

A daemon stopped (SIGSTOP, a suspended machine) past a run's deadline wakes with the deadline
behind it while its client's stream waits unread in the socket: the grace periods start again. The registry decides a crash in order with the attaches: a stream that attached
first keeps the run going; one that comes after the decision is told to retry.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from trackd_daemon.actors.heartbeat import Attached, Detached, HeartbeatActor
from trackd_daemon.actors.history import HistoryActor
from trackd_daemon.actors.registry import Attach, Create, Expire, RunRegistry
from trackd_daemon.errors import RunEndingError
from trackd_daemon.session import RunSession
from trackd_daemon.store.models import NewRun, RunKey
from trackd_daemon.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

GRACE = 0.3


class _Run:
    """What the heartbeat actor reads of a session."""

    def __init__(self) -> None:
        self.key = RunKey("e", "p", "r")
        self.streams = 0
        self.retired = False
        self.exit_seq = 0
        self.ends_run = True
        self.crash_grace = 0.0

    @property
    def unattended(self) -> bool:
        return self.streams == 0 and not self.retired and not self.exit_seq


async def _watch(stall: float, attach_after: bool = False) -> tuple[list[float], float]:
    """A run detached at 0; the event loop blocked for ``stall`` seconds at once (the daemon
    not running); with ``attach_after`` its stream attaches as the daemon runs again. Returns
    when crashes happened (seconds from the detach) and when the stall ended."""
    crashed: list[float] = []
    start = anyio.current_time()

    async def crash(s: object) -> None:
        crashed.append(anyio.current_time() - start)

    actor = HeartbeatActor(GRACE, crash)
    run = _Run()
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        await actor.tell(Detached(run))  # type: ignore[arg-type]
        await anyio.sleep(0.05)  # the actor waits on the run's deadline
        time.sleep(stall)  # noqa: ASYNC251 - the point: nothing on this loop runs meanwhile
        resumed = anyio.current_time() - start
        if attach_after:
            run.streams = 1
            await actor.tell(Attached(run))  # type: ignore[arg-type]
        await anyio.sleep(stall + GRACE + 0.5)
        actor.close()
    return crashed, resumed


async def test_a_run_without_stream_is_crashed_when_its_grace_ends() -> None:
    crashed, _ = await _watch(stall=0.0)
    assert len(crashed) == 1 and GRACE <= crashed[0] < GRACE + 0.4


async def test_a_daemon_that_did_not_run_past_the_deadline_gives_that_long_more() -> None:
    crashed, resumed = await _watch(stall=1.0)
    # Not at once when the daemon runs again: a whole grace period later (the client could
    # not attach meanwhile).
    assert len(crashed) == 1 and crashed[0] >= resumed + GRACE - 0.05, (crashed, resumed)


async def test_a_stream_that_attaches_after_the_stall_keeps_the_run() -> None:
    crashed, _ = await _watch(stall=1.0, attach_after=True)
    assert crashed == []


async def test_a_crash_taking_long_is_no_stall_for_the_runs_waiting_behind_it() -> None:
    """Marking a run crashed can take a while (its end files are stored); another run's
    deadline that passed meanwhile is due at once, not given its grace again."""
    crashed: dict[str, float] = {}
    start = anyio.current_time()

    async def crash(s: _Run) -> None:
        crashed[s.key.run_id] = anyio.current_time() - start
        if s.key.run_id == "slow":
            await anyio.sleep(1.0)

    actor = HeartbeatActor(GRACE, crash)  # type: ignore[arg-type]
    slow, other = _Run(), _Run()
    slow.key, other.key = RunKey("e", "p", "slow"), RunKey("e", "p", "other")
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        await actor.tell(Detached(slow))  # type: ignore[arg-type]
        await anyio.sleep(0.1)
        await actor.tell(Detached(other))  # type: ignore[arg-type]
        await anyio.sleep(GRACE + 1.0 + GRACE + 0.3)
        actor.close()
    assert set(crashed) == {"slow", "other"}
    assert crashed["other"] < crashed["slow"] + 1.0 + GRACE / 2, crashed


async def _registry(tmp_path: Path, tg: anyio.abc.TaskGroup) -> tuple[RunRegistry, RunSession]:
    store = await SqliteStore.open(f"sqlite:///{tmp_path / 'meta.db'}")
    history = HistoryActor(store)

    async def crash(s: object) -> None:
        pass

    heartbeat = HeartbeatActor(3600.0, crash)
    registry = RunRegistry(store, history, heartbeat, tmp_path, 0.0)
    for actor in (history, heartbeat, registry):
        tg.start_soon(actor.run)
    key = RunKey("e", "p", "graced")
    _, session, _, _ = await registry.ask(lambda r: Create(NewRun(key), "never", r))
    assert session is not None
    return registry, session


async def test_the_registry_keeps_a_run_whose_stream_attached_first(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        registry, session = await _registry(tmp_path, tg)
        await registry.ask(lambda r: Attach(session.key, object(), r))
        assert await registry.ask(lambda r: Expire(session, r)) is False
        assert not session.ending
        tg.cancel_scope.cancel()


async def test_a_stream_attaching_once_the_crash_is_decided_is_told_to_retry(
        tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        registry, session = await _registry(tmp_path, tg)
        assert await registry.ask(lambda r: Expire(session, r)) is True
        with pytest.raises(RunEndingError, match="attach again"):
            await registry.ask(lambda r: Attach(session.key, object(), r))
        assert session.streams == 0
        tg.cancel_scope.cancel()
