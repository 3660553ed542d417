"""``trackd sync RUN_DIR``: ingest offline run directories into the daemon's store.

An offline run directory holds ``run.json`` (the run's identity and initial metadata) and
``run-<id>.wal`` (every record, in the daemon's write-ahead-log format). Syncing creates the
run if the store lacks it, streams the records the daemon does not have yet (it drops
duplicates by seq, so a partial earlier sync is simply continued) and finishes the run when the
log has its exit record. A marker ``run-<id>.wal.synced`` records the last synced seq: syncing
the same directory again adds nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackd._base.names import STATE_NAMES
from trackd._shared.values import fill_map
from trackd._shared.walfile import read_records
from trackd._transport.file_sync import sync_files
from trackd._transport.setup import ensure_daemon, state
from trackd.artifacts.offline import sync_artifacts
from trackd.errors import (
    CommError,
    Error,
    FailedPreconditionError,
    RunAlreadyExistsError,
    RunFinishedError,
    UsageError,
    from_grpc,
)

#: Records per request while syncing.
SYNC_BATCH = 1000


def find_run_dirs(path: Path) -> list[Path]:
    """``path`` itself if it is a run directory, else the run directories below it."""
    if (path / "run.json").is_file():
        return [path]
    return sorted(p.parent for p in path.glob("*/run.json"))


def sync_dirs(paths: list[str], *, echo: Callable[[str], None] = print) -> int:
    """Sync each directory; returns 0 when all succeeded, 1 otherwise."""
    status = 0
    dirs: list[Path] = []
    for p in paths:
        found = find_run_dirs(Path(p))
        if not found:
            echo(f"trackd: {p} holds no offline run (no run.json)")
            status = 1
        dirs.extend(found)
    for d in dirs:
        try:
            echo(sync_dir(d))
        except Error as exc:
            echo(f"trackd: could not sync {d}: {exc}")
            status = 1
    return status


def _read(run_dir: Path) -> tuple[dict[str, Any], Path, list[Any]]:
    # not loaded by `import trackd`: protobuf messages
    from trackd._shared.record_spans import expand
    from trackd.v1 import record_pb2

    meta = json.loads((run_dir / "run.json").read_text())
    wal = run_dir / f"run-{meta['run_id']}.wal"
    by_seq: dict[int, Any] = {}
    if wal.exists():
        for payload in read_records(wal):
            for batch_rec in record_pb2.WalEntry.FromString(payload).records:
                for rec in expand(batch_rec):  # a rows record: each row's own record
                    by_seq.setdefault(rec.seq, rec)
    records = [by_seq[s] for s in sorted(by_seq)]
    # A run that went offline mid-way has a log starting after what the daemon acknowledged;
    # keep the gap-free run of records from the first one (a gap would be a torn write).
    for i, rec in enumerate(records):
        if rec.seq != records[0].seq + i:
            records = records[:i]
            break
    return meta, wal, records


def sync_dir(run_dir: Path) -> str:
    """Sync one offline run directory; returns a line for the user.

    :raises trackd.errors.Error: the directory is unreadable or the daemon refused the run.
    """
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir} is not an offline run directory (no run.json)")
    meta, wal, records = _read(run_dir)
    marker = wal.with_name(wal.name + ".synced")
    last = records[-1].seq if records else 0
    path = f"{meta['entity']}/{meta['project']}/{meta['run_id']}"
    if marker.exists() and json.loads(marker.read_text()).get("seq", 0) >= last:
        return f"{path}: already synced ({last} records)"

    # not loaded by `import trackd`: gRPC, protobuf messages
    from trackd._transport.connection import get_connection
    from trackd.v1 import run_pb2, run_service_pb2

    conn = get_connection(ensure_daemon(state()))
    ref = run_pb2.RunRef(entity=meta["entity"], project=meta["project"], run_id=meta["run_id"])
    req = run_service_pb2.CreateRunRequest(
        ref=ref, name=meta.get("name", ""), notes=meta.get("notes", ""), tags=meta.get("tags", []),
        group=meta.get("group", ""), job_type=meta.get("job_type", ""),
        start_time=meta.get("start_time", 0.0), host=meta.get("host", ""),
        program=meta.get("program", ""), sweep_id=meta.get("sweep_id", ""),
        request_id=f"sync-{meta['run_id']}-{meta.get('start_time', 0)}",
    )
    req.config.SetInParent()
    fill_map(req.config, meta.get("config", {}))
    try:
        conn.unary(conn.runs.CreateRun, req, timeout=60)
    except RunAlreadyExistsError:
        pass  # created online before the run went offline, or by an earlier partial sync
    try:
        sent = conn.call(_stream(conn, ref, records), timeout=600)
    except RunFinishedError:
        sent = 0

    artifacts = sync_artifacts(run_dir, ref)  # outputs of the run, logged before it finishes

    try:  # the run's files: saved files and its environment, stored once, before it finishes
        stored, files_note = sync_files(run_dir / "files", conn, ref), ""
    except FailedPreconditionError:
        stored, files_note = 0, ""  # finished by an earlier sync, which stored them
    except CommError as exc:
        stored, files_note = 0, f" (its files were not stored: {exc})"
    has_exit = any(r.WhichOneof("kind") == "exit" for r in records)
    state_name = "running"
    if has_exit:
        resp = conn.unary(conn.runs.FinishRun, run_service_pb2.FinishRunRequest(
            ref=ref, last_seq=last, timeout_seconds=60), timeout=120)
        state_name = STATE_NAMES.get(resp.run.state, "unknown")
    marker.write_text(json.dumps({"seq": last, "synced_at": time.time()}))
    note = "" if has_exit else " (no exit record: the run ended without finishing)"
    files = f", {stored} file(s) stored" if stored else ""
    return (f"{path}: synced {sent} new of {last} records{artifacts}, state {state_name}{note}"
            f"{files}{files_note}")


async def _stream(conn: Any, ref: Any, records: list[Any]) -> int:
    """Send the records the daemon lacks; returns how many were sent."""
    import grpc

    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import record_service_pb2

    call = conn.record_stream()
    try:
        await call.write(record_service_pb2.StreamRecordsRequest(run=ref).SerializeToString())
        first = await call.read()
        acked = first.acked_seq
        todo = [r for r in records if r.seq > acked]
        for i in range(0, len(todo), SYNC_BATCH):
            batch = record_service_pb2.StreamRecordsRequest(records=todo[i:i + SYNC_BATCH])
            await call.write(batch.SerializeToString())
        if todo and todo[0].seq != acked + 1:
            raise Error(f"the daemon has records up to seq {acked}, but this log starts at "
                        f"seq {todo[0].seq}: records in between are missing")
        target = todo[-1].seq if todo else acked
        while acked < target:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                raise Error("the daemon closed the stream before acknowledging every record")
            acked = resp.acked_seq
        await call.done_writing()
        return len(todo)
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc) from None
    finally:
        call.cancel()
