"""The sender's buffer: rows ``log()`` packs gather in items of up to ``ROWS_PER_ITEM`` rows
(one HistoryRowsRecord each when sent) between the other records, whose seqs and order they
keep, from any number of threads; an offline run's log and a synced run read them back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import trackd
from trackd import Api
from trackd._init.sync import sync_dirs
from trackd._shared.record_spans import expand
from trackd._shared.values import unpack_map
from trackd._shared.walfile import read_records
from trackd._transport import record_buffer, record_items
from trackd.v1 import record_pb2


def _logged_records(wal: Path) -> list[record_pb2.Record]:
    out = []
    for payload in read_records(wal):
        for rec in record_pb2.WalEntry.FromString(payload).records:
            out.extend(expand(rec))
    return out


def test_rows_between_other_records_keep_their_seqs_and_order(clean_sdk):
    run = trackd.init(project="buffer", mode="offline")
    n = record_items.ROWS_PER_ITEM * 3 + 7
    after = {5, record_items.ROWS_PER_ITEM * 2 + 3, n - 2}  # long stretches of rows between
    for i in range(n):
        run.log({"i": i})
        if i in after:
            run.summary["at"] = i  # a record of another kind ends the item of rows
    run.log({"i": n}, step=n)  # a row with a step goes as a record of its own
    run.finish()
    wal = next(Path(run.dir).parent.glob("run-*.wal"))
    records = _logged_records(wal)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    rows = [unpack_map(r.history.packed_data)["i"] for r in records if r.HasField("history")]
    assert rows == list(range(n + 1))
    by_seq = {r.seq: r for r in records}
    summaries = [r.seq for r in records if r.HasField("summary")]
    assert {unpack_map(by_seq[s - 1].history.packed_data)["i"] for s in summaries} == after
    sync_dir = Path(run.dir).parent
    assert sync_dirs([str(sync_dir)], echo=lambda _: None) == 0
    assert [r["i"] for r in Api().run(run.path).scan_history()] == list(range(n + 1))


def test_rows_logged_from_several_threads_are_all_kept_once(clean_sdk):
    run = trackd.init(project="buffer", settings=trackd.Settings(max_buffered_records=50))
    per_thread = 3000

    def worker(t: int) -> None:
        for i in range(per_thread):
            run.log({f"t{t}": i})

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run.finish()
    assert run._sender.buffered == 0 and run._sender._buffered_bytes == 0
    rows = list(Api().run(run.path).scan_history())
    assert len(rows) == 4 * per_thread
    assert sorted(r["_step"] for r in rows) == list(range(4 * per_thread))
    for t in range(4):  # each thread's rows in its own order
        assert [r[f"t{t}"] for r in rows if f"t{t}" in r] == list(range(per_thread))


def test_requests_of_wide_rows_stay_near_the_byte_bound(clean_sdk):
    run = trackd.init(project="buffer", mode="offline")
    wide = {f"key_{k:04d}": float(k) for k in range(1000)}  # about 16 KiB packed
    for i in range(300):
        run.log({**wide, "i": i})
    run.finish()
    wal = next(Path(run.dir).parent.glob("run-*.wal"))
    sizes = [len(p) for p in read_records(wal)]
    assert max(sizes) <= record_buffer.MAX_BATCH_BYTES + record_items.ITEM_BYTES + 64 * 1024
    rows = [unpack_map(r.history.packed_data)["i"] for r in _logged_records(wal)
            if r.HasField("history")]
    assert rows == list(range(300))


def test_a_gap_in_the_seqs_is_told_at_once(clean_sdk, capsys):
    """Records numbered here and lost before they were sent (what the sender's race of
    `_take_batch` once did) are told at once, not only by a finish() that waits for them."""
    settings = trackd.Settings(reconnect_timeout=3, finish_timeout=20)  # never hangs here
    run = trackd.init(project="buffer", settings=settings)
    run.log({"i": 0})
    run._sender.flush(30)
    sender = run._sender
    with sender._put_lock:  # a seq handed out and never queued: one record lost here
        sender._seal_tail()
        sender._next_seq += 1
    run.log({"i": 1})
    deadline = time.monotonic() + 2  # well before reconnect_timeout
    err = ""
    while "were lost here before they were sent" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capsys.readouterr().err
    assert f"run {run.id}: the daemon holds this process's records up to seq 1" in err, err
    assert err.count("were lost here") == 1  # once, though the stream is retried
    t0 = time.monotonic()
    run.finish()  # reconnecting cannot mend the gap: the run goes on offline
    assert time.monotonic() - t0 < 3 + 10
    err += capsys.readouterr().err
    assert err.count("were lost here") == 1
    assert "was saved offline" in err
    wal = next(Path(run.dir).parent.glob("run-*.wal"))
    # The row after the gap (seq 3; seq 2 was lost) is kept in the run's offline log.
    assert [r.seq for r in _logged_records(wal) if r.HasField("history")] == [3]
