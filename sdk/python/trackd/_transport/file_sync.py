"""Sends a run's saved files to the daemon (``FileService.SaveFiles``) from a background
thread, so ``run.save()`` only queues a request.

A daemon that opens this user's files (its own user's or root's, on this machine) is given
their paths: it stores ``now`` and ``live`` files before the call returns, watches ``live``
files and stores ``end`` files when the run finishes. Any other daemon (a system-wide one of
its own user, or one on another machine) never opens this user's files, so this thread keeps
their policies itself: it uploads the bytes (``ArtifactService.UploadFile``) and saves them by
blob, ``now`` files at once, ``live`` files at once, again after each change (polled) and once
more at the end, ``end`` files when the run finishes. ``finish()`` waits for the queue to drain
(and for those last uploads) before it finishes the run.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._shared.run_files import name_problem
from trackd.errors import CommError, RpcError

#: SaveFiles calls waiting to be sent; each is one save() call's files. Past this, save()
#: waits for the daemon rather than let a loop that saves every step grow memory.
QUEUE_BOUND = 1024
#: Seconds one SaveFiles call may take (it copies and hashes the now/live files).
SAVE_TIMEOUT = 600.0
RETRIES = 3
#: Seconds between looks at the live files this process keeps itself. A file changed since its
#: last upload is sent once it has stayed the same for one such interval (a checkpoint written
#: in several bursts is sent once), and once more at the end.
LIVE_POLL = 2.0

_POLICY = {"now": 1, "live": 2, "end": 3}
#: Queued after the last save by finish(): send what the kept policies still owe.
_FINAL = "final"


@dataclass
class _Kept:
    """A file whose policy this process keeps (the daemon does not open its path)."""

    path: str
    policy: str  # "live" or "end"
    sent: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of the last upload
    seen: tuple[int, int, int] | None = None  # the same at the last look


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class FileClient:
    """The queue and thread of one run's file saves."""

    def __init__(self, conn: Any, ref: Any, settings: Any = None) -> None:
        self._conn = conn
        self._ref = ref
        #: The run's settings: they govern the error lines printed (show_errors, silent).
        self._settings = settings
        self._queue: queue.Queue[list[tuple[str, str, str]] | str | None] = queue.Queue(
            QUEUE_BOUND)
        #: Live and end files kept here, by name (touched by the thread only).
        self._kept: dict[str, _Kept] = {}
        self._thread = threading.Thread(target=self._run, name="trackd-files", daemon=True)
        self._thread.start()
        #: Messages of saves that failed (also printed), and the first failure.
        self.errors: list[str] = []
        self.failure: Exception | None = None
        #: Every name queued so far (the files of run.dir not among them are stored at finish).
        self.names: set[str] = set()

    def submit(self, files: list[tuple[str, str, str]]) -> None:
        """Queue ``(name, absolute path, policy)`` files; waits only while the queue is full."""
        if files:
            self.names.update(name for name, _, _ in files)
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

    def finish(self, timeout: float | None = None) -> bool:
        """The run ends: send the end files and the last versions of the live files this
        process keeps, after every queued save; False when ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._queue.put(_FINAL, timeout=timeout)
        except queue.Full:
            return False
        return self.flush(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout``), then end the thread once the queue is done."""
        self.flush(timeout)
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # saves still queued: the (daemon) thread ends with the process

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=LIVE_POLL if self._watching() else None)
            except queue.Empty:
                self._guarded(self._look, "live files")
                continue
            try:
                if item is None:
                    return
                if item == _FINAL:
                    self._guarded(self._final, "end and live files")
                else:
                    assert not isinstance(item, str)
                    self._guarded(functools.partial(self._save, item),
                                  ", ".join(n for n, _, _ in item))
            finally:
                self._queue.task_done()

    def _guarded(self, work: Callable[[], None], what: str) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported; the run goes on
            self.failure = self.failure or exc
            self._report(f"could not save {what}: {exc}")

    def _report(self, message: str) -> None:
        self.errors.append(message)
        messages.error(self._settings, visible(message, multiline=True))

    def _call(self, request: Any) -> Any:
        for attempt in range(RETRIES):
            try:
                return self._conn.unary(self._conn.files.SaveFiles, request, timeout=SAVE_TIMEOUT)
            except CommError as exc:
                if isinstance(exc, RpcError) or attempt == RETRIES - 1:
                    raise
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _save(self, files: list[tuple[str, str, str]]) -> None:
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.v1 import file_service_pb2 as pb

        for name, _, _ in files:  # saved again: the newest save's policy holds
            self._kept.pop(name, None)
        if client.is_local(self._conn):
            req = pb.SaveFilesRequest(run=self._ref, files=[
                pb.SaveFile(name=name, path=path, policy=_POLICY[policy])
                for name, path, policy in files])
            resp = self._call(req)
            files = [f for f, r in zip(files, resp.results, strict=True) if r.unreadable]
        for name, path, policy in files:  # the daemon does not open these: kept here
            if policy == "now":
                self._send([(name, path)])
            else:
                kept = self._kept[name] = _Kept(path, policy)
                if policy == "live":
                    self._send_kept(name, kept)

    def _watching(self) -> bool:
        return any(k.policy == "live" for k in self._kept.values())

    def _look(self) -> None:
        """Send the live files that changed since their last upload and have stayed the same
        since the last look."""
        for name, kept in list(self._kept.items()):
            if kept.policy != "live":
                continue
            now = _stamp(kept.path)
            if now is not None and now != kept.sent and now == kept.seen:
                self._send_kept(name, kept)
            kept.seen = now

    def _final(self) -> None:
        for name, kept in list(self._kept.items()):
            now = _stamp(kept.path)
            if kept.policy == "end" and now is None:
                self._report(f"{name}: {kept.path} is gone; it was saved with policy 'end' "
                             "and is not stored")
            elif now is not None and now != kept.sent:
                self._send_kept(name, kept)
        self._kept.clear()

    def _send_kept(self, name: str, kept: _Kept) -> None:
        stamp = _stamp(kept.path)
        self._send([(name, kept.path)])
        kept.sent = kept.seen = stamp

    def _send(self, files: list[tuple[str, str]]) -> None:
        """Upload the bytes of ``(name, path)`` files and save them by blob."""
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.v1 import file_service_pb2 as pb

        by_blob = [pb.SaveFile(name=name, blob_key=client.upload_file(path).blob_key,
                               policy=_POLICY["now"]) for name, path in files]
        self._call(pb.SaveFilesRequest(run=self._ref, files=by_blob))


