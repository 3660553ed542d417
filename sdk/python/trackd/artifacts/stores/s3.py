"""``s3://`` references: fetched with boto3 (the ``s3`` extra; credentials and endpoint from
boto3's own discovery: ``AWS_*`` variables, ``~/.aws``, ``AWS_ENDPOINT_URL``). The daemon
resolves them when they are added.

An entry recorded with checksum names one object version: its ``versionID``, else the
version whose ETag is the entry's digest (the current object when it still has it, as W&B
does). Every request for its bytes names that version, or carries ``If-Match`` with the ETag,
so the parts of a multipart download all come from one and the same object.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from trackd.artifacts import ranged
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.artifacts.stores import Listed, failed, missing_library
from trackd.errors import ReferenceFailedError


def _client(uri: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise missing_library(uri, "boto3", "s3") from None
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, unquote(parsed.path.lstrip("/"))


def fetch(entry: ArtifactManifestEntry, dest: str, multipart: bool | None,
          checked: bool) -> None:
    """Write the object ``entry`` names to the new file ``dest``; ``checked``: the entry
    was recorded with checksum (else the current object is taken)."""
    uri = entry.ref or ""
    bucket, key = _split(uri)
    s3 = _client(uri)
    try:
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        version = checked and (entry.extra.get("versionID")
                               or _version_with_etag(s3, bucket, key, entry))
        if version:
            args["VersionId"] = version
        head = s3.head_object(**args)
        size = int(head["ContentLength"])
        if not version:
            args["IfMatch"] = head["ETag"]  # every part from the object this head saw
        if ranged.wanted(multipart, size):
            def part(offset: int, length: int, out: ranged.PartWriter) -> None:
                body = s3.get_object(Range=f"bytes={offset}-{offset + length - 1}",
                                     **args)["Body"]
                for chunk in body.iter_chunks(ranged.WRITE_CHUNK):
                    out.write(chunk)

            ranged.download(dest, size, part)
        else:
            body = s3.get_object(**args)["Body"]
            with open(dest, "xb") as out:
                for chunk in body.iter_chunks(ranged.WRITE_CHUNK):
                    out.write(chunk)
    except (ReferenceFailedError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - botocore's errors are many; say what failed
        raise failed(uri, f"could not be downloaded: {exc}") from None


def _etag(entry: ArtifactManifestEntry) -> str:
    return str(entry.extra.get("etag") or entry.digest).strip('"')


def _version_with_etag(s3: Any, bucket: str, key: str, entry: ArtifactManifestEntry,
                       ) -> str | None:
    """None when the current object has the entry's ETag; else the id of the version that
    has it.

    :raises ReferenceFailedError: no version has it.
    """
    etag = _etag(entry)
    head = s3.head_object(Bucket=bucket, Key=key)
    if head["ETag"].strip('"') == etag:
        return None
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
    for page in pages:
        for v in page.get("Versions", ()):
            if v["Key"] == key and v["ETag"].strip('"') == etag:
                return str(v["VersionId"])
    raise failed(entry.ref, f"the object changed and no version of it has ETag {etag}")


def listing(uri: str, max_objects: int) -> list[Listed] | None:
    """What the prefix ``uri`` holds now; None when ``uri`` names an object."""
    bucket, key = _split(uri)
    s3 = _client(uri)
    try:
        if key:
            try:
                s3.head_object(Bucket=bucket, Key=key)
                return None
            except Exception as exc:  # noqa: BLE001 - a ClientError, 404 when no such object
                if getattr(exc, "response", {}).get("Error", {}).get("Code") not in (
                        "404", "NoSuchKey"):
                    raise
        prefix = key.rstrip("/") + "/" if key else ""
        out: list[Listed] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                if obj["Key"].endswith("/"):
                    continue
                if len(out) >= max_objects:
                    raise failed(uri, f"holds more than {max_objects} objects")
                out.append(Listed(obj["Key"][len(prefix):], f"s3://{bucket}/{obj['Key']}",
                                  int(obj["Size"])))
    except ReferenceFailedError:
        raise
    except Exception as exc:  # noqa: BLE001 - botocore's errors are many; say what failed
        raise failed(uri, f"could not be listed: {exc}") from None
    if not out:
        raise failed(uri, "no object has this key or prefix")
    return out
