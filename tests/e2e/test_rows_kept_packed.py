"""Rows of plain numbers the daemon keeps packed (trackd_daemon/packed_rows.py), against a real daemon:
each stored row is byte for byte what packing the logged row with ``_step``, ``_runtime`` and
``_timestamp`` added gives (the stored encoding of every other row), and the run's summary,
row count and last step are what they were before."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import msgpack

import trackd
from tests.e2e.raw import create_run, raw_stub
from tests.helpers import wait_for
from trackd._shared.values import floats_first, pack_map
from trackd._transport.connection import make_stub
from trackd.v1 import record_service_pb2, run_pb2, run_service_pb2
from trackd_daemon.store.row_codec import pack_plain

LONG = "a/key/longer/than/thirty/one/characters"  # a str8 key in MessagePack


def _row(i: int, keys: list[str]) -> dict[str, float]:
    specials = {7: math.nan, 11: math.inf, 13: -0.0}
    return {k: specials.get(i % 17, i * 0.5 + j) if j == 0 else i / (j + 1)
            for j, k in enumerate(keys)}


def test_stored_rows_are_what_the_general_encoding_gives(own_daemon) -> None:  # type: ignore[no-untyped-def]
    narrow = [f"m{j}" for j in range(9)] + [LONG]
    wide = [f"w/{j:03d}" for j in range(300)]
    logged: list[dict[str, object]] = []
    with trackd.init(project="packed", id="kept1") as run:
        start = run.start_time
        for i in range(2500):  # several requests: the first checks the keys, the rest stay packed
            logged.append(_row(i, narrow))
            run.log(dict(logged[-1]))
        logged.append({"m0": 1, "s": "text"})  # not floats: decoded
        run.log(dict(logged[-1]))
        for i in range(300):
            logged.append(_row(i, wide))
            run.log(dict(logged[-1]))
        for i in range(1500):  # ints, booleans and nil too (an int that grows: decoded)
            logged.append({"epoch": i // 100, "flag": i % 3 == 0, "lr": 1e-3 / (i + 1),
                           "gap": None, "seen": i * 50})
            run.log(dict(logged[-1]))

    db = Path(own_daemon.dirs.env["TRACKD_ROOT"]) / "trackd.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        pk, summary, count, last_step = conn.execute(
            "SELECT r.id, r.summary, r.history_rows, r.last_step FROM runs r"
            " WHERE r.run_id = 'kept1'").fetchone()
        rows = conn.execute("SELECT step, row FROM history WHERE run = ? ORDER BY step",
                            (pk,)).fetchall()
    finally:
        conn.close()
    assert (count, last_step, len(rows)) == (len(logged), len(logged) - 1, len(logged))
    for (step, blob), row in zip(rows, logged):
        stored = msgpack.unpackb(bytes(blob), raw=False)
        assert stored["_step"] == step
        assert abs(stored["_runtime"] - max(0.0, stored["_timestamp"] - start)) < 1e-6
        want = {**floats_first(row), "_step": step, "_runtime": stored["_runtime"],
                "_timestamp": stored["_timestamp"]}
        assert bytes(blob) == pack_plain(want), f"step {step}"
    kept = json.loads(summary)
    last_wide = msgpack.unpackb(bytes(rows[2500 + 1 + 299][1]), raw=False)
    assert {k: kept[k] for k in wide} == {k: last_wide[k] for k in wide}
    assert {k: kept[k] for k in logged[-1]} == logged[-1]
    assert kept["_step"] == len(logged) - 1
    assert kept["s"] == "text"
    final_narrow = logged[2499]
    assert repr([kept[k] for k in narrow[1:]]) == repr([final_narrow[k] for k in narrow[1:]])


def _loaded(pid: int, library: str) -> bool:
    with open(f"/proc/{pid}/maps") as f:
        return f"/{library}/" in f.read()


def test_ingesting_history_does_not_load_numpy(own_daemon) -> None:  # type: ignore[no-untyped-def]
    """NumPy is some 10 MiB of a daemon's memory: charts and sweeps load it when they first
    need it, and a daemon that only takes history never does."""
    assert own_daemon.proc is not None
    with trackd.init(project="packed", id="nonumpy") as run:
        for i in range(3000):
            run.log({"loss": 1 / (i + 1), "acc": i / 3000, "epoch": i // 100, "ok": i % 2 == 0})
        run.log({"text": "x", "nested": {"a": 1.0}})
    assert trackd.Api().run("packed/nonumpy").summary["loss"] == 1 / 3000
    assert not _loaded(own_daemon.proc.pid, "numpy")


def _rows_request(ref: dict[str, str] | None, first: int, last: int) -> bytes:
    """Records ``first`` to ``last`` as one history_rows record: the row of seq ``s`` is
    ``{"a": s - 1, "b": 2 * (s - 1)}`` (floats)."""
    req = record_service_pb2.StreamRecordsRequest()
    if ref:
        req.run.CopyFrom(run_pb2.RunRef(**ref))
    rec = req.records.add(seq=first)
    values = [float(s - 1) for s in range(first, last + 1)]
    rec.history_rows.packed_data.extend(pack_map({"a": v, "b": 2 * v}) for v in values)
    rec.history_rows.timestamps.extend(1000.0 + v for v in values)
    return req.SerializeToString()


def _stored(own_daemon, run_id: str) -> list[tuple[int, dict[str, float]]]:  # type: ignore[no-untyped-def]
    db = Path(own_daemon.dirs.env["TRACKD_ROOT"]) / "trackd.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT h.step, h.row FROM history h JOIN runs r ON r.id = h.run"
                            " WHERE r.run_id = ? ORDER BY h.step", (run_id,)).fetchall()
    finally:
        conn.close()
    return [(step, msgpack.unpackb(bytes(blob), raw=False)) for step, blob in rows]


def test_resent_packed_rows_are_stored_once_also_after_a_restart(own_daemon) -> None:  # type: ignore[no-untyped-def]
    """A request's rows that stay packed are one record for the daemon: a client that resends
    some already acknowledged (it reconnected) has them dropped, the new ones kept, in the
    stream and when the daemon rebuilds the run from its log after a restart."""
    ref = {"entity": "raw", "project": "packed", "run_id": "resent1"}
    channel, stub = raw_stub(own_daemon)
    create_run(channel, ref)
    requests = [_rows_request(ref, 1, 10),  # checks the key set: decoded
                _rows_request(None, 11, 60),  # stays packed
                _rows_request(None, 41, 100),  # 41-60 resent
                _rows_request(None, 21, 40)]  # all resent
    assert [r.acked_seq for r in stub(iter(requests))] == [10, 60, 100, 100]
    channel.close()
    assert wait_for(lambda: len(_stored(own_daemon, "resent1")) == 100)
    own_daemon.stop()  # the run is live: the next start rebuilds it from its log
    own_daemon.start()
    channel, stub = raw_stub(own_daemon)
    requests = [_rows_request(ref, 91, 110)]  # 91-100 resent to the rebuilt run
    assert [r.acked_seq for r in stub(iter(requests))] == [110]
    runs = make_stub(channel, run_service_pb2, "RunService")
    runs.FinishRun(run_service_pb2.FinishRunRequest(ref=run_pb2.RunRef(**ref), last_seq=110))
    channel.close()
    stored = _stored(own_daemon, "resent1")
    assert [step for step, _ in stored] == list(range(110))
    assert all(row["a"] == step and row["b"] == 2 * step and row["_step"] == step
               and row["_timestamp"] == 1000.0 + step for step, row in stored)
