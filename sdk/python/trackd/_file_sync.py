"""Sends a run's saved files to the daemon (``FileService.SaveFiles``) from a background
thread, so ``run.save()`` only queues a request.

The daemon stores ``now`` and ``live`` files before the call returns, watches ``live`` files
and stores ``end`` files when the run finishes. A file the daemon may not read (it runs as
another user, or on another machine) is uploaded (``ArtifactService.UploadFile``) and saved by
its bytes: it is stored once, whatever its policy (a warning says so for live and end files).
``finish()`` waits for the queue to drain before it finishes the run.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from typing import Any

from trackd._terminal import visible
from trackd.errors import CommError

#: SaveFiles calls waiting to be sent; each is one save() call's files. Past this, save()
#: waits for the daemon rather than let a loop that saves every step grow memory.
QUEUE_BOUND = 1024
#: Seconds one SaveFiles call may take (it copies and hashes the now/live files).
SAVE_TIMEOUT = 600.0
RETRIES = 3

_POLICY = {"now": 1, "live": 2, "end": 3}


class FileClient:
    """The queue and thread of one run's file saves."""

    def __init__(self, conn: Any, ref: Any) -> None:
        self._conn = conn
        self._ref = ref
        self._queue: queue.Queue[list[tuple[str, str, str]] | None] = queue.Queue(QUEUE_BOUND)
        self._thread = threading.Thread(target=self._run, name="trackd-files", daemon=True)
        self._thread.start()
        #: Messages of saves that failed (also printed), and the first failure.
        self.errors: list[str] = []
        self.failure: Exception | None = None

    def submit(self, files: list[tuple[str, str, str]]) -> None:
        """Queue ``(name, absolute path, policy)`` files; waits only while the queue is full."""
        if files:
            self._queue.put(files)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued save is done; False when ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout``), then end the thread once the queue is done."""
        self.flush(timeout)
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # saves still queued: the (daemon) thread ends with the process

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._save(item)
            except Exception as exc:  # noqa: BLE001 - reported; the run goes on
                self.failure = self.failure or exc
                self._report(f"could not save {', '.join(n for n, _, _ in item)}: {exc}")
            finally:
                self._queue.task_done()

    def _report(self, message: str) -> None:
        self.errors.append(message)
        print(f"trackd: {visible(message, multiline=True)}", file=sys.stderr)

    def _call(self, request: Any) -> Any:
        for attempt in range(RETRIES):
            try:
                return self._conn.unary(self._conn.files.SaveFiles, request, timeout=SAVE_TIMEOUT)
            except CommError as exc:
                from trackd.errors import RpcError

                if isinstance(exc, RpcError) or attempt == RETRIES - 1:
                    raise
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _save(self, files: list[tuple[str, str, str]]) -> None:
        from trackd.v1 import file_service_pb2 as pb

        req = pb.SaveFilesRequest(run=self._ref, files=[
            pb.SaveFile(name=name, path=path, policy=_POLICY[policy])
            for name, path, policy in files])
        resp = self._call(req)
        unreadable = [f for f, r in zip(files, resp.results) if r.unreadable]
        if not unreadable:
            return
        from trackd.artifacts import client

        by_blob = []
        for name, path, policy in unreadable:
            up = client.upload_file(path)
            by_blob.append(pb.SaveFile(name=name, blob_key=up.blob_key,
                                       policy=_POLICY[policy]))
            if policy != "now":
                self._report(f"{name}: the daemon may not read {path}, so its bytes were sent "
                             f"once now; policy {policy!r} cannot apply")
        self._call(pb.SaveFilesRequest(run=self._ref, files=by_blob))


def sync_files(files_dir: Any, conn: Any, ref: Any) -> int:
    """``trackd sync`` of an offline run: store every file of its files directory once (saved
    files, by their links, and the environment files); returns how many. Files the daemon may
    not read are uploaded."""
    import os
    from pathlib import Path

    from trackd._shared.run_files import name_problem

    root = Path(files_dir)
    if not root.is_dir():
        return 0
    found: list[tuple[str, str, str]] = []
    for dirpath, _dirs, names in os.walk(root, followlinks=False):
        for fname in sorted(names):
            link = Path(dirpath) / fname
            name = link.relative_to(root).as_posix()
            target = link.resolve()
            if name_problem(name) is None and target.is_file():
                found.append((name, str(target), "now"))
    client = FileClient(conn, ref)
    for i in range(0, len(found), 500):
        client.submit(found[i:i + 500])
    client.close(None)
    if client.failure is not None:
        raise client.failure
    return len(found)
