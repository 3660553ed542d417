"""Downloading a logged artifact through the cache, and ``checkout``/``verify``/``file``.

For every entry: a file already under the root with the right content is left alone (its
digest is remembered in the checksum cache, so this costs a ``stat`` next time); otherwise the
bytes come from the cache, or into the cache first — from the daemon's blob file when the
daemon is on this machine and lets this user read it (a hard link when both are on one disk),
else streamed from the daemon and checked against the entry's MD5 — and are copied under the
root. References are fetched by the client (see :mod:`trackd.artifacts.references`); one
recorded without checksum is fetched anew each time (nothing pins its bytes, so it is not
cached), and one naming a directory or prefix brings every file it holds then. Files are
handled in parallel; afterwards the cache is trimmed to its bound.

``multipart``: a large file is fetched as byte ranges at once (:mod:`trackd.artifacts.ranged`:
``True`` any file over one part, ``None`` from 2 GiB, ``False`` never) when its bytes travel:
streamed from the daemon (a daemon on another machine, or one whose blob files this user may
not read) or from S3, GCS or Azure. A file the daemon's blob store holds on this machine is
linked or copied, which no split makes faster. Parts land in a temporary file that is checked
(MD5 against the manifest for stored files; one object version for references) before it
enters the cache, and deleted if anything fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._shared import artifact_rules as rules
from trackd._transport import artifact_client as client
from trackd._transport.setup import current_settings
from trackd.artifacts import dirs, ranged, references
from trackd.artifacts.cache import ArtifactFileCache, get_cache
from trackd.artifacts.digests import FileStat, checksums, md5_file_b64, parallel
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.errors import CommError

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact


@dataclass
class Report:
    """What a download did (for progress bars and tests)."""

    files: int = 0
    bytes: int = 0
    skipped: int = 0
    from_cache: int = 0
    missing_references: list[str] = field(default_factory=list)


#: Called with (entry path, bytes) as each file lands (the CLI's progress bar).
OnFile = Callable[[str, int], None]


#: Files fetched at once when their bytes stream from the daemon rather than being found by
#: path (a remote daemon, or a daemon whose blobs are in a bucket).
STREAMED_FILES = 16

def download(artifact: Artifact, root: str | os.PathLike[str] | None,
             allow_missing_references: bool = False, skip_cache: bool | None = None,
             path_prefix: str | os.PathLike[str] | None = None,
             on_file: OnFile | None = None, multipart: bool | None = None) -> str:
    root_str = os.fspath(root) if root is not None else artifact._default_root()
    artifact._download_roots.add(os.path.abspath(root_str))
    prefix = str(path_prefix).replace(os.sep, "/") if path_prefix is not None else ""
    entries = [e for p, e in artifact.manifest.entries.items() if p.startswith(prefix)]
    fetch_entries(artifact, entries, root_str, bool(skip_cache), allow_missing_references, on_file,
                  multipart)
    return root_str


def download_entry(artifact: Artifact, entry: ArtifactManifestEntry, root: str | None,
                   skip_cache: bool | None) -> str:
    root_str = root if root is not None else artifact._default_root()
    artifact._download_roots.add(os.path.abspath(root_str))
    fetch_entries(artifact, [entry], root_str, bool(skip_cache), False, None)
    return os.path.join(root_str, entry.path)


def fetch_entries(artifact: Artifact, entries: Sequence[ArtifactManifestEntry], root: str,
                  skip_cache: bool, allow_missing_references: bool,
                  on_file: OnFile | None, multipart: bool | None = None) -> Report:
    """Make ``root`` hold ``entries`` (see the module doc)."""
    report = Report()
    cache = get_cache()
    entries = _expanded(entries, allow_missing_references, report)
    todo: list[tuple[ArtifactManifestEntry, str]] = []
    present = _already_there(entries, root)
    for e in entries:
        dest = os.path.join(root, rules.validate_path(e.path))
        if dest in present:
            report.skipped += 1
            if on_file is not None:
                on_file(e.path, e.size or 0)
        else:
            todo.append((e, dest))
    blobs: dict[str, str] = {}
    stored = [e for e, _ in todo if e.ref is None
              and (skip_cache or not cache.md5_path(e.digest).is_file())]
    if stored and client.is_local(client.connection()):
        for loc in client.locate(artifact._id or "", [e.path for e in stored]):
            if loc.blob_path:
                blobs[loc.path] = loc.blob_path

    def one(entry: ArtifactManifestEntry, dest: str) -> None:
        try:
            hit = _place(artifact, cache, entry, dest, skip_cache, blobs.get(entry.path),
                         multipart)
        except CommError as exc:
            if entry.ref is not None and allow_missing_references:
                report.missing_references.append(entry.ref)
                messages.warn(current_settings(),
                    visible(f"skipped missing reference {entry.ref}: {exc}"),
                    stacklevel=2)
                return
            raise
        report.files += 1
        report.bytes += entry.size or 0
        report.from_cache += int(hit)
        if on_file is not None:
            on_file(entry.path, entry.size or 0)

    try:
        streamed = sum(1 for e, _ in todo if e.ref is None and e.path not in blobs)
        if streamed > 1:
            # Bytes streamed from the daemon (which may read them from a bucket) keep a file
            # waiting on the network, not on a core: more files in flight than cores.
            with ThreadPoolExecutor(min(STREAMED_FILES, len(todo)),
                                    thread_name_prefix="trackd-fetch") as fetch:
                for f in [fetch.submit(one, *item) for item in todo]:
                    f.result()
        else:
            parallel(one, todo)
    finally:
        cache.evict()
    return report


def _expanded(entries: Sequence[ArtifactManifestEntry], allow_missing_references: bool,
              report: Report) -> list[ArtifactManifestEntry]:
    """``entries`` with each unchecked directory or prefix reference replaced by the files it
    holds now (:func:`references.expand`)."""
    out: list[ArtifactManifestEntry] = []
    for e in entries:
        if not references.is_unchecked(e):
            out.append(e)
            continue
        try:
            out.extend(references.expand(e))
        except CommError as exc:
            if not allow_missing_references:
                raise
            report.missing_references.append(e.ref or "")
            messages.warn(current_settings(),
                visible(f"skipped missing reference {e.ref}: {exc}"), stacklevel=3)
    return out


def _already_there(entries: Sequence[ArtifactManifestEntry], root: str) -> set[str]:
    """The destinations that already hold their entry's content (checksum cache, else hashed)."""
    by_abs: dict[str, tuple[str, str, FileStat]] = {}
    for e in entries:
        dest = os.path.join(root, rules.validate_path(e.path))
        try:
            st = os.stat(dest)
        except OSError:
            continue
        by_abs[os.path.abspath(dest)] = (dest, e.digest, FileStat.of(st))
    if not by_abs:
        return set()
    known = checksums().lookup([(p, v[2]) for p, v in by_abs.items()])
    unknown = [p for p in by_abs if p not in known]
    hashed = parallel(_md5_or_none, [(p,) for p in unknown])
    fresh = [(p, by_abs[p][2], str(d)) for p, d in zip(unknown, hashed, strict=True) if d is not None]
    checksums().store(fresh)
    known.update({p: d for p, _, d in fresh})
    return {by_abs[p][0] for p, d in known.items() if d == by_abs[p][1]}


