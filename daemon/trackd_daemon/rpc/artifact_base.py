"""What the ArtifactService's parts share: the actors and store they use, and the access
checks (every RPC goes through :meth:`ArtifactContext.require`)."""

from __future__ import annotations

import grpc

from trackd_daemon.access import Caller, Mode
from trackd_daemon.actors.artifact_gc import ArtifactCollector
from trackd_daemon.actors.artifacts import ArtifactUploader
from trackd_daemon.blobs import BlobStore
from trackd_daemon.errors import ArtifactNotFoundError, InvalidArgumentError
from trackd_daemon.rpc.artifact_convert import Owned, owned
from trackd_daemon.rpc.convert import key_from_pb
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.store.artifact_models import DELETED, CollectionKey, VersionInfo
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunKey


class ArtifactContext:
    """State and checks shared by the servicer's mixins."""

    def __init__(self, store: MetadataStore, blobs: BlobStore, uploader: ArtifactUploader,
                 collector: ArtifactCollector, guard: Guard) -> None:
        self._store = store
        self._blobs = blobs
        self._uploader = uploader
        self._collector = collector
        self._guard = guard

    def trusted(self, caller: Caller) -> bool:
        """The daemon's own user and root may read every file and blob the daemon holds (and
        only their paths are opened: ``local_paths.py``)."""
        return self._guard.policy.trusted(caller)

    def may(self, caller: Caller, v: VersionInfo, mode: Mode = "read") -> bool:
        return self._guard.policy.allows(caller, owned(v), mode)

    def require(self, caller: Caller, target: VersionInfo | Owned, mode: Mode) -> None:
        """:raises PermissionDeniedError: ``caller`` may not ``mode`` the version (its link,
        for a view through a link) or collection."""
        what = owned(target) if isinstance(target, VersionInfo) else target
        self._guard.policy.require(caller, what, mode, noun="artifact")

    async def version(self, context: grpc.aio.ServicerContext, version_id: str,
                      mode: Mode = "read") -> tuple[Caller, VersionInfo]:
        """A version by id the caller may ``mode`` (a dropped duplicate resolves to the version
        it was deduplicated to).

        :raises ArtifactNotFoundError: none, or deleted.
        """
        if not version_id:
            raise InvalidArgumentError("id: an artifact version id is needed", field="id")
        caller = self._guard.caller(context)
        v = await self._store.get_version(version_id)
        if v.replaced_by:
            v = await self._store.get_version(v.replaced_by)
        if v.state == DELETED:
            raise ArtifactNotFoundError(f"artifact version {version_id!r} was deleted",
                                        id=version_id)
        self.require(caller, v, mode)
        return caller, v

    async def run_for(self, context: grpc.aio.ServicerContext, ref: object, mode: Mode) -> RunKey:
        """A run named by a RunRef that the caller may ``mode``."""
        key = key_from_pb(ref)  # type: ignore[arg-type]
        self._guard.require(context, await self._store.get_run(key), mode)
        return key

    async def collection_writable(self, caller: Caller, key: CollectionKey) -> None:
        """:raises PermissionDeniedError: the collection exists and ``caller`` may not add to
        it."""
        coll = await self._store.get_collection(key)
        if coll is not None:
            self.require(caller, Owned(coll.key, coll.owner_uid, coll.owner_name), "write")
