"""Staging copies for the ``mutable`` policy: a file added to an artifact is copied into a
private directory, so that editing or deleting the original before the upload ends cannot
change the version; under a run the daemon is told about the copies as they are made, and
stores them while the rest are copied (:meth:`StagingArea.announce`). Each artifact has its
own directory ``<staging>/<pid>-<random>/``; it is deleted once the daemon has stored the
version (a daemon running as the same user takes staged files into its store, a hard link,
instead of copying them: deleting the staging copy then frees nothing), or when the artifact
is dropped without being logged (an upload in progress holds on to it). Directories left by
dead processes are removed by :func:`remove_stale` (``trackd artifact cache cleanup``).
"""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import shutil
import stat
import threading
import weakref
from pathlib import Path
from typing import Any

from trackd._shared.processes import alive
from trackd.artifacts import dirs
from trackd.artifacts.digests import copy_and_hash

#: Seconds to wait for the answers to announce() before logging (the daemon answers at once).
HINT_WAIT = 10.0


class StagingArea:
    """The staging directory of one artifact (made on first use)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._dev = -1
        self._n = 0
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None
        #: Answers still to come from the daemon to announce().
        self._announced: list[concurrent.futures.Future[Any]] = []

    @property
    def path(self) -> Path:
        with self._lock:
            if self._dir is None:
                root = dirs.staging_dir()
                root.mkdir(parents=True, exist_ok=True)
                made = root / f"{os.getpid()}-{secrets.token_hex(6)}"
                made.mkdir(mode=0o700)
                # Dropped (the artifact and any upload of it are gone): nothing reads the copies.
                self._finalizer = weakref.finalize(self, _remove_tree, str(made))
                self._dir = made
                self._dev = made.stat().st_dev
            return self._dir

    @property
    def dev(self) -> int:
        """The device the staging directory is on."""
        _ = self.path
        return self._dev

    def new_path(self) -> Path:
        """A fresh file name in this staging directory (safe from several threads; the
        directory is private to this artifact, so a counter is unique enough)."""
        base = self.path
        with self._lock:
            self._n += 1
            n = self._n
        return base / str(n)

    def stage(self, src: str) -> tuple[str, str, int]:
        """Copy ``src`` here, hashing it on the way: ``(staged path, b64 md5, size)``. The copy
        is made read-only so nothing edits it by mistake."""
        dst = self.new_path()
        digest, size = copy_and_hash(src, dst)
        os.chmod(dst, stat.S_IRUSR)
        return str(dst), digest, size

    def announce(self, paths: list[str]) -> None:
        """Tell the daemon about copies just made here, so that it hashes and stores them
        while the rest are copied (see :func:`trackd._transport.artifact_client.prepare_staged`)."""
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd._transport import artifact_client as client

        try:
            sent = client.prepare_staged(paths)
        except Exception:  # noqa: BLE001 - a hint: the copies are stored when logged anyway
            return
        if sent is not None:
            with self._lock:
                self._announced.append(sent)

    def settle(self) -> None:
        """Wait for the daemon's answers to :meth:`announce` (it answers at once), so that
        LogArtifact comes after them and waits for the copies it holds; errors are ignored
        (the copies are then stored by LogArtifact as always)."""
        with self._lock:
            sent, self._announced = self._announced, []
        if sent:  # all together: a connection lost meanwhile costs HINT_WAIT once, not each
            concurrent.futures.wait(sent, timeout=HINT_WAIT)

    def release(self) -> None:
        """Delete the staging directory (once the version is stored)."""
        with self._lock:
            if self._dir is not None:
                _remove_tree(str(self._dir))
                self._dir = None
                if self._finalizer is not None:
                    self._finalizer.detach()


def _remove_tree(path: str | None) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale() -> int:
    """Delete staging directories whose process is gone; returns how many."""
    root = dirs.staging_dir()
    removed = 0
    try:
        children = list(root.iterdir())
    except OSError:
        return 0
    for child in children:
        pid_text = child.name.split("-", 1)[0]
        if pid_text.isdigit() and alive(int(pid_text)):
            continue
        _remove_tree(str(child))
        removed += 1
    return removed
