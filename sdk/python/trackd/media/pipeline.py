"""The run's media encoder: data types logged with ``run.log()`` are encoded and stored off the
training loop's thread.

``log()`` only validates the row (:func:`trackd._shared.values.normalize_row` collects each data
type as a :class:`Job` with an empty *slot* where its JSON dict goes) and hands the jobs to
:meth:`MediaEncoder.submit`, which returns a future at once. A worker thread encodes the row's
values (PNG, GIF, WAV, JSON...), writes each file into the run's files directory under W&B's
layout (``media/images/<key>_<step>_<sha256[:20]>.png``...), fills the slots and queues the
files for the daemon (policy ``now``; an offline run keeps them for ``trackd sync``). The
sender sends the row once its future is done, so rows keep their order and each row holds
W&B's complete dicts (``path``, ``sha256``, ``size``...).

Memory stays bounded: what waiting values hold is counted. Past ``MEMORY_BOUND`` a value's
data is staged to a file under the run's directory (``tmp/media``) and read back by the
worker; past ``STAGING_BOUND`` on disk as well, ``submit`` (so ``log()``) waits for the workers.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackd._base.terminal import visible
from trackd.media.base import Media, digest

log = logging.getLogger("trackd")

#: Bytes that logged-but-unencoded values may hold in memory: a few seconds of images at the
#: rate a fast loop logs them, without letting a slow encoder grow the training process.
MEMORY_BOUND = 256 * 1024 * 1024
#: Bytes staged on disk on top of that before log() waits for the encoder: what a burst of
#: media (a validation pass) may be ahead of the workers. Staged files are removed once encoded.
STAGING_BOUND = 4 * 1024 * 1024 * 1024
#: Worker threads. The encoders (Pillow, zlib, imageio) release the GIL while they work, so the
#: training loop keeps its thread; more workers than cores would only compete with it.
WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))

#: Characters a key may not bring into a file name.
_BAD = str.maketrans({"\\": "_", "\0": "_", ":": "_"})


def file_key(key: str) -> str:
    """``key`` made safe as the start of a media file name: slashes stay (they make
    subdirectories, as in W&B); empty, ``.`` and ``..`` parts become ``_``."""
    parts = key.translate(_BAD).split("/")
    return "/".join("_" if p in ("", ".", "..") else p for p in parts)


@dataclass
class Job:
    """One logged value (or list of values logged together) waiting to be encoded."""

    media: Media | Sequence[Media]
    slot: Any  # the dict (or list) in the row that receives the JSON
    key: str
    size: int = 0
    spilled: bool = False

    def encode(self, out: RunOut) -> Any:
        if isinstance(self.media, Media):
            return self.media._encode(out)
        return type(self.media[0])._encode_list(self.media, out)

    def items(self) -> Sequence[Media]:
        return [self.media] if isinstance(self.media, Media) else self.media


def make_job(value: Media | Sequence[Media], key: str) -> Job:
    """A job for ``value`` and its empty slot (a dict, or a list for values whose lists are
    plain lists)."""
    first = value if isinstance(value, Media) else value[0]
    grouped = isinstance(value, Media) or first._list_type is not None
    items = [value] if isinstance(value, Media) else value
    return Job(value, {} if grouped else [], key, sum(m._raw_size() for m in items))


class Jobs(list[Job]):
    """The jobs of one row, collected by :func:`trackd._shared.values.normalize_row`."""

    def add(self, value: Media | Sequence[Media], key: str) -> Any:
        job = make_job(value, key)
        self.append(job)
        return job.slot


def fill(slot: Any, result: Any) -> None:
    """Put ``result`` (a JSON dict or list) into ``slot`` in place."""
    if isinstance(slot, dict):
        slot.clear()
        slot.update(result)
    else:
        slot[:] = result


class RunOut:
    """Writes one value's files into the run's files directory, named as W&B names them."""

    def __init__(self, files_dir: Path, key: str, step: int) -> None:
        self._dir = files_dir
        self._prefix = f"{file_key(key)}_{step}_"
        self.saved: list[tuple[str, str, str]] = []

    def put(self, subdir: str, ext: str, data: bytes) -> dict[str, Any]:
        sha = digest(data)
        name = f"media/{subdir}/{self._prefix}{sha[:20]}.{ext}"
        path = self._dir / name
        if not path.is_file() or path.stat().st_size != len(data):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        self.saved.append((name, str(path), "now"))
        return {"path": name, "sha256": sha, "size": len(data)}


class MediaEncoder:
    """A run's background encoder (see the module doc). ``save`` queues files for the daemon
    (None for an offline run: the files stay in the run directory for ``trackd sync``)."""

    def __init__(self, files_dir: Path,
                 save: Callable[[list[tuple[str, str, str]]], None] | None,
                 warn: Callable[[str], None] | None = None,
                 memory_bound: int = MEMORY_BOUND, staging_bound: int = STAGING_BOUND,
                 workers: int = WORKERS) -> None:
        self._files_dir = files_dir
        self._staging = files_dir.parent / "tmp" / "media"
        self._save = save
        self._warn = warn
        self._memory_bound = memory_bound
        self._staging_bound = staging_bound
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "trackd-media")
        self._room = threading.Condition()
        self._in_memory = 0
        self._staged = 0
        self._pending: set[concurrent.futures.Future[None]] = set()
        self.failures = 0
        self.stored = 0  # media files written (the run's footer counts them)

    def submit(self, jobs: list[Job], step: int) -> concurrent.futures.Future[None]:
        """Encode ``jobs`` (one row's values, logged at ``step``) in the background; the
        future is done once their slots are filled and their files queued. Waits only while
        the bounds are full."""
        with self._room:
            for job in jobs:
                self._hold(job)
        fut = self._pool.submit(self._encode_row, jobs, step)
        with self._room:
            self._pending.add(fut)
        fut.add_done_callback(self._forget)
        return fut

    def _hold(self, job: Job) -> None:
        """Count ``job`` against the bounds (the lock is held): in memory while there is
        room, else staged to disk, else wait for the workers."""
        while True:
            if self._in_memory == 0 or self._in_memory + job.size <= self._memory_bound:
                self._in_memory += job.size
                return
            if self._staged + job.size <= self._staging_bound:
                try:
                    self._staging.mkdir(parents=True, exist_ok=True)
                    for item in job.items():
                        item._spill(str(self._staging))
                except OSError as exc:  # a full disk: keep it in memory and wait instead
                    log.debug("trackd: staging media failed: %s", exc)
                else:
                    job.spilled = True
                    self._staged += job.size
                    return
            self._room.wait(1.0)

    def _release(self, job: Job) -> None:
        with self._room:
            if job.spilled:
                self._staged -= job.size
            else:
                self._in_memory -= job.size
            self._room.notify_all()

    def _forget(self, fut: concurrent.futures.Future[None]) -> None:
        with self._room:
            self._pending.discard(fut)

    def _encode_row(self, jobs: list[Job], step: int) -> None:
        saved: list[tuple[str, str, str]] = []
        for job in jobs:
            out = RunOut(self._files_dir, job.key, step)
            try:
                fill(job.slot, job.encode(out))
            except Exception as exc:  # noqa: BLE001 - one bad value never stops the row
                self.failures += 1
                first = job.items()[0]
                message = (f"trackd: {type(first).__name__} logged under {job.key!r} at step "
                           f"{step} could not be stored: {exc}")
                log.warning("%s", visible(message))
                if self._warn is not None:
                    self._warn(message)
                fill(job.slot, {"_type": first._log_type, "error": str(exc)}
                     if isinstance(job.slot, dict) else [])
            finally:
                self._release(job)
                job.media = ()
            saved.extend(out.saved)
        with self._room:
            self.stored += len(saved)
        if saved and self._save is not None:
            self._save(saved)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for every row submitted so far; False if ``timeout`` passed first."""
        with self._room:
            pending = list(self._pending)
        done, not_done = concurrent.futures.wait(pending, timeout)
        return not not_done

    def close(self, timeout: float | None = None) -> bool:
        """Finish the rows submitted (within ``timeout``) and stop the workers; False if some
        were still being encoded."""
        ok = self.flush(timeout)
        self._pool.shutdown(wait=ok, cancel_futures=not ok)
        if ok:
            shutil.rmtree(self._staging, ignore_errors=True)
        return ok
