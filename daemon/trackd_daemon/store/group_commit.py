"""Group commit: the writes queued on SQLite's one write connection, in one transaction.

A writer queues a function of the connection. One writer at a time leads: it takes every
queued function (up to ``MAX_GROUP``) and runs them in one worker-thread call and one
transaction, each inside its own SAVEPOINT: a function that raises (``RunAlreadyExistsError``,
a constraint) is rolled back alone and its caller gets the error, while the others commit.
Each writer of the group is woken with its outcome; the leader goes on until its own write is
done, then hands the lead to the oldest write still queued.

Under contention (dozens of runs created at once while history is ingested) this turns N
transactions and N thread hand-offs into one of each; a write that arrives alone costs what it
did before (one transaction, one hand-off). Every caller's write is committed before its call
returns, as before, so a reply sent after it (CreateRun's) still means "stored".

Urgent writes (a run being created: a training process waits in ``init()``) are committed
before queued bulk writes (history rounds, which can hold thousands of rows), in groups of
their own: a create waits for the transaction in progress, not for the ingestion queued
before it.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio
import anyio.to_thread

from trackd_daemon.errors import ResourceExhaustedError

T = TypeVar("T")

#: Writes per transaction at most: bounds how long one group holds the write connection (a
#: history round is up to a few thousand rows; creates are small), so a write queued behind a
#: long group waits for at most one more.
MAX_GROUP = 64


class _Write(Generic[T]):
    """One queued write and, once its group ran, its result or error."""

    __slots__ = ("done", "error", "fn", "result", "wake")

    def __init__(self, fn: Callable[[sqlite3.Connection], T]) -> None:
        self.fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake = anyio.Event()  # set when done, or when this write's caller is to lead


class GroupCommit:
    """Runs writes on ``conn`` in groups (see the module doc). ``limiter`` (capacity 1) is the
    connection's: whatever else uses the connection in a thread (closing it) takes it too."""

    def __init__(self, conn: sqlite3.Connection, path: str, limiter: anyio.CapacityLimiter) -> None:
        self._conn = conn
        self._path = path
        self._limiter = limiter
        self._urgent: deque[_Write[Any]] = deque()
        self._bulk: deque[_Write[Any]] = deque()
        self._leader: _Write[Any] | None = None  # whose caller commits groups now

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, urgent: bool = False) -> T:
        """Run ``fn(conn)`` in a write transaction and return its result once committed;
        ``urgent`` writes go before the bulk ones queued (see the module doc).

        :raises ResourceExhaustedError: the disk is full (nothing of ``fn`` was stored).
        """
        w: _Write[T] = _Write(fn)
        queue = self._urgent if urgent else self._bulk
        queue.append(w)
        if self._leader is None:
            self._leader = w
        try:
            if self._leader is not w:
                await w.wake.wait()  # done by a leader's group, or asked to lead
            while not w.done:  # leading
                q = self._urgent or self._bulk
                group = [q.popleft() for _ in range(min(MAX_GROUP, len(q)))]
                try:
                    # Not cancellable once started: the group's callers are owed their outcome.
                    await anyio.to_thread.run_sync(self._commit, group, limiter=self._limiter)
                finally:
                    for g in group:
                        g.wake.set()
        except BaseException:
            # Cancelled: a write no group took is never run (one already taken may still
            # commit; its caller no longer waits for it).
            if not w.done and w in queue:
                queue.remove(w)
            raise
        finally:
            if self._leader is w:
                self._hand_off()
        if w.error is not None:
            raise w.error
        return w.result  # type: ignore[return-value]

    def _hand_off(self) -> None:
        """Give the lead to the oldest queued write (urgent first), or to nobody."""
        nxt = self._urgent[0] if self._urgent else self._bulk[0] if self._bulk else None
        self._leader = nxt
        if nxt is not None:
            nxt.wake.set()

    def _commit(self, group: list[_Write[Any]]) -> None:
        """One transaction for ``group`` (worker thread)."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for w in group:
                if len(group) == 1:  # alone: the transaction is its savepoint
                    w.result = w.fn(conn)
                    continue
                conn.execute("SAVEPOINT w")
                try:
                    w.result = w.fn(conn)
                except Exception as exc:
                    if not conn.in_transaction:  # SQLite rolled everything back (disk full)
                        raise
                    conn.execute("ROLLBACK TO w")
                    w.error = self._error(exc)
                conn.execute("RELEASE w")
            conn.execute("COMMIT")
        except BaseException as exc:
            # The transaction is gone: every write of the group failed with the same error
            # (those that had run were rolled back with it).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for w in group:
                w.result = None
                w.error = self._error(exc) if isinstance(exc, Exception) else exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for w in group:
                w.done = True

    def _error(self, exc: Exception) -> Exception:
        """A full disk becomes ResourceExhaustedError naming the store; others stay as they are."""
        if isinstance(exc, sqlite3.OperationalError) and ("full" in str(exc) or "disk" in str(exc)):
            return ResourceExhaustedError(f"the store {self._path} cannot grow: {exc}",
                                          path=self._path)
        return exc
