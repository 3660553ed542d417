"""The behavioural contract of :class:`trackd_daemon.store.base.MetadataStore`.

One list of tests for every backend. A backend's test module subclasses
:class:`MetadataStoreContract` and provides the ``open_store`` fixture: an async callable that
opens the backend over the same (initially empty) data each time it is called. The suite
closes every store it opens::

    class TestSqliteStore(MetadataStoreContract):
        @pytest.fixture
        def open_store(self, tmp_path):
            return lambda: SqliteStore.open(f"sqlite:///{tmp_path / 'trackd.db'}")

A new backend is done when this suite passes against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

from tests.daemon.store.contract_artifacts import ArtifactContract
from tests.daemon.store.contract_concurrency import ConcurrencyContract
from tests.daemon.store.contract_run_data import RunDataContract
from tests.daemon.store.contract_run_edits import RunEditContract
from tests.daemon.store.contract_series import SeriesContract
from tests.daemon.store.contract_shared import SharedRunContract
from tests.daemon.store.contract_sweeps import SweepContract
from tests.daemon.store.contract_workspace import WorkspaceContract
from trackd_daemon.errors import RunAlreadyExistsError, RunNotFoundError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import (
    CRASHED,
    FINISHED,
    RUNNING,
    NewAlert,
    NewRun,
    RunChanges,
    RunInfo,
    RunKey,
)
from trackd_daemon.store.row_codec import pack_plain, unpack_plain

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-(\d+)$")

#: Values a store must give back exactly: the type too (True is not 1, 1 is not 1.0), NaN,
#: infinities and negative zero, 64-bit integer extremes, nesting and non-ASCII text.
TRICKY: dict[str, Any] = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "neg_zero": -0.0,
    "int_max": INT64_MAX,
    "int_min": INT64_MIN,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "third": 1 / 3,
    "true": True,
    "false": False,
    "one": 1,
    "one_float": 1.0,
    "none": None,
    "empty": "",
    "text": "ünïcödé ✓ 中文 \"quoted\" \\ \n\t",
    "ключ": "значение",
    "nested": {"list": [1, 2.5, "x", None, True, [math.nan, {"deep": -math.inf}]], "empty": {}},
    "empty_list": [],
    "dotted.key/with:chars": 1,
}


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def number(name: str) -> int:
    """N of a generated ``adjective-noun-N`` name."""
    m = GENERATED_NAME.match(name)
    assert m, f"{name!r} is not a generated name"
    return int(m.group(1))


def new_run(run_id: str, project: str = "proj", entity: str = "ent", **kw: Any) -> NewRun:
    return NewRun(key=RunKey(entity, project, run_id), **kw)


@pytest.mark.anyio
class MetadataStoreContract(SeriesContract, ArtifactContract, RunDataContract, RunEditContract,
                            SweepContract, WorkspaceContract, ConcurrencyContract,
                            SharedRunContract):
    """Subclass this and provide ``open_store``; see the module doc. The chart methods'
    part of the contract is in ``contract_series.py``, the artifacts' in
    ``contract_artifacts.py``, run files', console logs' and system metrics' in
    ``contract_run_data.py``, two stores on the same data at once in
    ``contract_concurrency.py``, shared runs' rounds from two daemons in
    ``contract_shared.py``."""

    @pytest.fixture
    def open_store(self) -> Callable[[], Awaitable[MetadataStore]]:
        pytest.fail(f"{type(self).__name__} must override the open_store fixture for its backend")

    @pytest.fixture
    async def store(
        self, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> AsyncIterator[MetadataStore]:
        s = await open_store()
        try:
            yield s
        finally:
            await s.aclose()

    # -- create / get -----------------------------------------------------------------------

    async def test_create_and_get_round_trip_every_field(self, store: MetadataStore) -> None:
        new = new_run(
            "r1", name="first", notes="some notes\nline 2", tags=["b", "a", "ü"], group="grp",
            job_type="train", config={"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam"}},
            start_time=1700000000.25, host="node-1", program="train.py", sweep_id="sw1",
            request_id="req-1", created_at=1700000001.5, owner_uid=4242, owner_name="ann",
        )
        created = await store.create_run(new)
        assert isinstance(created, RunInfo)
        assert isinstance(created.pk, int)
        assert created.key == RunKey("ent", "proj", "r1")
        for field in ("name", "notes", "tags", "group", "job_type", "config", "start_time",
                      "host", "program", "sweep_id", "request_id", "created_at", "owner_uid",
                      "owner_name"):
            assert same(getattr(created, field), getattr(new, field)), field
        assert created.state == RUNNING
        assert created.exit_code == 0
        assert created.finished_at == 0
        assert created.updated_at >= created.created_at
        assert created.summary == {}
        assert created.metrics == []
        assert created.history_rows == 0
        assert created.last_step == -1
        assert created.ingested_seq == 0
        assert await store.get_run(new.key) == created

    async def test_a_run_keeps_its_creators_name_and_machine_wherever_it_is_read(
            self, store: MetadataStore) -> None:
        made = await store.create_run(new_run("named", owner_uid=1001, owner_name="bob",
                                              host="gpu-7"))
        anonymous = await store.create_run(new_run("old"))
        assert (anonymous.owner_name, anonymous.owner_uid) == ("", -1)  # unknown: decided by uid
        listed = {r.key.run_id: r for r in await store.list_runs("ent", "proj")}
        for run in (await store.get_run(made.key), listed["named"]):
            assert (run.owner_name, run.owner_uid, run.host) == ("bob", 1001, "gpu-7")
        assert listed["old"].owner_name == ""

    async def test_created_at_defaults_to_now(self, store: MetadataStore) -> None:
        import time

        before = time.time()
        info = await store.create_run(new_run("r1"))
        assert before - 1 <= info.created_at <= time.time() + 1

    async def test_generated_names_count_the_projects_runs(self, store: MetadataStore) -> None:
        first = await store.create_run(new_run("a"))
        named = await store.create_run(new_run("b", name="chosen"))
        third = await store.create_run(new_run("c"))
        other_project = await store.create_run(new_run("d", project="other"))
        other_entity = await store.create_run(new_run("e", entity="someone"))
        assert named.name == "chosen"
        assert [number(r.name) for r in (first, third, other_project, other_entity)] == [1, 3, 1, 1]

    async def test_concurrent_creates_get_distinct_numbers(self, store: MetadataStore) -> None:
        created: list[RunInfo] = []

        async def create(i: int) -> None:
            created.append(await store.create_run(new_run(f"r{i}")))

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(create, i)
        assert sorted(number(r.name) for r in created) == list(range(1, 21))
        assert len({r.pk for r in created}) == 20

    async def test_duplicate_id_is_rejected(self, store: MetadataStore) -> None:
        await store.create_run(new_run("r1", name="one"))
        with pytest.raises(RunAlreadyExistsError):
            await store.create_run(new_run("r1", name="two"))
        with pytest.raises(RunAlreadyExistsError):
            await store.create_run(new_run("r1", request_id="some-request"))
        assert (await store.get_run(RunKey("ent", "proj", "r1"))).name == "one"
        # The same id elsewhere is another run.
        await store.create_run(new_run("r1", project="other"))
        await store.create_run(new_run("r1", entity="other"))

    async def test_rejected_duplicate_does_not_count(self, store: MetadataStore) -> None:
        await store.create_run(new_run("r1"))
        with pytest.raises(RunAlreadyExistsError):
            await store.create_run(new_run("r1"))
        second = await store.create_run(new_run("r2"))
        assert number(second.name) == 2

    async def test_retried_create_returns_the_stored_run(self, store: MetadataStore) -> None:
        first = await store.create_run(new_run("r1", request_id="req-7", config={"a": 1}))
        await store.apply([RunChanges(first.pk, 3, rows=[(0, {"x": 1})], summary={"x": 1})])
        again = await store.create_run(new_run("r1", request_id="req-7", config={"a": 1}))
        assert again.pk == first.pk
        assert again.name == first.name
        assert again.history_rows == 1
        assert again.summary == {"x": 1}
        later = await store.create_run(new_run("r2"))
        assert number(later.name) == 2

    async def test_get_missing_run(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            await store.get_run(RunKey("ent", "proj", "nope"))
        await store.create_run(new_run("r1"))
        for key in (RunKey("ent", "other", "r1"), RunKey("other", "proj", "r1")):
            with pytest.raises(RunNotFoundError):
                await store.get_run(key)

    # -- listing ----------------------------------------------------------------------------

    async def test_list_runs_newest_first(self, store: MetadataStore) -> None:
        await store.create_run(new_run("old", created_at=100.0))
        await store.create_run(new_run("new", created_at=300.0))
        await store.create_run(new_run("mid", created_at=200.0))
        await store.create_run(new_run("other", project="p2", created_at=250.0))
        await store.create_run(new_run("theirs", entity="e2", created_at=400.0))

        def ids(runs: list[RunInfo]) -> list[str]:
            return [r.key.run_id for r in runs]

        assert ids(await store.list_runs("ent", "proj")) == ["new", "mid", "old"]
        assert ids(await store.list_runs("ent")) == ["new", "other", "mid", "old"]
        assert ids(await store.list_runs()) == ["theirs", "new", "other", "mid", "old"]
        assert await store.list_runs("ent", "missing") == []
        assert await store.list_runs("nobody") == []

    async def test_list_runs_ties_keep_creation_order(self, store: MetadataStore) -> None:
        for run_id in ("a", "b", "c"):
            await store.create_run(new_run(run_id, created_at=100.0))
        assert [r.key.run_id for r in await store.list_runs("ent", "proj")] == ["c", "b", "a"]

    async def test_list_runs_returns_full_runs(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", config={"a": 1}, tags=["t"]))
        await store.apply([RunChanges(info.pk, 1, rows=[(4, {"x": 1})], summary={"x": 1})])
        (listed,) = await store.list_runs("ent", "proj")
        assert listed == await store.get_run(info.key)

    async def test_list_runs_page_walks_the_listing_order(self, store: MetadataStore) -> None:
        """Pages of any size, followed by their cursors, give exactly list_runs (ties on
        created_at included), for a project, an entity and everything."""
        for i in range(23):
            await store.create_run(new_run(f"r{i:02d}", project=("proj", "p2")[i % 2],
                                           created_at=100.0 + i // 3))  # ties of three
        await store.create_run(new_run("theirs", entity="e2", created_at=110.0))
        for entity, project in (("ent", "proj"), ("ent", ""), ("", ""), ("ent", "missing")):
            whole = await store.list_runs(entity, project)
            for limit in (1, 2, 5, 100):
                paged: list[RunInfo] = []
                after = None
                while True:
                    runs, after = await store.list_runs_page(entity, project, after, limit,
                                                             1 << 30)
                    assert len(runs) <= limit
                    paged += runs
                    if after is None:
                        break
                    assert (after.created_at, after.pk) == (runs[-1].created_at, runs[-1].pk)
                assert paged == whole, (entity, project, limit)

    async def test_list_runs_page_stops_at_its_byte_budget(self, store: MetadataStore) -> None:
        for i in range(5):
            await store.create_run(new_run(f"r{i}", notes="n" * 1000, created_at=100.0 + i))
        runs, after = await store.list_runs_page("ent", "proj", None, 100, 2500)
        assert [r.key.run_id for r in runs] == ["r4", "r3", "r2"]  # the budget is reached
        assert after is not None
        runs, after = await store.list_runs_page("ent", "proj", after, 100, 1)  # one at least
        assert [r.key.run_id for r in runs] == ["r1"]
        runs, after = await store.list_runs_page("ent", "proj", after, 100, 1 << 20)
        assert [r.key.run_id for r in runs] == ["r0"] and after is None

    async def test_list_runs_in_state(self, store: MetadataStore) -> None:
        a = await store.create_run(new_run("a"))
        b = await store.create_run(new_run("b", project="p2"))
        c = await store.create_run(new_run("c"))
        assert {r.key.run_id for r in await store.list_runs_in_state(RUNNING)} == {"a", "b", "c"}
        await store.apply([RunChanges(b.pk, 0, state=FINISHED, finished_at=5.0),
                           RunChanges(c.pk, 0, state=CRASHED, finished_at=6.0)])
        assert [r.key.run_id for r in await store.list_runs_in_state(RUNNING)] == ["a"]
        assert [r.key.run_id for r in await store.list_runs_in_state(FINISHED)] == ["b"]
        assert [r.key.run_id for r in await store.list_runs_in_state(CRASHED)] == ["c"]
        assert await store.list_runs_in_state("failed") == []
        assert (await store.list_runs_in_state(RUNNING))[0] == await store.get_run(a.key)

    # -- apply ------------------------------------------------------------------------------

    async def test_apply_everything_at_once(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", name="before", config={"old": 1}))
        metrics = [{"name": "loss", "step_metric": "epoch", "summary": ["min"], "goal": "minimize"}]
        await store.apply([RunChanges(
            info.pk, ingested_seq=17, rows=[(0, {"loss": 1.0}), (1, {"loss": 0.5})],
            summary={"loss": {"min": 0.5}}, config={"new": 2}, metrics=metrics, name="after",
            notes="n", tags=["x", "y"], group="g", job_type="eval", state=FINISHED, exit_code=3,
            finished_at=1234.5, updated_at=1234.5,
        )])
        got = await store.get_run(info.key)
        assert got.history_rows == 2
        assert got.last_step == 1
        assert got.summary == {"loss": {"min": 0.5}}
        assert got.config == {"new": 2}
        assert got.metrics == metrics
        assert (got.name, got.notes, got.tags, got.group, got.job_type) == (
            "after", "n", ["x", "y"], "g", "eval")
        assert (got.state, got.exit_code, got.finished_at) == (FINISHED, 3, 1234.5)
        assert got.updated_at == 1234.5
        assert got.ingested_seq == 17
        assert await store.scan_history(info.pk, None, None, 10) == [
            (0, {"loss": 1.0}), (1, {"loss": 0.5})]

    async def test_apply_leaves_none_fields_alone(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", name="n", notes="x", tags=["t"], group="g",
                                              job_type="j", config={"c": 1}))
        await store.apply([RunChanges(info.pk, 1, summary={"s": 1}, metrics=[{"name": "m"}])])
        await store.apply([RunChanges(info.pk, 2, rows=[(0, {"a": 1})])])
        got = await store.get_run(info.key)
        assert (got.name, got.notes, got.tags, got.group, got.job_type) == (
            "n", "x", ["t"], "g", "j")
        assert got.config == {"c": 1}
        assert got.summary == {"s": 1}
        assert got.metrics == [{"name": "m"}]
        assert (got.state, got.exit_code, got.finished_at) == (RUNNING, 0, 0)

    async def test_apply_can_clear_with_empty_values(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", notes="x", tags=["t"], config={"c": 1}))
        await store.apply([RunChanges(info.pk, 1, notes="", tags=[], config={}, summary={})])
        got = await store.get_run(info.key)
        assert (got.notes, got.tags, got.config, got.summary) == ("", [], {}, {})

    async def test_crash_grace_and_proxies_are_kept_and_changed(
            self, store: MetadataStore, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        proxy = "http://user:secret@proxy.example:3128"
        info = await store.create_run(new_run("r1", crash_grace=2.5, http_proxy=proxy,
                                              https_proxy="http://p2.example:8080"))
        assert (info.crash_grace, info.http_proxy, info.https_proxy) == (
            2.5, proxy, "http://p2.example:8080")
        await store.apply([RunChanges(info.pk, 3, summary={"s": 1})])  # left alone
        again = await open_store()  # what a restarted daemon reads
        try:
            got = await again.get_run(info.key)
        finally:
            await again.aclose()
        assert (got.crash_grace, got.http_proxy, got.https_proxy) == (
            2.5, proxy, "http://p2.example:8080")
        await store.apply([RunChanges(info.pk, 0, crash_grace=0.0, http_proxy="",
                                      https_proxy="http://p3.example:1")])
        got = await store.get_run(info.key)
        assert (got.crash_grace, got.http_proxy, got.https_proxy) == (
            0.0, "", "http://p3.example:1")
        assert got.ingested_seq == 3  # a lower seq never moves it back
        plain = await store.create_run(new_run("r2"))
        assert (plain.crash_grace, plain.http_proxy, plain.https_proxy) == (0.0, "", "")

    async def test_pending_alerts_carry_their_runs_proxies(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", http_proxy="http://p.example:1",
                                              https_proxy="http://q.example:2"))
        await store.apply([RunChanges(info.pk, 1, alerts=[
            NewAlert(1, "t", "x", "WARN", 1.0, 0, False)])])
        (alert,) = await store.pending_alerts()
        assert (alert.run, alert.http_proxy, alert.https_proxy) == (
            info.key, "http://p.example:1", "http://q.example:2")
        await store.mark_alert_delivered(alert.id, 2.0)
        assert await store.pending_alerts() == []

    async def test_apply_nothing_is_harmless(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([])
        assert await store.get_run(info.key) == info

    async def test_counters_and_ingested_seq(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([RunChanges(info.pk, 5, rows=[(0, {"a": 0}), (1, {"a": 1})])])
        await store.apply([RunChanges(info.pk, 9, rows=[(10, {"a": 10}), (4, {"a": 4})])])
        got = await store.get_run(info.key)
        assert (got.history_rows, got.last_step, got.ingested_seq) == (4, 10, 9)
        # ingested_seq never goes back (recovery resumes after it).
        await store.apply([RunChanges(info.pk, 2, summary={"a": 4})])
        assert (await store.get_run(info.key)).ingested_seq == 9

    async def test_replayed_rows_are_ignored(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[(0, {"v": "first"}), (1, {"v": 1})])])
        await store.apply([RunChanges(info.pk, 2, rows=[(0, {"v": "replayed"}), (1, {"v": 2}),
                                                         (2, {"v": "new"})])])
        # The same step twice in one batch: the first one wins as well.
        await store.apply([RunChanges(info.pk, 3, rows=[(3, {"v": "a"}), (3, {"v": "b"})])])
        got = await store.get_run(info.key)
        assert got.history_rows == 4
        assert got.last_step == 3
        assert await store.scan_history(info.pk, None, None, 100) == [
            (0, {"v": "first"}), (1, {"v": 1}), (2, {"v": "new"}), (3, {"v": "a"})]

    async def test_fork_lineage_round_trips(self, store: MetadataStore) -> None:
        plain = await store.create_run(new_run("src"))
        assert (plain.fork_run_id, plain.fork_step) == ("", -1)
        fork = await store.create_run(new_run("fork", fork_run_id="src", fork_step=7))
        got = await store.get_run(fork.key)
        assert (got.fork_run_id, got.fork_step) == ("src", 7)

    async def test_rewind_sets_rows_aside_then_writes_new_ones(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[(s, {"v": s}) for s in range(6)])])
        # Rewind to step 2 and, in the same change, write a new step 3 (after the rewind).
        await store.apply([RunChanges(info.pk, 2, rows=[(2, {"v": "replayed"}), (3, {"v": "new"})],
                                      rewind_after=2)])
        got = await store.get_run(info.key)
        assert (got.history_rows, got.last_step) == (4, 3)
        assert await store.scan_history(info.pk, None, None, 100) == [
            (0, {"v": 0}), (1, {"v": 1}), (2, {"v": 2}), (3, {"v": "new"})]
        # Rewinding to before every row leaves none; purging drops what was set aside.
        await store.apply([RunChanges(info.pk, 3, rewind_after=-1, purge_rewound=True)])
        got = await store.get_run(info.key)
        assert (got.history_rows, got.last_step) == (0, -1)
        assert await store.scan_history(info.pk, None, None, 100) == []

    async def test_several_runs_in_one_apply(self, store: MetadataStore) -> None:
        a = await store.create_run(new_run("a"))
        b = await store.create_run(new_run("b", project="other"))
        await store.apply([
            RunChanges(a.pk, 1, rows=[(0, {"x": "a0"})], summary={"who": "a"}),
            RunChanges(b.pk, 2, rows=[(0, {"x": "b0"}), (1, {"x": "b1"})], state=FINISHED),
            RunChanges(a.pk, 3, rows=[(1, {"x": "a1"})], tags=["later"]),
        ])
        got_a, got_b = await store.get_run(a.key), await store.get_run(b.key)
        assert (got_a.history_rows, got_a.last_step, got_a.ingested_seq) == (2, 1, 3)
        assert got_a.summary == {"who": "a"} and got_a.tags == ["later"]
        assert (got_b.history_rows, got_b.state, got_b.summary) == (2, FINISHED, {})
        for run, name in ((a, "a"), (b, "b")):
            assert await store.scan_history(run.pk, None, None, 10) == [
                (0, {"x": f"{name}0"}), (1, {"x": f"{name}1"})]

    async def test_apply_is_atomic(self, store: MetadataStore) -> None:
        a = await store.create_run(new_run("a"))
        b = await store.create_run(new_run("b"))
        with pytest.raises(Exception):  # noqa: B017 - which error is the backend's business
            await store.apply([
                RunChanges(a.pk, 1, rows=[(0, {"x": 1})], summary={"x": 1}),
                RunChanges(b.pk, 1, summary={"bad": object()}),  # cannot be stored
            ])
        assert await store.get_run(a.key) == a
        assert await store.scan_history(a.pk, None, None, 10) == []
        await store.apply([RunChanges(a.pk, 1, rows=[(0, {"x": 1})])])  # still usable
        assert (await store.get_run(a.key)).history_rows == 1

    # -- history ----------------------------------------------------------------------------

    async def test_scan_history_bounds_and_limit(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        other = await store.create_run(new_run("r2"))
        await store.apply([RunChanges(info.pk, 1, rows=[(s, {"s": s}) for s in range(0, 20, 2)]),
                           RunChanges(other.pk, 1, rows=[(3, {"s": "other"})])])

        async def steps(lo: int | None, hi: int | None, limit: int = 100) -> list[int]:
            rows = await store.scan_history(info.pk, lo, hi, limit)
            assert all(row == {"s": step} for step, row in rows)
            return [step for step, _ in rows]

        assert await steps(None, None) == list(range(0, 20, 2))
        assert await steps(4, 10) == [4, 6, 8]  # max is exclusive
        assert await steps(3, 11) == [4, 6, 8, 10]
        assert await steps(None, 4) == [0, 2]
        assert await steps(15, None) == [16, 18]
        assert await steps(None, None, limit=3) == [0, 2, 4]
        assert await steps(5, None, limit=2) == [6, 8]
        assert await steps(10, 10) == []
        assert await steps(100, None) == []
        # Paging the way the query service does: resume after the last step seen.
        seen, lo = [], None
        while page := await store.scan_history(info.pk, lo, None, 3):
            seen += [step for step, _ in page]
            lo = page[-1][0] + 1
        assert seen == list(range(0, 20, 2))

    async def test_sample_history(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[(s * 2, {"v": s}) for s in range(101)])])
        got = await store.sample_history(info.pk, 5)
        assert [s for s, _ in got] == [0, 50, 100, 150, 200]
        assert got[1][1] == pack_plain({"v": 25})  # as stored
        assert unpack_plain(got[1][1]) == {"v": 25}
        assert len(await store.sample_history(info.pk, 1000)) == 101  # fewer rows: all of them
        empty = await store.create_run(new_run("r2"))
        assert await store.sample_history(empty.pk, 5) == []

    async def test_sample_history_within_steps_and_keys(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        rows = [(s, {"v": s, **({"rare": -s} if s % 10 == 0 else {})}) for s in range(100)]
        await store.apply([RunChanges(info.pk, 1, rows=rows)])
        # Sampled within [40, 61): the bounds' rows are the first and last (61 is exclusive).
        got = await store.sample_history(info.pk, 3, 40, 61)
        assert [s for s, _ in got] == [40, 50, 60]
        # A key in every tenth row: the sample is taken among the rows that have it.
        got = await store.sample_history(info.pk, 4, keys=["rare"])
        assert [s for s, _ in got] == [0, 30, 60, 90]
        assert unpack_plain(got[1][1]) == {"v": 30, "rare": -30}
        assert [s for s, _ in await store.sample_history(info.pk, 50, 35, 36)] == [35]
        assert await store.sample_history(info.pk, 5, 35, 36, ["rare"]) == []

    async def test_sample_history_keys_are_keys_not_text_of_the_row(
            self, store: MetadataStore) -> None:
        """Only a row holding the key counts, not one holding its name as a value or as part
        of a longer key (nor a non-ASCII key's row missing it)."""
        info = await store.create_run(new_run("r1"))
        rows = [(0, {"note": "val/acc", "val/accuracy": 1.0}), (1, {"val/acc": 0.5}),
                (2, {"ünï": 2.0}), (3, {"ünïcode": 3.0, "val/acc": 0.7})]
        await store.apply([RunChanges(info.pk, 1, rows=rows)])
        assert [s for s, _ in await store.sample_history(info.pk, 10, keys=["val/acc"])] == [1, 3]
        assert [s for s, _ in await store.sample_history(info.pk, 10, keys=["ünï"])] == [2]

    async def test_scan_history_of_a_run_without_rows(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        assert await store.scan_history(info.pk, None, None, 10) == []

    async def test_extreme_steps(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[(INT64_MAX, {"at": "max"}),
                                                         (0, {"at": "zero"})])])
        assert await store.scan_history(info.pk, None, None, 10) == [
            (0, {"at": "zero"}), (INT64_MAX, {"at": "max"})]
        assert await store.scan_history(info.pk, 1, None, 10) == [(INT64_MAX, {"at": "max"})]
        assert await store.scan_history(info.pk, None, INT64_MAX, 10) == [(0, {"at": "zero"})]
        assert (await store.get_run(info.key)).last_step == INT64_MAX

    # -- values -----------------------------------------------------------------------------

    async def test_values_round_trip_exactly(self, store: MetadataStore) -> None:
        info = await store.create_run(new_run("r1", config=TRICKY, tags=["ü", "中文", ""]))
        metrics = [{"name": "ключ", "summary": ["min", "max"], "step_metric": "ünï"}]
        await store.apply([RunChanges(info.pk, 1, rows=[(0, TRICKY), (1, {"only": math.nan})],
                                      summary=TRICKY, metrics=metrics, notes="ü\n✓")])
        for got in (await store.get_run(info.key), (await store.list_runs("ent", "proj"))[0]):
            assert same(got.config, TRICKY)
            assert same(got.summary, TRICKY)
            assert got.metrics == metrics
            assert got.tags == ["ü", "中文", ""]
            assert got.notes == "ü\n✓"
        rows = await store.scan_history(info.pk, None, None, 10)
        assert [step for step, _ in rows] == [0, 1]
        assert same(rows[0][1], TRICKY)
        assert same(rows[1][1], {"only": math.nan})

    async def test_values_keep_key_order(self, store: MetadataStore) -> None:
        row = {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}
        info = await store.create_run(new_run("r1", config=row))
        await store.apply([RunChanges(info.pk, 1, rows=[(0, row)], summary=row)])
        got = await store.get_run(info.key)
        (_, stored), = await store.scan_history(info.pk, None, None, 1)
        for value in (got.config, got.summary, stored):
            assert list(value) == ["z", "a", "m"] and list(value["m"]) == ["y", "b"]

    # -- lifecycle --------------------------------------------------------------------------

    async def test_data_survives_reopening(
        self, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        first = await open_store()
        try:
            info = await first.create_run(new_run("r1", config={"a": 1}))
            await first.apply([RunChanges(info.pk, 4, rows=[(0, {"x": math.inf})],
                                          state=FINISHED)])
        finally:
            await first.aclose()
        second = await open_store()
        try:
            got = await second.get_run(info.key)
            assert (got.pk, got.state, got.config, got.history_rows, got.ingested_seq) == (
                info.pk, FINISHED, {"a": 1}, 1, 4)
            assert await second.scan_history(info.pk, None, None, 10) == [(0, {"x": math.inf})]
            # Names keep counting where they stopped.
            again = await second.create_run(new_run("r2"))
            assert number(again.name) == 2
        finally:
            await second.aclose()

    async def test_aclose_is_idempotent(
        self, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        s = await open_store()
        await s.create_run(new_run("r1"))
        await s.aclose()
        await s.aclose()

    async def test_has_a_url(self, store: MetadataStore) -> None:
        assert isinstance(store.url, str) and store.url
