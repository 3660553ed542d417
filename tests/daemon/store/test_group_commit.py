"""Group commit (``store/group_commit.py``): writes queued together share one transaction, each
in its own savepoint, and every caller still gets its own outcome."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import anyio
import pytest

from trackd_daemon.errors import ResourceExhaustedError, RunAlreadyExistsError
from trackd_daemon.store import open_store
from trackd_daemon.store.group_commit import GroupCommit
from trackd_daemon.store.models import NewRun, RunKey

pytestmark = pytest.mark.anyio


def _table(tmp_path: Path) -> tuple[GroupCommit, sqlite3.Connection, list[int]]:
    """A GroupCommit over a fresh table, and a list of the sizes of the groups it ran."""
    path = str(tmp_path / "g.db")
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    gc = GroupCommit(conn, path, anyio.CapacityLimiter(1))
    sizes: list[int] = []
    commit = gc._commit

    def counting(group):  # type: ignore[no-untyped-def]
        sizes.append(len(group))
        commit(group)

    gc._commit = counting  # type: ignore[method-assign]
    return gc, conn, sizes


def _insert(v: int, fail: bool = False):  # type: ignore[no-untyped-def]
    def fn(c: sqlite3.Connection) -> int:
        c.execute("INSERT INTO t VALUES (?)", (v,))
        if fail:
            raise ValueError(f"write {v} fails after writing")
        return v

    return fn


async def test_a_failing_write_is_rolled_back_alone(tmp_path: Path) -> None:
    gc, conn, sizes = _table(tmp_path)
    results: dict[int, object] = {}
    gate = threading.Event()

    async def write(v: int, fail: bool = False) -> None:
        try:
            results[v] = await gc.write(_insert(v, fail))
        except ValueError as exc:
            results[v] = exc

    async with anyio.create_task_group() as tg:
        # The first write holds the connection until the others are queued behind it.
        tg.start_soon(gc.write, lambda c: gate.wait(10))
        await anyio.sleep(0.05)
        for v in range(10):
            tg.start_soon(write, v, v == 4)
        await anyio.sleep(0.05)
        gate.set()
    assert sizes == [1, 10]  # the ten queued writes went in one transaction
    assert isinstance(results.pop(4), ValueError)
    assert results == {v: v for v in range(10) if v != 4}
    stored = [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")]
    assert stored == [0, 1, 2, 3, 5, 6, 7, 8, 9]  # 4 was rolled back, the others committed


async def test_a_write_alone_is_not_delayed(tmp_path: Path) -> None:
    gc, conn, sizes = _table(tmp_path)
    for v in range(3):
        assert await gc.write(_insert(v)) == v
    assert sizes == [1, 1, 1]
    with pytest.raises(ValueError, match="fails"):
        await gc.write(_insert(7, fail=True))
    assert [v for (v,) in conn.execute("SELECT v FROM t")] == [0, 1, 2]


async def test_urgent_writes_go_before_queued_bulk_writes(tmp_path: Path) -> None:
    """A run being created does not wait for the history rounds queued before it."""
    gc, conn, sizes = _table(tmp_path)
    gate = threading.Event()
    order: list[str] = []

    async def write(v: int, urgent: bool) -> None:
        await gc.write(_insert(v), urgent=urgent)
        order.append(f"{'urgent' if urgent else 'bulk'} {v}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(gc.write, lambda c: gate.wait(10))
        await anyio.sleep(0.05)
        for v in range(3):
            tg.start_soon(write, v, False)
            await anyio.sleep(0.01)
        tg.start_soon(write, 10, True)
        tg.start_soon(write, 11, True)
        await anyio.sleep(0.05)
        gate.set()
    assert sizes == [1, 2, 3]  # the two urgent writes committed first, together
    assert order[:2] == ["urgent 10", "urgent 11"]
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5


async def test_a_lost_transaction_fails_the_whole_group(tmp_path: Path) -> None:
    """SQLite rolls the whole transaction back on a full disk: every write of the group gets
    RESOURCE_EXHAUSTED, the ones that had run too (nothing of them is stored)."""
    gc, conn, sizes = _table(tmp_path)
    gate = threading.Event()

    def disk_full(c: sqlite3.Connection) -> None:
        c.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL
        raise sqlite3.OperationalError("database or disk is full")

    outcomes: list[object] = []

    async def write(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            outcomes.append(await gc.write(fn))
        except ResourceExhaustedError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(gc.write, lambda c: gate.wait(10))
        await anyio.sleep(0.05)
        tg.start_soon(write, _insert(1))
        await anyio.sleep(0.01)
        tg.start_soon(write, disk_full)
        await anyio.sleep(0.01)
        tg.start_soon(write, _insert(2))
        await anyio.sleep(0.05)
        gate.set()
    assert sizes == [1, 3]
    assert len(outcomes) == 3 and all(isinstance(o, ResourceExhaustedError) for o in outcomes)
    assert "cannot grow" in str(outcomes[0]) and str(tmp_path) in str(outcomes[0])
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    assert await gc.write(_insert(3)) == 3  # and the connection goes on


async def test_a_write_cancelled_while_queued_never_runs(tmp_path: Path) -> None:
    gc, conn, _ = _table(tmp_path)
    gate = threading.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(gc.write, lambda c: gate.wait(10))
        await anyio.sleep(0.05)
        with anyio.move_on_after(0.05):
            await gc.write(_insert(1))
        gate.set()
    assert await gc.write(_insert(2)) == 2
    assert [v for (v,) in conn.execute("SELECT v FROM t")] == [2]


async def test_a_cancelled_leader_hands_the_lead_on(tmp_path: Path) -> None:
    gc, conn, sizes = _table(tmp_path)
    gate = threading.Event()
    later: list[int] = []

    async def leader() -> None:
        with anyio.move_on_after(0.05):  # cancelled while its group runs: the group finishes
            await gc.write(lambda c: (gate.wait(10), c.execute("INSERT INTO t VALUES (1)")))

    async def follower(v: int) -> None:
        later.append(await gc.write(_insert(v)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        await anyio.sleep(0.02)
        tg.start_soon(follower, 2)
        tg.start_soon(follower, 3)
        await anyio.sleep(0.1)
        gate.set()
    assert later == [2, 3] and sizes == [1, 2]
    assert [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")] == [1, 2, 3]


async def test_concurrent_creates_share_transactions_and_keep_their_guarantees(
    tmp_path: Path,
) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'trackd.db'}")
    try:
        def new(run_id: str, request_id: str = "") -> NewRun:
            return NewRun(key=RunKey("e", "p", run_id), request_id=request_id,
                          config={"id": run_id}, start_time=time.time())

        first = await store.create_run(new("dup", "req-1"))
        created: dict[str, object] = {}

        async def create(run_id: str, request_id: str = "") -> None:
            try:
                created[f"{run_id}/{request_id}"] = await store.create_run(new(run_id, request_id))
            except RunAlreadyExistsError as exc:
                created[f"{run_id}/{request_id}"] = exc

        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(create, f"r{i}")
            tg.start_soon(create, "dup", "req-1")  # a retried create: the same run
            tg.start_soon(create, "dup", "req-2")  # another create of the same id: refused
        retry = created.pop("dup/req-1")
        assert retry.pk == first.pk and retry.config == {"id": "dup"}  # type: ignore[attr-defined]
        assert isinstance(created.pop("dup/req-2"), RunAlreadyExistsError)
        infos = list(created.values())
        assert len({i.pk for i in infos}) == 40  # type: ignore[attr-defined]
        # Every create saw the ones committed before it in its group: names count 2..41.
        numbers = sorted(int(i.name.rsplit("-", 1)[1]) for i in infos)  # type: ignore[attr-defined]
        assert numbers == list(range(2, 42))
        for i in infos:
            stored = await store.get_run(i.key)  # type: ignore[attr-defined]
            assert stored == i and stored.config == {"id": i.key.run_id}  # type: ignore[attr-defined]
    finally:
        await store.aclose()
