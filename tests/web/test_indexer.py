"""Runs are indexed for charts once they stop running: when no other run is logging, or after
waiting a while for the others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from trackd_daemon.store.models import FINISHED, NewRun, RunChanges, RunKey
from trackd_daemon.store.sqlite import SqliteStore
from trackd_daemon.web.indexer import index_finished_runs


class Spy:
    """The store, recording which runs were asked for their chart keys."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self.indexed: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def history_keys(self, pk: int) -> dict[str, int]:
        self.indexed.append(pk)
        return await self._store.history_keys(pk)


async def _wait_indexed(spy: Spy, count: int) -> None:
    with anyio.fail_after(5):
        while len(spy.indexed) < count:
            await anyio.sleep(0.02)


@asynccontextmanager
async def _indexing(tmp_path: Path, defer: float) -> AsyncIterator[tuple[SqliteStore, Spy]]:
    """A store of its own, and the indexer polling it every 20 ms."""
    store = await SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")
    spy = Spy(store)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(index_finished_runs, spy, 0.02, defer)  # type: ignore[arg-type]
            yield store, spy
            tg.cancel_scope.cancel()
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_run_is_indexed_when_it_finishes_and_no_other_logs(tmp_path: Path) -> None:
    async with _indexing(tmp_path, defer=60.0) as (store, spy):
        running = await store.create_run(NewRun(RunKey("e", "p", "a")))
        other = await store.create_run(NewRun(RunKey("e", "p", "b")))
        await store.apply([RunChanges(running.pk, 1, rows=[(0, {"x": 1.0})])])
        await anyio.sleep(0.1)
        assert spy.indexed == []  # still running: left alone
        await store.apply([RunChanges(running.pk, 2, state=FINISHED, finished_at=1.0)])
        await anyio.sleep(0.2)
        assert spy.indexed == []  # another run still logs: it waits
        await store.apply([RunChanges(other.pk, 1, state=FINISHED, finished_at=1.0)])
        await _wait_indexed(spy, 2)
        assert sorted(spy.indexed) == sorted([running.pk, other.pk])
        assert await store.history_keys(running.pk) == {"x": 1}


@pytest.mark.anyio
async def test_a_finished_run_waits_for_the_others_only_so_long(tmp_path: Path) -> None:
    async with _indexing(tmp_path, defer=0.3) as (store, spy):
        done = await store.create_run(NewRun(RunKey("e", "p", "a")))
        still = await store.create_run(NewRun(RunKey("e", "p", "b")))
        await anyio.sleep(0.05)
        await store.apply([RunChanges(done.pk, 1, rows=[(0, {"x": 1.0})], state=FINISHED,
                                      finished_at=1.0)])
        await _wait_indexed(spy, 1)
        assert spy.indexed == [done.pk]  # the other still logs, and is left alone
        assert still.pk not in spy.indexed
