"""References: entries whose bytes live elsewhere.

Adding: the daemon resolves ``file://``, ``http(s)://``, ``s3://`` and unknown schemes
(``ResolveReference``); ``gs://`` and Azure blob URLs are resolved here, in the user's process
with the user's credentials (:mod:`trackd.artifacts.stores`); an entry of another artifact
(``wandb-artifact://<id>/<path>``, what ``get_entry(...).ref_url()`` gives) is looked up in
that artifact's manifest here. A ``file://`` reference is resolved here, with the daemon's
rules (``trackd._shared.file_references``), when the daemon does not open this user's paths
(it opens only its own user's and root's) or runs on another machine.

Without ``checksum`` a reference is one entry whatever it names: a directory or prefix is not
walked, and its digest is the URI (for ``file://``, the MD5 of the URI), so only a changed
URI makes a new version. Downloading such an entry takes what the URI holds then: the object,
or every object under the prefix (every file under the directory), placed below the entry's
path.

Downloading: the client fetches references itself — ``file://`` by copying, ``http(s)://``
with a GET, ``s3://``, ``gs://`` and Azure through their libraries (in byte ranges at once for
large objects, see :mod:`trackd.artifacts.ranged`), artifact entries from the daemon.

Proxies: an ``http(s)://`` reference's HEAD (by the daemon) and GET (here) go through the
proxy the current run's settings name (``http_proxy`` for http:// URLs, ``https_proxy`` for
https:// ones; without a run, those of ``setup()`` and the environment's ``WANDB_HTTP_PROXY``
/ ``WANDB_HTTPS_PROXY``); without one, as the standard ``HTTP_PROXY``, ``HTTPS_PROXY`` and
``NO_PROXY`` variables say (of this process for the GET, of the daemon for the HEAD).
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._shared import artifact_rules as rules
from trackd._shared import file_references, proxies
from trackd._transport import artifact_client as client
from trackd._transport.setup import current_settings
from trackd.artifacts import convert
from trackd.artifacts.manifest import ARTIFACT_SCHEMES, ArtifactManifestEntry
from trackd.artifacts.stores import Listed, azure, gcs, s3
from trackd.errors import (
    ArtifactPathUnreadableError,
    ReferenceFailedError,
    ReferenceNotSupportedError,
)

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

#: W&B's default bound on the objects a directory or prefix reference may expand to.
DEFAULT_MAX_OBJECTS = 10_000_000


def resolve(artifact: Artifact, uri: ArtifactManifestEntry | str, name: str | None,
            checksum: bool, max_objects: int | None) -> list[ArtifactManifestEntry]:
    """The manifest entries of a reference (see the module doc)."""
    if isinstance(uri, ArtifactManifestEntry):
        uri_str = uri.ref_url()
    else:
        uri_str = str(uri)
    parsed = urlparse(uri_str)
    if not parsed.scheme:
        raise ValueError("References must be URIs. To reference a local file, use file://")
    if parsed.scheme in ARTIFACT_SCHEMES:
        return [_artifact_entry(uri_str, name)]
    if name:
        rules.validate_path(str(name))
    if parsed.scheme.lower() == "gs":
        return gcs.resolve(uri_str, name and str(name), checksum,
                           max_objects or DEFAULT_MAX_OBJECTS)
    if azure.is_azure(uri_str):
        return azure.resolve(uri_str, name and str(name), checksum,
                             max_objects or DEFAULT_MAX_OBJECTS)
    local_file = parsed.scheme.lower() == "file"
    if local_file and not client.is_local(client.connection()):
        return _file_entries(uri_str, parsed.path, name, checksum, max_objects)
    try:
        settings = current_settings()
        resp = client.resolve_reference(uri_str, name or "", checksum,
                                        max_objects if max_objects is not None else 0,
                                        settings.http_proxy or "", settings.https_proxy or "")
    except ArtifactPathUnreadableError:
        if not local_file:
            raise
        return _file_entries(uri_str, parsed.path, name, checksum, max_objects)
    for w in resp.warnings:  # they quote paths and URIs
        messages.warn(current_settings(), visible(w), UserWarning, stacklevel=4)
    return [convert.entry_from_pb(e) for e in resp.entries]


def _file_entries(uri: str, raw_path: str, name: str | None, checksum: bool,
                  max_objects: int | None) -> list[ArtifactManifestEntry]:
    """A ``file://`` reference resolved in this process, as this user.

    :raises ReferenceFailedError: nothing is at the path, or a file cannot be read.
    :raises ValueError: more than ``max_objects`` files.
    """
    try:
        found = file_references.resolve(uri, raw_path, name or "", checksum,
                                        max_objects or DEFAULT_MAX_OBJECTS)
    except FileNotFoundError:
        raise ReferenceFailedError(f"{uri}: no such file or directory",
                                   reason="REFERENCE_FAILED") from None
    except OSError as exc:
        raise ReferenceFailedError(f"{uri}: {exc.strerror or exc}",
                                   reason="REFERENCE_FAILED") from None
    return [ArtifactManifestEntry(f.name, f.digest, ref=f.ref, size=None if f.size < 0 else f.size)
            for f in found]


def _artifact_entry(uri: str, name: str | None) -> ArtifactManifestEntry:
    parsed = urlparse(uri)
    artifact_id, path = parsed.netloc, unquote(parsed.path.lstrip("/"))
    found = client.manifest(artifact_id, paths=[path])
    if not found:
        raise ReferenceFailedError(f"reference {uri}: artifact {artifact_id} has no file {path!r}",
                                   reason="REFERENCE_FAILED")
    src = found[0]
    entry = ArtifactManifestEntry(name or path, src.digest, ref=uri,
                                  size=None if src.size < 0 else src.size)
    entry.birth_artifact_id = src.birth_artifact_id or artifact_id
    entry._blob = src.blob_key
    return entry


def is_unchecked(entry: ArtifactManifestEntry) -> bool:
    """Whether a reference entry was recorded without checksum (its digest is its URI; for
    ``file://``, the MD5 of its URI): nothing pins its bytes."""
    ref = entry.ref
    if ref is None or urlparse(ref).scheme in ARTIFACT_SCHEMES:
        return False
    if ref.startswith("file://"):
        return entry.digest == file_references.md5_b64(ref.encode())
    return entry.digest == ref


def expand(entry: ArtifactManifestEntry) -> list[ArtifactManifestEntry]:
    """An unchecked reference to a directory or prefix as one unchecked entry per file it
    holds now (below the entry's path); any other entry as itself.

    :raises ReferenceFailedError: the directory or prefix cannot be listed, or holds nothing.
    """
    if not is_unchecked(entry):
        return [entry]
    ref = entry.ref or ""
    scheme = urlparse(ref).scheme.lower()
    if scheme == "file":
        found = _local_listing(ref)
    elif scheme in ("s3", "gs") or azure.is_azure(ref):
        store = s3 if scheme == "s3" else gcs if scheme == "gs" else azure
        found = store.listing(ref, DEFAULT_MAX_OBJECTS)
    else:
        return [entry]
    if found is None:
        return [entry]
    out = []
    for item in found:
        digest = (file_references.md5_b64(item.uri.encode()) if scheme == "file"
                  else item.uri)
        child = ArtifactManifestEntry(posixpath.join(entry.path, item.rel), digest,
                                      ref=item.uri, size=item.size)
        child._parent_artifact = entry._parent_artifact
        out.append(child)
    return out


def _local_listing(ref: str) -> list[Listed] | None:
    root = unquote(urlparse(ref).path)
    if not os.path.isdir(root):
        return None
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            out.append(Listed(rel, f"file://{full}", os.path.getsize(full)))
    return out


def fetch(entry: ArtifactManifestEntry, dest: str, multipart: bool | None = None) -> None:
    """Write what the reference ``entry`` points at to the new file ``dest`` (large objects of
    S3, GCS and Azure in byte ranges at once, as ``multipart`` asks; see
    :func:`trackd.artifacts.ranged.wanted`).

    :raises ReferenceFailedError: it cannot be fetched (gone, changed, unreachable, denied).
    :raises ReferenceNotSupportedError: a scheme the client cannot fetch.
    """
    ref = entry.ref or ""
    parsed = urlparse(ref)
    scheme = parsed.scheme
    checked = not is_unchecked(entry)
    try:
        if scheme in ARTIFACT_SCHEMES:
            client.read_file(parsed.netloc, unquote(parsed.path.lstrip("/")), dest)
        elif scheme == "file":
            shutil.copyfile(unquote(parsed.path), dest)
        elif scheme == "gs":
            gcs.fetch(entry, dest, multipart, checked)
        elif azure.is_azure(ref):
            azure.fetch(entry, dest, multipart, checked)
        elif scheme in ("http", "https"):
            _fetch_http(ref, dest)
        elif scheme == "s3":
            s3.fetch(entry, dest, multipart, checked)
        else:
            raise ReferenceNotSupportedError(
                f"cannot download reference {ref}: the {scheme}:// scheme is not supported "
                "(only file://, http(s)://, s3://, gs://, Azure blob URLs and artifact "
                "entries are)", reason="REFERENCE_NOT_SUPPORTED")
    except (OSError, ValueError, ReferenceFailedError) as exc:
        if os.path.exists(dest):
            os.unlink(dest)
        if isinstance(exc, ReferenceFailedError):
            raise
        raise ReferenceFailedError(f"reference {ref} could not be downloaded: {exc}",
                                   reason="REFERENCE_FAILED") from None


def _fetch_http(url: str, dest: str) -> None:
    """GET ``url`` into ``dest`` (through the settings' proxy: see the module doc)."""
    import urllib.error
    import urllib.request

    settings = current_settings()
    http_proxy, https_proxy = settings.http_proxy, settings.https_proxy
    chosen = proxies.pick(url, http_proxy, https_proxy)
    if chosen is None:  # urllib's default opener: the environment's proxies and NO_PROXY
        opener = urllib.request.build_opener()
    else:
        scheme = urlparse(url).scheme.lower()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({scheme: chosen}))
    try:
        with opener.open(url, timeout=60) as resp, open(dest, "xb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise ReferenceFailedError(
            f"reference {url} could not be downloaded: "
            f"{proxies.scrub(str(exc), http_proxy, https_proxy)}",
            reason="REFERENCE_FAILED") from None
