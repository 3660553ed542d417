"""The artifact part of the store interface (:class:`ArtifactStore`; ``MetadataStore`` includes
it). Contract tests: ``tests/daemon/store/contract_artifacts.py``.

Model: a collection (or portfolio) per (entity, project, name) with one type; versions of a
collection are PENDING until committed, then numbered v0, v1, ... in commit order (numbers of
deleted versions are never reused); aliases are unique per collection ("latest" follows the
newest commit unless moved); a portfolio holds links to versions of other collections, with
their own numbers and aliases. Blobs (content-addressed bytes, see ``trackd_daemon.blobs``) are
recorded with their MD5 and size; entries of manifests name them by key (the content hash
the blob store keys by).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackd_daemon.store.artifact_models import (
    BlobRecord,
    CollectionInfo,
    CollectionKey,
    Entry,
    FileStamp,
    LogResult,
    NewVersion,
    VersionChanges,
    VersionInfo,
)
from trackd_daemon.store.models import RunKey


class ArtifactStore(Protocol):
    """Artifact collections, versions, manifests, aliases, links, lineage and blob records."""

    # -- logging -------------------------------------------------------------------------------

    async def log_version(self, new: NewVersion, entries: list[Entry]) -> LogResult:
        """Create a PENDING version with ``entries`` (or, with ``new.distributed_id``, add them
        to the collection's pending version of that id, replacing entries with the same path),
        creating the collection (owned by ``new.owner_uid``) on first use. When the version is
        to be committed (``new.finalize`` or no distributed id) and every entry is stored
        (blob or reference), it is committed in the same transaction (see :meth:`try_commit`).
        A non-empty ``new.request_id`` equal to one of the owner's versions returns that
        version unchanged. Without a distributed id, when every entry has a digest and their
        manifest digest is a committed version's, no version is made: that one is returned
        (``deduplicated``) with the requested aliases ("latest" too) and tags added.

        :raises FailedPreconditionError: the collection exists with another type, or is a
            portfolio.
        :raises RunNotFoundError: ``new.run`` does not exist.
        """
        ...

    async def unstored_entries(self, version_id: str, limit: int,
                               after_id: int = 0) -> list[Entry]:
        """Entries of a pending version still to be stored (with ``local_path``), by id; only
        those with an id above ``after_id`` (for reading page after page while earlier pages
        are still being stored)."""
        ...

    async def record_stored(self, version_id: str, stored: Sequence[tuple[int, BlobRecord]],
                            stamps: Sequence[tuple[FileStamp, BlobRecord]] = (),
                            uploader_uid: int | None = None) -> None:
        """Record blobs as the content of entries (by entry id; an entry replaced meanwhile is
        left alone), record the blobs (and that ``uploader_uid`` wrote them), and remember the
        files' stamps for reuse."""
        ...

    async def record_files(self, stamps: Sequence[tuple[FileStamp, BlobRecord]],
                           uploader_uid: int | None = None) -> None:
        """Record blobs stored from files before any version names them (staging copies
        taken in early): the blobs, that ``uploader_uid`` wrote them, and the files' stamps,
        by which LogArtifact then finds them."""
        ...

    async def try_commit(self, version_id: str, now: float = 0.0) -> VersionInfo | None:
        """Commit a pending version whose commit was requested and whose entries are all
        stored, in one transaction: the manifest digest is computed; when a committed version
        of the collection has the same digest the pending one is dropped (DELETED, replaced_by
        set) and its requested aliases and tags go to that version; otherwise it gets the
        next version number, its aliases and "latest". Returns the committed version (or the
        one it was deduplicated to); ``None`` while it is not ready.

        :raises ArtifactNotFoundError: no such version.
        """
        ...

    async def fail_version(self, version_id: str, error: str) -> None:
        """Record why storing a pending version failed (it stays PENDING; a retry with its
        request id clears the error)."""
        ...

    async def pending_versions(self) -> list[VersionInfo]:
        """Pending versions without an error (to resume after a restart), oldest first."""
        ...

    # -- reads ---------------------------------------------------------------------------------

    async def get_version(self, version_id: str) -> VersionInfo:
        """A version by id (any state), with its links.

        :raises ArtifactNotFoundError: no such version.
        """
        ...

    async def resolve_version(self, key: CollectionKey, selector: str) -> VersionInfo:
        """A committed version of a collection by alias, "vN" or manifest digest; in a
        portfolio, the link (``link`` set, aliases and number the link's).

        :raises ArtifactNotFoundError: none matches.
        """
        ...

    async def get_link(self, version_id: str, portfolio: CollectionKey) -> VersionInfo:
        """A version seen through its link into ``portfolio``.

        :raises ArtifactNotFoundError: it is not linked there.
        """
        ...

    async def get_collection(self, key: CollectionKey) -> CollectionInfo | None:
        """A collection or portfolio, ``None`` when there is none."""
        ...

    async def list_collections(self, entity: str, project: str,
                               type_: str = "") -> list[CollectionInfo]:
        """Collections and portfolios of a project (optionally of a type), by name."""
        ...

    async def list_versions(self, entity: str, project: str, collection: str = "",
                            type_: str = "", limit: int = 1000) -> list[VersionInfo]:
        """Committed versions of a collection (links of a portfolio), newest first; without a
        collection, every committed version of the project by collection, newest first."""
        ...

    async def manifest(self, version_id: str, path_prefix: str = "", paths: Sequence[str] = (),
                       after: str = "", limit: int = 1000) -> list[Entry]:
        """Entries of a version in path order, after the path ``after``."""
        ...

    # -- changes -------------------------------------------------------------------------------

    async def update_version(self, version_id: str, changes: VersionChanges,
                             portfolio: CollectionKey | None = None) -> VersionInfo:
        """Change a committed version (or, with ``portfolio``, only its link's aliases).
        Aliases replace the set; one held by another version moves here; "latest" stays on
        the version holding it when not given.

        :raises ArtifactNotFoundError: no such committed version (or link).
        """
        ...

    async def delete_version(self, version_id: str, delete_aliases: bool = False,
                             now: float = 0.0) -> None:
        """Mark a version DELETED, drop its manifest, aliases and links; "latest" moves to
        the newest remaining version.

        :raises ArtifactNotFoundError: no such version (or it is deleted).
        :raises ArtifactHasAliasesError: it has aliases and not ``delete_aliases``.
        """
        ...

    async def link_version(self, version_id: str, portfolio: CollectionKey, aliases: list[str],
                           owner_uid: int, now: float = 0.0,
                           owner_name: str = "") -> VersionInfo:
        """Link a committed version into a portfolio (created with the version's type); an
        existing link gains the aliases. "latest" moves to the newest link. ``owner_uid`` and
        ``owner_name``: the linker's (a new portfolio is theirs too).

        :raises ArtifactNotFoundError: no such committed version.
        :raises FailedPreconditionError: ``portfolio`` is a collection of versions, or of
            another type.
        """
        ...

    async def unlink_version(self, version_id: str, portfolio: CollectionKey) -> None:
        """Remove a link and its aliases; "latest" moves to the newest remaining link.

        :raises ArtifactNotFoundError: the version is not linked there.
        """
        ...

    # -- lineage -------------------------------------------------------------------------------

    async def record_use(self, version_id: str, run: RunKey, kind: str, use_as: str = "") -> None:
        """Record that ``run`` logged (``kind`` "logged") or used ("used") a version;
        idempotent.

        :raises RunNotFoundError: no such run.
        """
        ...

    async def lineage(self, version_id: str) -> tuple[RunKey | None, list[RunKey]]:
        """The run that logged a version and the runs that used it (first use first)."""
        ...

    async def run_versions(self, run: RunKey, kind: str) -> list[VersionInfo]:
        """Versions a run logged or used (not deleted), in order."""
        ...

    # -- blobs ---------------------------------------------------------------------------------

    async def put_blob(self, blob: BlobRecord, uploader_uid: int | None = None) -> None:
        """Record a blob (idempotent), and that ``uploader_uid`` uploaded it."""
        ...

    async def get_blob(self, key: str) -> BlobRecord | None: ...

    async def get_blobs(self, keys: Sequence[str]) -> dict[str, BlobRecord]:
        """The recorded blobs among ``keys``, by key."""
        ...

    async def find_blobs(self, wanted: Sequence[tuple[str, int]], uploaders: Sequence[int] = (),
                         ) -> dict[tuple[str, int], BlobRecord]:
        """A recorded blob for each (MD5, size) that has one; with ``uploaders``, only blobs one
        of those uids wrote (an MD5 match alone does not prove the bytes are the same: another
        user could have stored colliding bytes)."""
        ...

    async def blob_uploaded_by(self, key: str, uid: int) -> bool:
        """Whether ``uid`` uploaded these bytes."""
        ...

    async def versions_holding(self, key: str, limit: int = 50) -> list[VersionInfo]:
        """Committed versions whose manifest holds this blob."""
        ...

    async def file_digests(self, stamps: Sequence[FileStamp]) -> dict[str, BlobRecord]:
        """Blobs of files whose stamp (path, device, inode, size, mtime) is unchanged since
        they were stored, by path."""
        ...

    async def file_stamps(self, after: str, limit: int) -> list[FileStamp]:
        """Recorded file stamps by path, those after ``after`` (a page at a time)."""
        ...

    async def forget_file_stamps(self, stamps: Sequence[FileStamp]) -> int:
        """Forget these file stamps (a stamp recorded again since, with another file there, is
        kept); returns how many were forgotten."""
        ...

    # -- garbage collection ---------------------------------------------------------------------

    async def expired_versions(self, now: float) -> list[str]:
        """Ids of committed versions whose TTL has passed."""
        ...

    async def stale_pending_versions(self, before: float) -> list[str]:
        """Ids of pending versions whose storing failed and that were last changed before
        ``before`` (the collector deletes them)."""
        ...

    async def referenced_blobs(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` a manifest (of a version not deleted) holds."""
        ...

    async def unreferenced_blobs(self, created_before: float) -> list[BlobRecord]:
        """Recorded blobs no manifest holds, recorded before ``created_before``."""
        ...

    async def forget_blobs(self, keys: Sequence[str]) -> list[str]:
        """Drop the records of those of ``keys`` no manifest holds (checked in the same
        transaction), with the file stamps and uploads naming them; returns those keys."""
        ...
