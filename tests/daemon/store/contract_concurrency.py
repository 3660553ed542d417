"""The contract's concurrency part: two stores opened on the same data at once (two daemons
sharing a database, or two processes on one SQLite file) never give two runs one id, two runs
one generated name, or two artifact versions one number, and count history rows written by
both once.

Part of :class:`tests.daemon.store.contract.MetadataStoreContract`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

from tests.daemon.store.contract_artifacts import new, put, stored
from trackd_daemon.errors import RunAlreadyExistsError
from trackd_daemon.store.artifact_models import COMMITTED, CollectionKey
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunChanges, RunKey

GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-(\d+)$")
#: Creates (or versions) per store in each race: enough for their transactions to interleave.
N = 24


@pytest.mark.anyio
class ConcurrencyContract:
    @pytest.fixture
    async def two_stores(
        self, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> AsyncIterator[tuple[MetadataStore, MetadataStore]]:
        a = await open_store()
        try:
            b = await open_store()
            try:
                yield a, b
            finally:
                await b.aclose()
        finally:
            await a.aclose()

    async def test_two_stores_creating_the_same_run_ids_at_once_create_each_once(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        created: list[tuple[int, str]] = []
        refused: list[tuple[int, str]] = []

        async def create_all(which: int, store: MetadataStore) -> None:
            for i in range(N):
                try:
                    await store.create_run(NewRun(RunKey("ent", "race", f"r{i}")))
                    created.append((which, f"r{i}"))
                except RunAlreadyExistsError:
                    refused.append((which, f"r{i}"))

        async with anyio.create_task_group() as tg:
            for which, store in enumerate(two_stores):
                tg.start_soon(create_all, which, store)
        assert sorted(r for _, r in created) == sorted(f"r{i}" for i in range(N))
        assert sorted(r for _, r in refused) == sorted(f"r{i}" for i in range(N))
        runs = await two_stores[1].list_runs("ent", "race")
        assert len(runs) == N and len({r.pk for r in runs}) == N

    async def test_two_stores_creating_runs_at_once_never_share_a_generated_name(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        async def create_all(which: int, store: MetadataStore) -> None:
            for i in range(N):
                await store.create_run(NewRun(RunKey("ent", "names", f"s{which}-{i}")))

        async with anyio.create_task_group() as tg:
            for which, store in enumerate(two_stores):
                tg.start_soon(create_all, which, store)
        runs = await two_stores[0].list_runs("ent", "names")
        assert len(runs) == 2 * N
        # The count in the generated names ("adjective-noun-N") never repeats.
        numbers = sorted(int(m.group(1)) for r in runs if (m := GENERATED_NAME.match(r.name)))
        assert numbers == list(range(1, 2 * N + 1))

    async def test_two_stores_committing_versions_at_once_number_each_once(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        key = CollectionKey("ent", "race", "data")
        contents = {w: [f"{w}-{i}".encode() for i in range(N)] for w in range(2)}
        for w in range(2):
            await put(two_stores[w], *contents[w])
        ids: list[str] = []

        async def log_all(which: int, store: MetadataStore) -> None:
            for content in contents[which]:
                res = await store.log_version(new(key), [stored("f.txt", content)])
                assert res.version.state == COMMITTED and not res.deduplicated
                ids.append(res.version.id)

        async with anyio.create_task_group() as tg:
            for which, store in enumerate(two_stores):
                tg.start_soon(log_all, which, store)
        versions = await two_stores[0].list_versions("ent", "race", "data")
        assert sorted(v.id for v in versions) == sorted(ids)
        assert sorted(v.version_index for v in versions) == list(range(2 * N))
        latest = await two_stores[1].resolve_version(key, "latest")
        assert latest.version_index == 2 * N - 1

    async def test_two_stores_writing_one_runs_history_count_each_row_once(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        run = await two_stores[0].create_run(NewRun(RunKey("ent", "shared", "r")))

        async def write(store: MetadataStore, steps: range) -> None:
            for lo in range(steps.start, steps.stop, 10):  # overlapping rounds, replayed too
                rows = [(s, {"x": float(s)}) for s in range(lo, min(lo + 10, steps.stop))]
                await store.apply([RunChanges(pk=run.pk, ingested_seq=lo, rows=rows)])

        async with anyio.create_task_group() as tg:
            tg.start_soon(write, two_stores[0], range(0, 200))
            tg.start_soon(write, two_stores[1], range(100, 300))
        got = await two_stores[1].get_run(run.key)
        assert (got.history_rows, got.last_step) == (300, 299)
        scanned = await two_stores[0].scan_history(run.pk, None, None, 1000)
        assert [s for s, _ in scanned] == list(range(300))
