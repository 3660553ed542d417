"""Plain data of artifacts that crosses the store interface (see ``artifact_base.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackd_daemon.store.models import RunKey

PENDING, COMMITTED, DELETED = "PENDING", "COMMITTED", "DELETED"
#: TTL values on the wire and in the store: INHERIT (no team default exists: never expires)
#: and DISABLED (W&B's ttl=None).
TTL_INHERIT, TTL_DISABLED = -1, -2
LATEST = "latest"
LOGGED, USED = "logged", "used"


@dataclass(frozen=True)
class CollectionKey:
    """A collection (or portfolio): unique by (entity, project, name)."""

    entity: str
    project: str
    name: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"


@dataclass
class Entry:
    """One manifest entry. ``blob_key`` is empty for references and for files not stored
    yet (``local_path`` then says where the daemon reads them)."""

    path: str
    digest: str = ""
    size: int = -1
    ref: str = ""
    birth_artifact_id: str = ""
    extra: str = ""  # JSON object text, "" when none
    blob_key: str = ""
    local_path: str = ""
    #: Store row id (0 before it is stored); the actor uses it to record a stored file.
    id: int = 0
    #: ``local_path`` is a private copy made for this version by a caller running as the
    #: daemon's user (the SDK's staging copy): the blob store may take the file over.
    staged: bool = False

    @property
    def stored(self) -> bool:
        return bool(self.ref or self.blob_key)


@dataclass(frozen=True)
class LinkInfo:
    """A version's membership in a portfolio."""

    portfolio: CollectionKey
    version_index: int
    aliases: list[str]
    owner_uid: int
    created_at: float
    #: The linker's user name where it ran ("" when unknown), as a run's ``owner_name``.
    owner_name: str = ""


@dataclass
class NewVersion:
    """What logging a version stores."""

    key: CollectionKey
    type: str
    owner_uid: int
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    ttl_seconds: int = TTL_INHERIT
    run: RunKey | None = None
    history_step: int = -1
    distributed_id: str = ""
    finalize: bool = True
    base_id: str = ""
    incremental: bool = False
    request_id: str = ""
    created_at: float = 0.0
    #: The logger's user name where it ran ("" when unknown), as a run's ``owner_name``.
    owner_name: str = ""


@dataclass
class VersionInfo:
    """A stored version, or (``link`` set) a version seen through one of its links."""

    id: str
    key: CollectionKey  # the source collection
    type: str
    version_index: int  # -1 while pending
    state: str
    digest: str
    description: str
    metadata: dict[str, Any]
    aliases: list[str]  # the source collection's aliases pointing here (pending: requested)
    tags: list[str]
    ttl_seconds: int
    expires_at: float
    created_at: float
    updated_at: float
    size: int
    file_count: int
    commit_hash: str
    logged_by: RunKey | None
    history_step: int
    distributed_id: str
    base_id: str
    incremental: bool
    owner_uid: int
    collection_owner_uid: int
    commit_requested: bool = False
    error: str = ""
    replaced_by: str = ""
    links: list[LinkInfo] = field(default_factory=list)
    #: When this is a view through a link: that link.
    link: LinkInfo | None = None
    #: The version's and its collection's owners by user name ("" when unknown).
    owner_name: str = ""
    collection_owner_name: str = ""

    @property
    def version(self) -> str:
        return f"v{self.version_index}" if self.version_index >= 0 else ""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection or portfolio."""

    key: CollectionKey
    type: str
    is_portfolio: bool
    version_count: int
    created_at: float
    updated_at: float
    aliases: list[str]
    owner_uid: int
    owner_name: str = ""


@dataclass(frozen=True)
class VersionChanges:
    """What UpdateArtifact changes (None: unchanged)."""

    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: list[str] | None = None
    tags: list[str] | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class LogResult:
    """What :meth:`log_version` did."""

    version: VersionInfo
    deduplicated: bool = False
    #: Entries still to be stored by the upload actor (0: nothing to do).
    to_store: int = 0


@dataclass(frozen=True)
class BlobRecord:
    """A blob the store knows of."""

    key: str
    md5: str
    size: int


@dataclass(frozen=True)
class FileStamp:
    """What identifies an unchanged file (W&B's checksum cache keys on the same)."""

    path: str
    dev: int
    inode: int
    size: int
    mtime_ns: int
