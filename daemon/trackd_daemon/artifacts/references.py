"""Resolving reference URIs into manifest entries, as W&B's ``add_reference`` does.

``file://`` (a file, or a directory walked recursively), ``http(s)://`` (a HEAD request with
aiohttp, through the caller's ``http_proxy`` / ``https_proxy`` when it names one, else as the
daemon's environment says), ``s3://`` (boto3, the ``s3`` extra; credentials and endpoint from
the daemon's environment: ``AWS_*`` variables, ``AWS_ENDPOINT_URL``). ``gs://`` and Azure
blob URLs are refused: the SDK resolves them in the caller's process, with the caller's cloud
credentials (``trackd.artifacts.stores``); any other scheme gives one entry whose digest is the URI.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import anyio.to_thread

from trackd._shared import file_references, proxies
from trackd_daemon.artifacts.validate import bad, entry_path
from trackd_daemon.errors import (
    FailedPreconditionError,
    ReferenceFailedError,
    ReferenceNotSupportedError,
)
from trackd_daemon.http_proxies import request_kwargs
from trackd_daemon.local_paths import LocalPaths
from trackd_daemon.store.artifact_models import Entry

#: W&B's default bound on the objects one reference may add.
DEFAULT_MAX_OBJECTS = 10_000_000
#: Seconds an HTTP HEAD may take.
HTTP_TIMEOUT = 30.0
S3_EXTRA_HINT = "pip install 'trackd[s3]'"


@dataclass
class Resolved:
    """Entries (path, digest, size, ref, extra) and warnings for the user."""

    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _join(name: str, rel: str) -> str:
    return posixpath.join(name, rel) if name else rel


def _too_many(uri: str, max_objects: int) -> Exception:
    return bad("max_objects", f"{uri} holds more than {max_objects} objects; pass a larger "
                              "max_objects to track them all")


async def resolve(uri: str, name: str, checksum: bool, max_objects: int,
                  paths: LocalPaths, http_proxy: str = "", https_proxy: str = "") -> Resolved:
    """Entries for one reference; see ``ArtifactService.ResolveReference``."""
    max_objects = max_objects or DEFAULT_MAX_OBJECTS
    if name:
        entry_path(name, "name")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        return await anyio.to_thread.run_sync(_file, uri, parsed.path, name, checksum,
                                              max_objects, paths)
    if scheme == "gs":
        raise ReferenceNotSupportedError(
            f"{uri}: the daemon does not resolve gs:// references: the SDK resolves them in "
            "the caller's process with google-cloud-storage and the caller's credentials",
            uri=uri)
    if scheme in ("http", "https") and (parsed.hostname or "").endswith(".blob.core.windows.net"):
        raise ReferenceNotSupportedError(
            f"{uri}: the daemon does not resolve Azure Blob Storage references: the SDK "
            "resolves them in the caller's process with azure-storage-blob and the caller's "
            "credentials", uri=uri)
    if scheme in ("http", "https"):
        return await _http(uri, name, parsed.path, checksum, http_proxy, https_proxy)
    if scheme == "s3":
        return await anyio.to_thread.run_sync(_s3, uri, name, checksum, max_objects)
    path = entry_path(name or posixpath.basename(parsed.path) or parsed.netloc or "reference",
                      "name")
    warning = f"Unable to resolve reference {uri}: it cannot be checksummed; its URI is its digest"
    return Resolved([Entry(path=path, digest=uri, size=-1, ref=uri)], [warning])


def _file(uri: str, raw_path: str, name: str, checksum: bool, max_objects: int,
          paths: LocalPaths) -> Resolved:
    paths.require(unquote(raw_path), uri)  # nothing is looked at for anyone else
    try:
        found = file_references.resolve(uri, raw_path, name, checksum, max_objects)
    except file_references.TooManyObjects as exc:
        raise bad("max_objects", str(exc)) from None
    except FileNotFoundError:
        raise ReferenceFailedError(f"{uri}: no such file or directory", uri=uri) from None
    except OSError as exc:
        raise ReferenceFailedError(f"{uri}: {exc.strerror or exc}", uri=uri) from None
    return Resolved([Entry(path=entry_path(f.name, "name"), digest=f.digest, size=f.size,
                           ref=f.ref) for f in found])


async def _http(uri: str, name: str, path: str, checksum: bool, http_proxy: str,
                https_proxy: str) -> Resolved:
    """An http(s) reference: size and digest from a HEAD's Content-Length and ETag (the URI
    when there is no ETag). Without ``checksum`` nothing is asked: the URI is the digest and
    the size is unknown, as W&B records it."""
    import aiohttp

    entry_name = entry_path(name or posixpath.basename(path) or "index", "name")
    if not checksum:
        return Resolved([Entry(path=entry_name, digest=uri, size=-1, ref=uri)])
    try:
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
        async with (aiohttp.ClientSession(timeout=timeout, trust_env=True) as s,
                    s.head(uri, allow_redirects=True,
                           **request_kwargs(uri, http_proxy, https_proxy)) as resp):
            if resp.status >= 400:
                raise ReferenceFailedError(f"{uri}: HEAD answered {resp.status} {resp.reason}",
                                           uri=uri)
            etag = resp.headers.get("ETag")
            length = resp.headers.get("Content-Length")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        problem = proxies.scrub(str(exc) or type(exc).__name__, http_proxy, https_proxy)
        raise ReferenceFailedError(f"{uri}: HEAD failed: {problem}", uri=uri) from None
    digest = etag.strip('"') if etag else uri
    if etag and etag.startswith("W/"):
        digest = etag[2:].strip('"')
    size = int(length) if length and length.isdigit() else -1
    extra = json.dumps({"etag": etag}) if etag else ""
    return Resolved([Entry(path=entry_name, digest=digest, size=size, ref=uri, extra=extra)])


def _s3_client() -> Any:
    try:
        import boto3
    except ImportError:
        raise FailedPreconditionError(
            f"s3:// references need boto3 in the daemon's environment: {S3_EXTRA_HINT}",
            missing="boto3") from None
    return boto3.client("s3")


def _s3_entry(bucket: str, key: str, path: str, head: dict[str, Any]) -> Entry:
    etag = str(head.get("ETag", "")).strip('"')
    extra: dict[str, Any] = {"etag": etag}
    if head.get("VersionId") and head.get("VersionId") != "null":
        extra["versionID"] = head["VersionId"]
    return Entry(path=entry_path(path, "name"), digest=etag,
                 size=int(head.get("ContentLength", head.get("Size", -1))),
                 ref=f"s3://{bucket}/{key}", extra=json.dumps(extra))


def _s3(uri: str, name: str, checksum: bool, max_objects: int) -> Resolved:
    parsed = urlparse(uri)
    bucket, key = parsed.netloc, unquote(parsed.path.lstrip("/"))
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    base = name or posixpath.basename(key.rstrip("/")) or bucket
    if not checksum:
        return Resolved([Entry(path=entry_path(base, "name"), digest=uri, size=-1, ref=uri)])
    client = _s3_client()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if key:
            try:
                args: dict[str, Any] = {"Bucket": bucket, "Key": key}
                if version:
                    args["VersionId"] = version
                head = client.head_object(**args)
                head.setdefault("VersionId", version)
                return Resolved([_s3_entry(bucket, key, name or posixpath.basename(key), head)])
            except ClientError as exc:
                if version or exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                    raise
        out = Resolved()
        prefix = key.rstrip("/") + "/" if key else ""
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                if len(out.entries) >= max_objects:
                    raise _too_many(uri, max_objects)
                rel = obj["Key"][len(prefix):]
                out.entries.append(_s3_entry(bucket, obj["Key"], _join(name, rel), obj))
        if not out.entries:
            raise ReferenceFailedError(f"{uri}: no object has this key or prefix", uri=uri)
        return out
    except ClientError as exc:
        raise ReferenceFailedError(f"{uri}: {exc}", uri=uri) from None
    except BotoCoreError as exc:
        raise ReferenceFailedError(f"{uri}: {exc}", uri=uri) from None