def _md5_or_none(path: str) -> str | None:
    try:
        return md5_file_b64(path)
    except OSError:
        return None


def _place(artifact: Artifact, cache: ArtifactFileCache, entry: ArtifactManifestEntry,
           dest: str, skip_cache: bool, blob_path: str | None,
           multipart: bool | None = None) -> bool:
    """Write one entry at ``dest``; True when its bytes came from the cache."""
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{dest}.trackd-{secrets.token_hex(4)}"
    hit = False
    try:
        if skip_cache or references.is_unchecked(entry):
            _fetch(artifact, entry, tmp, blob_path, link=False, multipart=multipart)
        else:
            cached = (cache.md5_path(entry.digest) if entry.ref is None
                      else cache.ref_path(entry.ref, entry.digest))
            hit = cache.lookup(cached)
            if not hit:
                ctmp = cache.tmp_path()
                try:
                    _fetch(artifact, entry, str(ctmp), blob_path, link=True,
                           multipart=multipart)
                    cache.insert(ctmp, cached)
                finally:
                    ctmp.unlink(missing_ok=True)
            try:
                shutil.copyfile(cached, tmp)
            except FileNotFoundError:  # evicted by another process meanwhile
                _fetch(artifact, entry, tmp, blob_path, link=False, multipart=multipart)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if entry.ref is None or entry.digest == md5_file_b64(dest):
        checksums().store([(os.path.abspath(dest), FileStat.of(os.stat(dest)), entry.digest)])
    return hit