def unsaved_files(files_dir: Any, known: set[str] | frozenset[str],
                  ignore_globs: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The files under ``files_dir`` (``run.dir``) not among ``known`` names, as ``(name,
    path)``: W&B stores what the user wrote there at the end of the run. Subdirectories that
    are links are not entered; a file link is stored by its target's content when the target is
    a file; names matching ``ignore_globs`` and names a run file cannot have are left out."""
    import fnmatch
    from pathlib import Path


    root = Path(files_dir)
    if not root.is_dir():
        return []
    found: list[tuple[str, str]] = []
    for dirpath, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for fname in sorted(names):
            link = Path(dirpath) / fname
            name = link.relative_to(root).as_posix()
            if name in known or name_problem(name) is not None:
                continue
            if any(fnmatch.fnmatch(name, g) for g in ignore_globs):
                continue
            target = link.resolve()
            if target.is_file():
                found.append((name, str(target)))
    return found


def sync_files(files_dir: Any, conn: Any, ref: Any) -> int:
    """``trackd sync`` of an offline run: store every file of its files directory once (saved
    files, by their links, the environment files and whatever the user wrote there); returns
    how many. Files the daemon may not read are uploaded."""
    found = [(name, path, "now") for name, path in unsaved_files(files_dir, frozenset())]
    client = FileClient(conn, ref)
    for i in range(0, len(found), 500):
        client.submit(found[i:i + 500])
    client.close(None)
    if client.failure is not None:
        raise client.failure
    return len(found)
