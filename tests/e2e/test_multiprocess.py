"""Many processes share one daemon: setup() in the parent, spawn children."""

from __future__ import annotations

import multiprocessing as mp
import os

import trackd
from trackd import Api

ROWS = 5000
PROCS = 8


def _value(i: int, k: int) -> float:
    return i * 0.5 + k / 7


def child(index: int, project: str) -> str:
    run = trackd.init(project=project, id=f"mp{index}", config={"index": index})
    for i in range(ROWS):
        run.log({f"m{k}": _value(i, k) for k in range(10)})
    run.finish()
    return run.path


def test_eight_spawned_children_share_one_daemon(clean_sdk):
    trackd.setup()
    address = os.environ["TRACKD_ADDRESS"]
    assert address == f"unix:{clean_sdk.dirs.socket}"
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCS) as pool:
        paths = pool.starmap(child, [(i, "multiproc") for i in range(PROCS)])
    api = Api()
    from trackd._transport.connection import get_connection
    from trackd.v1 import daemon_service_pb2

    conn = get_connection(address)
    info = conn.unary(conn.daemon.GetDaemonInfo, daemon_service_pb2.GetDaemonInfoRequest(), timeout=10)
    assert info.pid == clean_sdk.pid  # the one daemon served every child
    for index, path in enumerate(paths):
        run = api.run(path)
        assert run.state == "finished" and run.history_rows == ROWS
        rows = list(run.scan_history())
        assert len(rows) == ROWS
        for i, row in enumerate(rows):
            assert row["_step"] == i
            for k in range(10):
                assert row[f"m{k}"] == _value(i, k)
        last = {f"m{k}": _value(ROWS - 1, k) for k in range(10)}
        assert {k: run.summary[k] for k in last} == last
        assert run.config == {"index": index}


def forked_child(project: str, q: mp.Queue) -> None:  # type: ignore[type-arg]
    run = trackd.init(project=project)
    run.log({"pid": os.getpid()})
    run.finish()
    q.put(run.path)


def test_forked_children_open_their_own_connection(clean_sdk):
    parent = trackd.init(project="forked")  # the parent has a connection before forking
    parent.log({"who": "parent"})
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=forked_child, args=("forked", q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    paths = [q.get(timeout=5) for _ in procs]
    parent.log({"who": "parent-again"})
    parent.finish()
    api = Api()
    for path in paths:
        assert api.run(path).state == "finished" and api.run(path).history_rows == 1
    assert api.run(parent.path).history_rows == 2