def _fetch(artifact: Artifact, entry: ArtifactManifestEntry, dest: str, blob_path: str | None,
           link: bool, multipart: bool | None = None) -> None:
    """Write an entry's bytes to the new file ``dest``, checking the MD5 of streamed bytes."""
    if entry.ref is not None:
        references.fetch(entry, dest, multipart)
        return
    if blob_path:
        # A hard link where asked and possible, else a copy; else the bytes over gRPC.
        for place in (os.link, shutil.copyfile) if link else (shutil.copyfile,):
            try:
                place(blob_path, dest)
                return
            except OSError:
                if os.path.exists(dest):
                    os.unlink(dest)
    if ranged.wanted(multipart, entry.size):
        artifact_id, path = artifact._id or "", entry.path
        try:
            ranged.download(dest, entry.size or 0,
                            lambda off, n, out: client.read_range(artifact_id, path, off, n, out))
        except BaseException:
            if os.path.exists(dest):
                os.unlink(dest)
            raise
    else:
        client.read_file(artifact._id or "", entry.path, dest)
    got = md5_file_b64(dest)
    if got != entry.digest:
        os.unlink(dest)
        raise CommError(f"downloaded bytes of {entry.path!r} have MD5 {got}, the manifest says "
                        f"{entry.digest}")


def checkout(artifact: Artifact, root: str | None) -> str:
    root_str = root or artifact._default_root(include_version=False)
    entries = artifact.manifest.entries
    for dirpath, _, files in os.walk(root_str):
        for name in files:
            full = os.path.join(dirpath, name)
            if Path(os.path.relpath(full, root_str)).as_posix() not in entries:
                os.remove(full)
    return download(artifact, root_str)


def verify(artifact: Artifact, root: str | None) -> None:
    root_str = root or artifact._default_root()
    entries = artifact.manifest.entries
    for dirpath, _, files in os.walk(root_str):
        for name in files:
            full = os.path.join(dirpath, name)
            if Path(os.path.relpath(full, root_str)).as_posix() not in entries:
                raise ValueError(f"Found file {full} which is not a member of artifact "
                                 f"{artifact.name}")
    stored = [e for e in entries.values() if e.ref is None]
    refs = len(entries) - len(stored)

    def check(entry: ArtifactManifestEntry) -> None:
        path = os.path.join(root_str, entry.path)
        try:
            digest = md5_file_b64(path)
        except FileNotFoundError:
            raise ValueError(f"Missing file: {entry.path} (not found in {root_str})") from None
        if digest != entry.digest:
            raise ValueError(f"Digest mismatch for file: {entry.path}")

    parallel(check, [(e,) for e in stored])
    if refs:
        messages.warn(current_settings(), f"skipped verification of {refs} refs", stacklevel=3)


def single_file(artifact: Artifact, root: str | None) -> str:
    entries = artifact.manifest.entries
    if len(entries) != 1:
        raise ValueError("This artifact contains more than one file, call `.download()` to get "
                         'all files or call .get_entry("filename").download()')

    entry = next(iter(entries.values()))
    entry._parent_artifact = artifact
    return download_entry(artifact, entry, root or str(dirs.artifact_dir() / artifact.name), None)
