"""Azure Blob Storage references (``https://<account>.blob.core.windows.net/<container>/<path>``),
with azure-storage-blob and azure-identity (the ``azure`` extra).

Credentials, first found wins: the key ``Settings.azure_account_url_to_access_key`` gives for
the account URL; ``AZURE_STORAGE_CONNECTION_STRING`` when its ``AccountName`` is the URI's
account (its ``BlobEndpoint`` is then the endpoint: an emulator such as Azurite, or a private
endpoint); else azure-identity's ``DefaultAzureCredential`` (environment, managed identity,
``az login``...). Without azure-identity the request is anonymous (public containers).

``<path>`` names a blob, or every blob under ``<path>/`` (folder stubs, blobs whose metadata
says ``hdi_isfolder``, are left out); ``?versionId=`` one version of a blob. An entry's digest
is the blob's ETag, ``extra`` holds ``{"etag", "versionID"}`` (the version when the account
keeps versions), as W&B records them. A download takes that version, else the live blob while
its ETag is the entry's digest, else the version with that ETag; every request carries the
version or ``If-Match``, so the parts of a multipart download come from one blob.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from trackd._transport.setup import state
from trackd.artifacts import ranged
from trackd.artifacts.manifest import ArtifactManifestEntry
from trackd.artifacts.stores import Listed, failed, missing_library
from trackd.errors import ReferenceFailedError

HOST_SUFFIX = ".blob.core.windows.net"


def is_azure(uri: str) -> bool:
    parsed = urlparse(uri)
    return parsed.scheme.lower() == "https" and (parsed.hostname or "").endswith(HOST_SUFFIX)


def _split(uri: str) -> tuple[str, str, str, str | None]:
    """(account URL, container, blob name, version id or None)."""
    parsed = urlparse(uri)
    container, _, blob = unquote(parsed.path.lstrip("/")).partition("/")
    if not container:
        raise ValueError(f"{uri}: an Azure blob URL names a container: "
                         "https://<account>.blob.core.windows.net/<container>/<path>")
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    return f"https://{parsed.netloc}", container, blob, version


def _access_key(account_url: str) -> str | None:
    st = state()
    settings = st.current.settings if st.current is not None else st.settings
    keys = getattr(settings, "azure_account_url_to_access_key", None) or {}
    return keys.get(account_url) or keys.get(account_url.rstrip("/") + "/")


def _connection_string_for(account: str) -> str | None:
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    return conn if parts.get("AccountName") == account else None


def _service(uri: str, account_url: str) -> Any:
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError:
        raise missing_library(uri, "azure-storage-blob", "azure") from None
    key = _access_key(account_url)
    conn = _connection_string_for(urlparse(account_url).netloc.split(".")[0])
    if conn:
        return BlobServiceClient.from_connection_string(conn, credential=key)
    if key:
        return BlobServiceClient(account_url, credential=key)
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return BlobServiceClient(account_url)  # anonymous: public containers only
    return BlobServiceClient(account_url, credential=DefaultAzureCredential())


def _is_folder_stub(props: Any) -> bool:
    return (props.metadata or {}).get("hdi_isfolder") == "true"


def _entry(account_url: str, container: str, props: Any, path: str) -> ArtifactManifestEntry:
    etag = props.etag.strip('"')
    extra: dict[str, Any] = {"etag": etag}
    if props.version_id:
        extra["versionID"] = props.version_id
    return ArtifactManifestEntry(path, etag, ref=f"{account_url}/{container}/{props.name}",
                                 size=props.size, extra=extra)


def _join(name: str | None, rel: str) -> str:
    return posixpath.join(name, rel) if name else rel


def resolve(uri: str, name: str | None, checksum: bool,
            max_objects: int) -> list[ArtifactManifestEntry]:
    """The entries of an Azure blob reference (see the module doc).

    :raises ValueError: more than ``max_objects`` blobs, or no container in the URL.
    :raises ReferenceFailedError: nothing there, or the container cannot be read.
    """
    account_url, container, blob, version = _split(uri)
    plain = f"{account_url}/{container}/{blob}"
    if not checksum:
        base = name or posixpath.basename(blob.rstrip("/")) or container
        return [ArtifactManifestEntry(base, plain, ref=plain)]
    service = _service(uri, account_url)
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        if blob and not blob.endswith("/"):
            try:
                props = service.get_blob_client(container, blob).get_blob_properties(
                    version_id=version)
                if not _is_folder_stub(props):
                    return [_entry(account_url, container, props,
                                   name or posixpath.basename(blob))]
            except ResourceNotFoundError:
                if version:
                    raise failed(uri, f"no version {version} of this blob") from None
        prefix = blob.rstrip("/") + "/" if blob else ""
        out: list[ArtifactManifestEntry] = []
        for props in service.get_container_client(container).list_blobs(
                name_starts_with=prefix, include=["metadata"]):
            if _is_folder_stub(props) or props.name.endswith("/"):
                continue
            if len(out) >= max_objects:
                raise ValueError(f"{uri} holds more than {max_objects} objects; pass a larger "
                                 "max_objects to track them all")
            out.append(_entry(account_url, container, props,
                              _join(name, props.name[len(prefix):])))
    except AzureError as exc:
        raise failed(uri, f"could not be resolved: {exc}") from None
    if not out:
        raise failed(uri, "no blob has this name or prefix")
    return out


def fetch(entry: ArtifactManifestEntry, dest: str, multipart: bool | None,
          checked: bool) -> None:
    """Write the blob ``entry`` names to the new file ``dest``; ``checked``: the entry was
    recorded with checksum (else the live blob is taken)."""
    uri = entry.ref or ""
    account_url, container, blob, _ = _split(uri)
    service = _service(uri, account_url)
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError

    client = service.get_blob_client(container, blob)
    try:
        version = entry.extra.get("versionID") if checked else None
        props = client.get_blob_properties(version_id=version)
        if checked and not version and props.etag.strip('"') != entry.digest:
            version = _version_with_etag(service, container, blob, entry)
            props = client.get_blob_properties(version_id=version)
        pin: dict[str, Any] = {"version_id": version} if version else {
            "etag": props.etag, "match_condition": MatchConditions.IfNotModified}

        def read(out: Any, offset: int | None = None, length: int | None = None) -> None:
            for chunk in client.download_blob(offset=offset, length=length, **pin).chunks():
                out.write(chunk)

        if ranged.wanted(multipart, props.size):
            ranged.download(dest, props.size, lambda off, n, out: read(out, off, n))
        else:
            with open(dest, "xb") as out:
                read(out)
    except ReferenceFailedError:
        raise
    except AzureError as exc:
        raise failed(uri, f"could not be downloaded: {exc}") from None


def _version_with_etag(service: Any, container: str, blob: str,
                       entry: ArtifactManifestEntry) -> str:
    """The id of the blob version whose ETag is the entry's digest.

    :raises ReferenceFailedError: none has it (or the account keeps no versions).
    """
    for props in service.get_container_client(container).list_blobs(
            name_starts_with=blob, include=["versions"]):
        if (props.name == blob and props.etag.strip('"') == entry.digest
                and props.version_id):
            return str(props.version_id)
    raise failed(entry.ref, f"the blob changed and no version of it has ETag {entry.digest}")


def listing(uri: str, max_objects: int) -> list[Listed] | None:
    """What the prefix ``uri`` holds now; None when ``uri`` names a blob."""
    account_url, container, blob, _ = _split(uri)
    service = _service(uri, account_url)
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        if blob and not blob.endswith("/"):
            try:
                if not _is_folder_stub(service.get_blob_client(container, blob)
                                       .get_blob_properties()):
                    return None
            except ResourceNotFoundError:
                pass
        prefix = blob.rstrip("/") + "/" if blob else ""
        out: list[Listed] = []
        for props in service.get_container_client(container).list_blobs(
                name_starts_with=prefix, include=["metadata"]):
            if _is_folder_stub(props) or props.name.endswith("/"):
                continue
            if len(out) >= max_objects:
                raise failed(uri, f"holds more than {max_objects} objects")
            out.append(Listed(props.name[len(prefix):],
                              f"{account_url}/{container}/{props.name}", props.size))
    except AzureError as exc:
        raise failed(uri, f"could not be listed: {exc}") from None
    if not out:
        raise failed(uri, "no blob has this name or prefix")
    return out
