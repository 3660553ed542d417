"""References: entries whose bytes live elsewhere.

Adding: the daemon resolves ``file://``, ``http(s)://``, ``s3://`` and unknown schemes
(``ResolveReference``); an entry of another artifact (``wandb-artifact://<id>/<path>``, what
``get_entry(...).ref_url()`` gives) is looked up in that artifact's manifest here. A
``file://`` reference is resolved here, with the daemon's rules (``trackd._shared.
file_references``), when the daemon does not open this user's paths (it opens only its own
user's and root's) or runs on another machine.

Downloading: the client fetches references itself — ``file://`` by copying, ``http(s)://``
with a GET, ``s3://`` with boto3 (the ``s3`` extra), artifact entries from the daemon.
"""

from __future__ import annotations

import os
import shutil
import warnings
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from trackd._shared import file_references
from trackd._terminal import visible
from trackd.artifacts import client, convert
from trackd.artifacts.manifest import ARTIFACT_SCHEMES, ArtifactManifestEntry
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
    local_file = parsed.scheme.lower() == "file"
    if local_file and not client.is_local(client.connection()):
        return _file_entries(uri_str, parsed.path, name, checksum, max_objects)
    try:
        resp = client.resolve_reference(uri_str, name or "", checksum,
                                        max_objects if max_objects is not None else 0)
    except ArtifactPathUnreadableError:
        if not local_file:
            raise
        return _file_entries(uri_str, parsed.path, name, checksum, max_objects)
    for w in resp.warnings:  # they quote paths and URIs
        warnings.warn(visible(w), UserWarning, stacklevel=4)
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
    return [ArtifactManifestEntry(f.name, f.digest, ref=f.ref, size=f.size) for f in found]


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


def fetch(entry: ArtifactManifestEntry, dest: str) -> None:
    """Write what the reference ``entry`` points at to the new file ``dest``.

    :raises ReferenceFailedError: it cannot be fetched (gone, unreachable, denied).
    :raises ReferenceNotSupportedError: a scheme the client cannot fetch.
    """
    ref = entry.ref or ""
    parsed = urlparse(ref)
    scheme = parsed.scheme
    try:
        if scheme in ARTIFACT_SCHEMES:
            client.read_file(parsed.netloc, unquote(parsed.path.lstrip("/")), dest)
        elif scheme == "file":
            shutil.copyfile(unquote(parsed.path), dest)
        elif scheme in ("http", "https"):
            _fetch_http(ref, dest)
        elif scheme == "s3":
            _fetch_s3(entry, dest)
        else:
            raise ReferenceNotSupportedError(
                f"cannot download reference {ref}: the {scheme}:// scheme is not supported "
                "(only file://, http(s)://, s3:// and artifact entries are)",
                reason="REFERENCE_NOT_SUPPORTED")
    except (OSError, ValueError) as exc:
        if os.path.exists(dest):
            os.unlink(dest)
        raise ReferenceFailedError(f"reference {ref} could not be downloaded: {exc}",
                                   reason="REFERENCE_FAILED") from None


def _fetch_http(url: str, dest: str) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "xb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)


def _fetch_s3(entry: ArtifactManifestEntry, dest: str) -> None:
    """The object's version the entry names: its version id, else the version whose ETag is
    the entry's digest (the current object when it still matches, as W&B does)."""
    try:
        import boto3
    except ImportError:
        raise ReferenceFailedError(
            f"reference {entry.ref}: downloading s3:// references needs boto3 "
            "(pip install 'trackd[s3]')", reason="REFERENCE_FAILED") from None
    parsed = urlparse(entry.ref or "")
    bucket, key = parsed.netloc, unquote(parsed.path.lstrip("/"))
    s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        version = entry.extra.get("versionID") or _version_with_etag(s3, bucket, key, entry)
        extra = {"VersionId": version} if version else None
        s3.download_file(bucket, key, dest, ExtraArgs=extra)
    except ReferenceFailedError:
        raise
    except Exception as exc:  # noqa: BLE001 - botocore's errors are many; say what failed
        raise ReferenceFailedError(f"reference {entry.ref} could not be downloaded: {exc}",
                                   reason="REFERENCE_FAILED") from None


def _version_with_etag(s3: object, bucket: str, key: str, entry: ArtifactManifestEntry,
                       ) -> str | None:
    """None when the current object has the entry's ETag; else the id of the version that
    has it.

    :raises ReferenceFailedError: no version has it.
    """
    etag = str(entry.extra.get("etag") or entry.digest).strip('"')
    head = s3.head_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    if head["ETag"].strip('"') == etag:
        return None
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)  # type: ignore[attr-defined]
    for page in pages:
        for v in page.get("Versions", ()):
            if v["Key"] == key and v["ETag"].strip('"') == etag:
                return str(v["VersionId"])
    raise ReferenceFailedError(f"reference {entry.ref}: the object changed and no version of it "
                               f"has ETag {etag}", reason="REFERENCE_FAILED")
