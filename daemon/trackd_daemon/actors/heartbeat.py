"""HeartbeatActor: notices runs whose client went away, and an idle daemon.

A run's client holds a stream open while the run lives. When the last stream of a run that
has not exited closes (the process finished badly, was killed, or lost the daemon), a grace
period starts (the run's own ``crash_grace``, from its client's heartbeat_seconds, else the
daemon's); if no stream re-attaches before it ends, the run is marked ``crashed``. The
pending partial row is written first: every acknowledged record is kept. A shared run whose
primary writer writes through another daemon is only let go of here: that daemon ends it.
A daemon that did not run past a deadline (stopped, suspended) starts the grace periods
again: its clients could not attach meanwhile. The registry has the last word: a stream that
attached meanwhile keeps the run going.

With an idle timeout configured, the daemon stops after that long with no live run and no
call being served (daemons started on demand by ``trackd.setup()`` use this); ``is_idle`` says
whether anything else still uses it. ``Linger(seconds)`` (the process that started the daemon
on demand has ended) makes the idle timeout that long from now on: the daemon stays up that
long after its last client, so that the links it printed keep opening.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from trackd_daemon.actors.base import Actor
from trackd_daemon.session import RunSession

log = logging.getLogger("trackd.daemon.heartbeat")


@dataclass(frozen=True)
class Attached:
    session: RunSession


@dataclass(frozen=True)
class Detached:
    session: RunSession


@dataclass(frozen=True)
class Linger:
    seconds: float


HeartbeatMsg = Attached | Detached | Linger

#: How late past its deadline this loop may wake before that counts as the daemon not having
#: run (see ``_postpone``). A busy event loop makes it a few milliseconds late; a daemon
#: under SIGSTOP or in a suspended machine, seconds.
STALL_SECONDS = 0.5


class HeartbeatActor(Actor[HeartbeatMsg]):
    #: Attach/detach events come one per stream open/close; 1,024 covers a burst of many
    #: processes starting or dying at once.
    mailbox_size = 1024
    name = "heartbeat"

    def __init__(
        self,
        grace_seconds: float,
        crash: Callable[[RunSession], Awaitable[None]],
        idle_timeout: float = 0.0,
        is_idle: Callable[[], bool] = lambda: False,
        on_idle: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._grace = grace_seconds
        self._crash = crash
        self._idle_timeout = idle_timeout
        self._is_idle = is_idle
        self._on_idle = on_idle
        self._deadlines: dict[RunSession, float] = {}
        self._last_activity = anyio.current_time()

    @property
    def idle_timeout(self) -> float:
        """Seconds without use after which the daemon stops (0: never)."""
        return self._idle_timeout

    async def loop(self) -> None:
        while True:
            wake = min(self._deadlines.values(), default=math.inf)
            if self._idle_timeout > 0:
                wake = min(wake, self._last_activity + self._idle_timeout)
            waited_from = anyio.current_time()
            try:
                msg = await self.receive_until(wake)
            except anyio.EndOfStream:
                return
            # How late this wait ended past its deadline (a deadline already behind when the
            # wait began, while a crash was being marked, is no stall of the daemon).
            late = anyio.current_time() - max(wake, waited_from)
            if late > STALL_SECONDS:
                self._postpone(late)
            if msg is not None:
                self._on(msg)
            await self._expire()

    def _on(self, msg: HeartbeatMsg) -> None:
        self._last_activity = anyio.current_time()
        if isinstance(msg, Attached):
            self._deadlines.pop(msg.session, None)
        elif isinstance(msg, Linger):
            log.info("the process that started the daemon ended; stopping after %.0fs idle",
                     msg.seconds)
            self._idle_timeout = msg.seconds
        elif isinstance(msg, Detached):
            s = msg.session
            log.debug("run %s: stream detached (%d left)", s.key, s.streams)
            if s.unattended:
                self._deadlines[s] = anyio.current_time() + (s.crash_grace or self._grace)

    def _postpone(self, stalled: float) -> None:
        """This loop woke ``stalled`` seconds after its deadline: the daemon did not run
        meanwhile (stopped, suspended, or starved), and no client could attach either. The
        grace period of every run waiting for its client starts again."""
        log.info("the daemon did not run for %.1fs or more; the runs waiting for their "
                 "clients get their grace period again", stalled)
        now = anyio.current_time()
        for s in self._deadlines:
            self._deadlines[s] = now + (s.crash_grace or self._grace)

    async def _expire(self) -> None:
        now = anyio.current_time()
        for s, deadline in list(self._deadlines.items()):
            if deadline > now:
                continue
            del self._deadlines[s]
            if s.unattended:
                if s.ends_run:
                    log.warning("run %s: client gone for %.1fs without finishing; marking"
                                " crashed", s.key, s.crash_grace or self._grace)
                else:  # a shared run's primary writer is on another daemon: it ends the run
                    log.info("run %s: its writers on this machine are gone; the run goes on",
                             s.key)
                try:
                    await self._crash(s)
                except Exception:
                    log.exception("run %s: could not mark crashed", s.key)
        if (
            self._idle_timeout > 0
            and now - self._last_activity >= self._idle_timeout
        ):
            if self._is_idle():
                log.info("idle for %.0fs; stopping", self._idle_timeout)
                self._on_idle()
            self._last_activity = now
