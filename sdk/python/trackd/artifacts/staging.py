"""Staging copies for the ``mutable`` policy: a file added to an artifact is copied (and hashed
in the same pass) into a private directory, so that editing or deleting the original before
the upload ends cannot change the version. Each artifact has its own directory
``<staging>/<pid>-<random>/``; it is deleted once the daemon has stored the version (a
daemon running as the same user takes staged files into its store, a hard link, instead of
copying them: deleting the staging copy then frees nothing), or when the artifact
is dropped without being logged (an upload in progress holds on to it). Directories left by
dead processes are removed by :func:`remove_stale` (``trackd artifact cache cleanup``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import threading
import weakref
from pathlib import Path

from trackd._shared.processes import alive
from trackd.artifacts import dirs
from trackd.artifacts.digests import copy_and_hash


class StagingArea:
    """The staging directory of one artifact (made on first use)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._dev = -1
        self._n = 0
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

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
