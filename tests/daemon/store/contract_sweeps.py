"""The sweep part of the store contract (``trackd_daemon/store/sweep_base.py``)."""

from __future__ import annotations

import pytest

from trackd_daemon.errors import InvalidArgumentError, SweepNotFoundError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunChanges, RunKey
from trackd_daemon.store.sweep_models import (
    PENDING,
    SWEEP_PAUSED,
    SWEEP_RUNNING,
    NewSweep,
    NewSweepRun,
)

CONFIG = {"method": "grid", "parameters": {"lr": {"values": [0.1, 0.01]}}}


async def _sweep(store: MetadataStore, sweep_id: str = "sw1", project: str = "proj",
                 created_at: float = 100.0) -> None:
    await store.create_sweep(NewSweep(sweep_id, "ent", project, f"name-{sweep_id}", CONFIG,
                                      owner_uid=7, created_at=created_at))


@pytest.mark.anyio
class SweepContract:
    """Sweeps keep their config and state; their runs keep their order, claims and marks, and
    read their run's state, summary and config from the run's own row."""

    async def test_create_get_list(self, store: MetadataStore) -> None:
        await _sweep(store, "sw1", created_at=100.0)
        await _sweep(store, "sw2", created_at=200.0)
        await _sweep(store, "sw3", project="other", created_at=300.0)
        info = await store.get_sweep("sw1")
        assert (info.entity, info.project, info.name, info.config, info.state, info.owner_uid,
                info.run_count) == ("ent", "proj", "name-sw1", CONFIG, SWEEP_RUNNING, 7, 0)
        assert str(info.key) == "ent/proj/sw1"
        assert [s.sweep_id for s in await store.list_sweeps("ent", "proj")] == ["sw2", "sw1"]
        assert [s.sweep_id for s in await store.list_sweeps()] == ["sw3", "sw2", "sw1"]
        with pytest.raises(InvalidArgumentError):
            await _sweep(store, "sw1")
        with pytest.raises(SweepNotFoundError):
            await store.get_sweep("nope")

    async def test_state_changes(self, store: MetadataStore) -> None:
        await _sweep(store)
        info = await store.set_sweep_state("sw1", SWEEP_PAUSED, 500.0)
        assert (info.state, info.updated_at) == (SWEEP_PAUSED, 500.0)
        assert (await store.get_sweep("sw1")).state == SWEEP_PAUSED
        with pytest.raises(SweepNotFoundError):
            await store.set_sweep_state("nope", SWEEP_PAUSED, 1.0)

    async def test_runs_keep_order_and_join_their_run(self, store: MetadataStore) -> None:
        await _sweep(store)
        added = await store.add_sweep_runs("sw1", [
            NewSweepRun("b", {"lr": 0.1}, agent_id="ag", request_id="q1"),
            NewSweepRun("a", {"lr": 0.01, "nested": {"x": 1}}),
        ])
        assert [r.run_id for r in added] == ["b", "a"]
        assert added[0].state == PENDING and added[0].run_pk == 0
        # Recording a run id again keeps the first record.
        await store.add_sweep_runs("sw1", [NewSweepRun("b", {"lr": 5.0})])
        runs = await store.list_sweep_runs("sw1")
        assert [(r.run_id, r.params) for r in runs] == [
            ("b", {"lr": 0.1}), ("a", {"lr": 0.01, "nested": {"x": 1}})]
        assert (await store.get_sweep("sw1")).run_count == 2
        # The run starts and logs: its state and summary are read from its row.
        run = await store.create_run(NewRun(key=RunKey("ent", "proj", "b"), sweep_id="sw1",
                                            config={"lr": 0.1}))
        await store.apply([RunChanges(pk=run.pk, ingested_seq=1, summary={"loss": 0.5},
                                      state="finished", finished_at=9.0)])
        b = (await store.list_sweep_runs("sw1"))[0]
        assert (b.run_pk, b.state, b.run_summary, b.run_config, b.run_finished_at) == (
            run.pk, "finished", {"loss": 0.5}, {"lr": 0.1}, 9.0)
        assert b.run_name == run.name
        with pytest.raises(SweepNotFoundError):
            await store.list_sweep_runs("nope")
        with pytest.raises(SweepNotFoundError):
            await store.add_sweep_runs("nope", [NewSweepRun("z", {})])

    async def test_claims_are_found_by_agent_and_request(self, store: MetadataStore) -> None:
        await _sweep(store)
        await store.add_sweep_runs("sw1", [NewSweepRun("q", {"lr": 0.1})])
        assert await store.find_sweep_claim("sw1", "ag", "r1") is None
        claimed = await store.claim_sweep_run("sw1", "q", "ag", "r1")
        assert (claimed.agent_id, claimed.request_id) == ("ag", "r1")
        found = await store.find_sweep_claim("sw1", "ag", "r1")
        assert found is not None and found.run_id == "q"
        with pytest.raises(SweepNotFoundError):  # taken already
            await store.claim_sweep_run("sw1", "q", "other", "r9")

    async def test_marks_and_agent_exit_codes(self, store: MetadataStore) -> None:
        await _sweep(store)
        await store.add_sweep_runs("sw1", [NewSweepRun("x", {}), NewSweepRun("y", {})])
        await store.update_sweep_run("sw1", "x", stopped_early=True)
        await store.update_sweep_run("sw1", "y", agent_exit_code=3)
        x, y = await store.list_sweep_runs("sw1")
        assert x.stopped_early and x.agent_exit_code is None and x.state == PENDING
        assert not y.stopped_early and y.agent_exit_code == 3 and y.state == "failed"
        with pytest.raises(SweepNotFoundError):
            await store.update_sweep_run("sw1", "zz", stopped_early=True)

    async def test_prior_runs_join_the_sweep(self, store: MetadataStore) -> None:
        await _sweep(store)
        run = await store.create_run(NewRun(key=RunKey("ent", "proj", "old")))
        added = await store.add_sweep_runs("sw1", [NewSweepRun("old", {"lr": 0.1}, prior=True)])
        assert added[0].prior and added[0].run_pk == run.pk
        assert (await store.get_run(run.key)).sweep_id == "sw1"
