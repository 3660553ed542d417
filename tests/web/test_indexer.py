"""Runs are indexed for charts once they stop running."""

from __future__ import annotations

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


@pytest.mark.anyio
async def test_a_run_is_indexed_when_it_finishes(tmp_path: Path) -> None:
    store = await SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")
    spy = Spy(store)
    try:
        running = await store.create_run(NewRun(RunKey("e", "p", "a")))
        other = await store.create_run(NewRun(RunKey("e", "p", "b")))
        async with anyio.create_task_group() as tg:
            tg.start_soon(index_finished_runs, spy, 0.02)  # type: ignore[arg-type]
            await store.apply([RunChanges(running.pk, 1, rows=[(0, {"x": 1.0})])])
            await anyio.sleep(0.1)
            assert spy.indexed == []  # still running: left alone
            await store.apply([RunChanges(running.pk, 2, state=FINISHED, finished_at=1.0)])
            with anyio.fail_after(5):
                while not spy.indexed:
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
        assert spy.indexed == [running.pk]
        assert other.pk not in spy.indexed
        assert await store.history_keys(running.pk) == {"x": 1}
    finally:
        await store.aclose()
