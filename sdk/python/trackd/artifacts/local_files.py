"""Manifest entries for local files: what ``add_file``/``add_dir``/``new_file`` build.

Adding a file costs a ``stat`` and a look-up in the checksum cache:

* a file whose digest is cached (same path, size, mtime, ctime, inode) gets that digest at
  once and is not copied: the daemon already holds those bytes when it was logged before (if
  it does not, the upload stages and checks the file then);
* otherwise, with the ``mutable`` policy, the file is copied into the artifact's staging
  directory at once (a clone or a kernel-side copy, on a pool of threads), so later edits
  cannot change the version; with ``immutable`` nothing is copied. A daemon running as this
  user takes the staging copies into its store as they are (no second copy), each batch as
  soon as it is made (it is told over the run's connection), hashing them while the rest are
  copied;
* in both cases the MD5 is left to the daemon, which hashes while it stores (one pass over the
  bytes). A digest asked for before that (``entry.digest``, ``artifact.digest``) is computed
  here, on every core, and remembered in the checksum cache.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from collections.abc import Sequence

from trackd._shared.writeback import start_writeback
from trackd.artifacts.digests import (
    CHUNK,
    FileStat,
    checksums,
    pool,
)
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.artifacts.staging import StagingArea

POLICIES = ("mutable", "immutable")

def check_policy(policy: str | None) -> str:
    policy = policy or "mutable"
    if policy not in POLICIES:
        raise ValueError(f"Invalid policy {policy!r}. Policy may only be `mutable` or `immutable`.")
    return policy


def build_entries(staging: StagingArea, files: Sequence[tuple[str, str]], policy: str,
                  skip_cache: bool) -> list[ArtifactManifestEntry]:
    """Entries for ``(artifact path, local file)`` pairs, in order (see the module doc)."""
    stats: list[tuple[str, FileStat]] = []
    for _, local in files:
        st = os.stat(local)
        if not stat_mod.S_ISREG(st.st_mode):
            raise ValueError(f"Path is not a file: {local!r}")
        stats.append((os.path.abspath(local), FileStat.of(st)))
    known = checksums().lookup(stats)
    entries = []
    to_stage = []
    for (name, _), (src, fst) in zip(files, stats, strict=True):
        digest = known.get(src)
        entry = ArtifactManifestEntry(name, digest, size=fst.size, local_path=src,
                                      skip_cache=skip_cache)
        entry._source, entry._source_stat, entry._policy = src, fst, policy
        if policy == "mutable" and digest is None:
            to_stage.append(entry)
        entries.append(entry)
    if to_stage:
        _stage_all(staging, to_stage)
    return entries


#: Staging copies announced to the daemon together (see StagingArea.announce): a batch ends at
#: this many files or bytes, so that the daemon starts hashing early and a large file goes at
#: once.
ANNOUNCE_FILES = 64
ANNOUNCE_BYTES = 64 << 20


def _stage_all(staging: StagingArea, entries: list[ArtifactManifestEntry]) -> None:
    """Make the staging copies of ``entries`` on the pool; the daemon is told about each
    batch made, so that it hashes and stores them while the rest are copied."""
    futures = [pool().submit(_stage_copy, staging, e) for e in entries]
    batch: list[str] = []
    size = 0
    for e, fut in zip(entries, futures, strict=True):
        fut.result()  # the first error is raised (as parallel() does)
        batch.append(e.local_path)
        size += e.size
        if len(batch) >= ANNOUNCE_FILES or size >= ANNOUNCE_BYTES:
            staging.announce(batch)
            batch, size = [], 0
    if batch:
        staging.announce(batch)


def _stage_copy(staging: StagingArea, entry: ArtifactManifestEntry) -> None:
    src = entry._source
    assert src is not None and entry._source_stat is not None
    dst = staging.new_path()
    size, after = copy_private(src, str(dst), (entry._source_stat.dev, staging.dev))
    if after != entry._source_stat:
        # Changed while being copied: the copy may mix old and new bytes of the source, and
        # no digest may be remembered for the source's stat.
        entry._source_stat = None
    entry.size = size
    entry.local_path, entry._staged = str(dst), True


#: ioctl(FICLONE): a copy-on-write clone (btrfs, XFS, ZFS 2.2+): instant, and no extra space.
FICLONE = 0x40049409
#: (source device, destination device) pairs where cloning failed, and where the kernel
#: refused copy_file_range (another file system type): copied the next way from then on.
_no_clone: set[tuple[int, int]] = set()
_no_kernel_copy: set[tuple[int, int]] = set()


def copy_private(src: str, dst: str, devs: tuple[int, int]) -> tuple[int, FileStat]:
    """Copy ``src`` to the new file ``dst``, created read-only for its owner: a copy-on-write
    clone where the file system has them, else a copy inside the kernel (no trip through a
    buffer here). ``devs`` are the two files' devices (where cloning is known not to work, it
    is not tried again). The disk starts writing the copy at once. Returns the bytes copied
    and the stat of the source as copied, for checking it did not change meanwhile.
    """
    with open(src, "rb", buffering=0) as f:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, stat_mod.S_IRUSR)
        try:
            if devs not in _no_clone and _clone(f.fileno(), fd):
                size = os.fstat(fd).st_size
            else:
                _no_clone.add(devs)
                size = _copy_fd(f.fileno(), fd, devs)
            after = FileStat.of(os.fstat(f.fileno()))
            start_writeback(fd)  # the daemon makes the copy durable: it finds less to write
        except BaseException:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)
    return size, after


def _clone(src_fd: int, dst_fd: int) -> bool:
    import fcntl

    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError:  # not between these (ext4, two devices)
        return False
    return True


def _copy_fd(src_fd: int, dst_fd: int, devs: tuple[int, int]) -> int:
    """Copy from ``src_fd``'s position to its end; returns the bytes copied."""
    copied = 0
    if hasattr(os, "copy_file_range") and devs not in _no_kernel_copy:
        try:
            while n := os.copy_file_range(src_fd, dst_fd, 1 << 30):
                copied += n
            return copied
        except OSError as exc:
            if copied or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP,
                                           errno.EINVAL):
                raise
            _no_kernel_copy.add(devs)
    while chunk := os.read(src_fd, CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst_fd, view):]
        copied += len(chunk)
    return copied


def walk(local_path: str, name: str | None) -> list[tuple[str, str]]:
    """``(artifact path, file)`` for every file under a directory (symlinks followed)."""
    out = []
    prefix = f"{name.rstrip('/')}/" if name else ""
    for dirpath, _, filenames in os.walk(local_path, followlinks=True):
        rel_dir = os.path.relpath(dirpath, local_path)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        for fname in filenames:
            out.append((f"{prefix}{rel_dir}{fname}", os.path.join(dirpath, fname)))
    return out


def remember_stored(entries: Sequence[ArtifactManifestEntry], digests: dict[str, str]) -> None:
    """After the daemon stored a version: remember the digests it computed for files added
    from local paths (``digests`` maps artifact paths to digests)."""
    rows = []
    for e in entries:
        d = digests.get(e.path)
        if d is None or not e._source or e._source_stat is None:
            continue
        if e._digest is None:
            e._digest = d
        rows.append((e._source, e._source_stat, d))
    checksums().store(rows)
