"""The contract's shared-run part: rounds of one run from writers on several daemons (two
stores on the same data) are settled by the store — the rows get the run's next steps, none is
lost to another daemon's step; a round stored already is not stored again; the summary, config
and metric definitions merge key by key (see ``trackd_daemon/store/shared_runs.py``).

Part of :class:`tests.daemon.store.contract.MetadataStoreContract`.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunChanges, RunKey, SharedDelta

#: Rounds per writer in the race: enough for the two stores' transactions to interleave.
ROUNDS = 20
ROWS = 5


def _round(pk: int, writer: str, seq: int, rows: list[dict[str, Any]], **delta: Any
           ) -> RunChanges:
    """A daemon's round of ``writer``'s records up to ``seq``: its rows numbered from 0, as a
    daemon that knows nothing of the other's would number them."""
    ch = RunChanges(pk, seq if not writer else 0, rows=[(i, r) for i, r in enumerate(rows)],
                    shared=SharedDelta(mark=(writer, seq), **delta))
    if writer:
        ch.writer_seqs[writer] = seq
    return ch


@pytest.mark.anyio
class SharedRunContract:
    async def test_a_shared_run_says_so(self, store: MetadataStore) -> None:
        shared = await store.create_run(NewRun(RunKey("e", "p", "s"), shared=True))
        plain = await store.create_run(NewRun(RunKey("e", "p", "plain")))
        assert shared.shared and not plain.shared
        # Joined in shared mode later: its first shared round marks it.
        await store.apply([_round(plain.pk, "w", 1, [{"x": 1}])])
        assert (await store.get_run(plain.key)).shared

    async def test_writers_on_two_daemons_keep_every_row_at_distinct_steps(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        a, b = two_stores  # ConcurrencyContract's: two stores on the same data
        info = await a.create_run(NewRun(RunKey("e", "p", "two"), shared=True))

        async def write(store: MetadataStore, writer: str) -> None:
            for k in range(ROUNDS):
                rows = [{"who": writer or "primary", "n": k * ROWS + i} for i in range(ROWS)]
                await store.apply([_round(info.pk, writer, k + 1, rows)])

        async with anyio.create_task_group() as tg:
            tg.start_soon(write, a, "")
            tg.start_soon(write, b, "w1")
        got = await a.scan_history(info.pk, None, None, 10 * ROUNDS * ROWS)
        total = 2 * ROUNDS * ROWS
        assert [step for step, _ in got] == list(range(total))
        assert all(row["_step"] == step for step, row in got)
        for who in ("primary", "w1"):  # each writer's rows in its own order
            assert [r["n"] for _, r in got if r["who"] == who] == list(range(ROUNDS * ROWS))
        run = await b.get_run(info.key)
        assert (run.history_rows, run.last_step) == (total, total - 1)
        assert (run.ingested_seq, run.writer_seqs) == (ROUNDS, {"w1": ROUNDS})

    async def test_a_round_stored_already_is_not_stored_again(self, store: MetadataStore) -> None:
        info = await store.create_run(NewRun(RunKey("e", "p", "again"), shared=True))
        first = _round(info.pk, "w1", 3, [{"v": 1}, {"v": 2}], summary_set={"v": 2})
        await store.apply([first])
        # The same round again (a retry after a commit whose answer was lost), of either
        # writer; then a new one, which goes on after the first.
        await store.apply([_round(info.pk, "w1", 3, [{"v": 1}, {"v": 2}], summary_set={"v": 9})])
        await store.apply([_round(info.pk, "", 4, [{"p": 1}])])
        await store.apply([_round(info.pk, "", 4, [{"p": 1}])])
        await store.apply([_round(info.pk, "w1", 4, [{"v": 3}], summary_set={"v": 3})])
        run = await store.get_run(info.key)
        assert [r for _, r in await store.scan_history(info.pk, None, None, 100)] == [
            {"v": 1, "_step": 0}, {"v": 2, "_step": 1}, {"p": 1, "_step": 2},
            {"v": 3, "_step": 3}]
        assert (run.history_rows, run.summary) == (4, {"v": 3})

    async def test_summary_config_and_definitions_merge_key_by_key(
        self, two_stores: tuple[MetadataStore, MetadataStore]
    ) -> None:
        a, b = two_stores  # ConcurrencyContract's: two stores on the same data
        info = await a.create_run(NewRun(RunKey("e", "p", "merge"), shared=True,
                                         config={"lr": 0.1, "old": 1}))
        await a.apply([_round(info.pk, "", 1, [{"loss": 1.0}], summary_set={
            "loss": 1.0, "_step": 0, "gone": 1}, config_set={"lr": 0.2},
            metrics={"loss": {"name": "loss", "goal": "minimize"}})])
        await b.apply([_round(info.pk, "w1", 1, [{"acc": 0.5}, {"acc": 0.6}], summary_set={
            "acc": 0.6, "_step": 1}, summary_removed={"gone"}, config_set={"batch": 32},
            config_removed={"old"}, metrics={"acc": {"name": "acc", "goal": "maximize"}})])
        # A stale view of "loss" on b is never sent: only the keys b's writers changed are.
        await a.apply([_round(info.pk, "", 2, [{"loss": 0.5}], summary_set={"loss": 0.5,
                                                                              "_step": 0})])
        run = await b.get_run(info.key)
        assert run.summary == {"loss": 0.5, "acc": 0.6, "_step": 3}
        assert run.config == {"lr": 0.2, "batch": 32}
        assert sorted((d["name"], d["goal"]) for d in run.metrics) == [
            ("acc", "maximize"), ("loss", "minimize")]
