"""``gs://`` references (Google Cloud Storage), with google-cloud-storage (the ``gcs`` extra).

Credentials and project come from the library's own discovery (Application Default
Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``,
the metadata server); where it finds none, an anonymous client reads public buckets.
``STORAGE_EMULATOR_HOST`` points the library at an emulator, as it always does.

``gs://bucket/key`` names an object, or every object under ``key/``;
``gs://bucket/key#<generation>`` one generation of an object. An entry's digest is the
object's ETag, ``extra`` holds ``{"versionID": <generation>}`` (as W&B records them). A
download takes that generation when the bucket keeps it, else the live object when its ETag
is still the entry's digest; the parts of a multipart download all name the same generation,
and the whole is checked against the object's MD5.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import posixpath
import threading
from typing import Any
from urllib.parse import unquote, urlparse

from trackd.artifacts import ranged
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.artifacts.stores import Listed, failed, missing_library
from trackd.errors import ReferenceFailedError

_clients: dict[int, Any] = {}
_lock = threading.Lock()


def _client(uri: str) -> Any:
    """This process's client (the library's clients are safe to share between threads)."""
    try:
        storage = importlib.import_module("google.cloud.storage")
    except ImportError:
        raise missing_library(uri, "google-cloud-storage", "gcs") from None
    with _lock:
        client = _clients.get(os.getpid())
        if client is None:
            from google.auth.exceptions import DefaultCredentialsError

            try:
                client = storage.Client()
            except (DefaultCredentialsError, OSError):  # no credentials or project found
                client = storage.Client.create_anonymous_client()
            _clients.clear()
            _clients[os.getpid()] = client
        return client


def _split(uri: str) -> tuple[str, str, str | None]:
    """(bucket, key, generation or None)."""
    parsed = urlparse(uri)
    return parsed.netloc, unquote(parsed.path.lstrip("/")), parsed.fragment or None


def _join(name: str | None, rel: str) -> str:
    return posixpath.join(name, rel) if name else rel


def _entry(bucket: str, blob: Any, path: str) -> ArtifactManifestEntry:
    return ArtifactManifestEntry(path, blob.etag, ref=f"gs://{bucket}/{blob.name}",
                                 size=blob.size, extra={"versionID": blob.generation})


def resolve(uri: str, name: str | None, checksum: bool,
            max_objects: int) -> list[ArtifactManifestEntry]:
    """The entries of a ``gs://`` reference (see the module doc).

    :raises ValueError: more than ``max_objects`` objects.
    :raises ReferenceFailedError: nothing there, or the bucket cannot be read.
    """
    bucket_name, key, generation = _split(uri)
    plain = f"gs://{bucket_name}/{key}"
    if not checksum:
        base = name or posixpath.basename(key.rstrip("/")) or bucket_name
        return [ArtifactManifestEntry(base, plain, ref=plain)]
    try:
        bucket = _client(uri).bucket(bucket_name)
        if key and not key.endswith("/"):
            blob = bucket.get_blob(key, generation=int(generation) if generation else None)
            if blob is not None:
                return [_entry(bucket_name, blob, name or posixpath.basename(key))]
            if generation:
                raise failed(uri, f"no generation {generation} of this object")
        prefix = key.rstrip("/") + "/" if key else ""
        out: list[ArtifactManifestEntry] = []
        for blob in bucket.list_blobs(prefix=prefix):
            if blob.name.endswith("/"):  # a folder placeholder
                continue
            if len(out) >= max_objects:
                raise ValueError(f"{uri} holds more than {max_objects} objects; pass a larger "
                                 "max_objects to track them all")
            out.append(_entry(bucket_name, blob, _join(name, blob.name[len(prefix):])))
    except (ReferenceFailedError, ValueError):
        raise
    except Exception as exc:  # noqa: BLE001 - google.api_core's errors are many
        raise failed(uri, f"could not be resolved: {exc}") from None
    if not out:
        raise failed(uri, "no object has this key or prefix")
    return out


def fetch(entry: ArtifactManifestEntry, dest: str, multipart: bool | None,
          checked: bool) -> None:
    """Write the object ``entry`` names to the new file ``dest``; ``checked``: the entry was
    recorded with checksum (else the live object is taken)."""
    uri = entry.ref or ""
    bucket_name, key, _ = _split(uri)
    try:
        bucket = _client(uri).bucket(bucket_name)
        blob = None
        generation = entry.extra.get("versionID") if checked else None
        if generation:
            blob = bucket.get_blob(key, generation=int(generation))
        if blob is None:
            blob = bucket.get_blob(key)
            if blob is None:
                raise failed(uri, "no such object")
            if checked and blob.etag != entry.digest:
                raise failed(uri, f"the object changed (ETag {blob.etag}, the manifest says "
                                  f"{entry.digest}) and its generation {generation} is gone")
        # ``blob`` names its generation: every request below reads that one.
        pinned = bucket.blob(key, generation=blob.generation)
        if ranged.wanted(multipart, blob.size):
            def part(offset: int, length: int, out: ranged.PartWriter) -> None:
                pinned.download_to_file(out, start=offset, end=offset + length - 1,
                                        checksum=None)

            ranged.download(dest, blob.size, part)
        else:
            with open(dest, "xb") as out:
                pinned.download_to_file(out, checksum=None)
        _check_md5(uri, dest, blob.md5_hash)
    except (ReferenceFailedError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise failed(uri, f"could not be downloaded: {exc}") from None


def _check_md5(uri: str, path: str, md5_b64: str | None) -> None:
    """The bytes at ``path`` against the object's MD5 (composite objects have none)."""
    if not md5_b64:
        return
    h = hashlib.md5()  # the store's content checksum, not security
    with open(path, "rb") as f:
        while chunk := f.read(ranged.WRITE_CHUNK):
            h.update(chunk)
    got = base64.b64encode(h.digest()).decode()
    if got != md5_b64:
        raise failed(uri, f"the downloaded bytes have MD5 {got}, the object's is {md5_b64}")


def listing(uri: str, max_objects: int) -> list[Listed] | None:
    """What the prefix ``uri`` holds now; None when ``uri`` names an object."""
    bucket_name, key, _ = _split(uri)
    try:
        bucket = _client(uri).bucket(bucket_name)
        if key and not key.endswith("/") and bucket.get_blob(key) is not None:
            return None
        prefix = key.rstrip("/") + "/" if key else ""
        out: list[Listed] = []
        for blob in bucket.list_blobs(prefix=prefix):
            if blob.name.endswith("/"):
                continue
            if len(out) >= max_objects:
                raise failed(uri, f"holds more than {max_objects} objects")
            out.append(Listed(blob.name[len(prefix):], f"gs://{bucket_name}/{blob.name}",
                              blob.size))
    except ReferenceFailedError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise failed(uri, f"could not be listed: {exc}") from None
    if not out:
        raise failed(uri, "no object has this key or prefix")
    return out
