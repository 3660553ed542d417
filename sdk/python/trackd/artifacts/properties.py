"""What an artifact says about itself: identity (name, version, entity, project, source,
links), the fields a user may change (description, metadata, TTL, aliases, tags) and what
the daemon recorded (state, manifest, digest, size, commit hash, times, history step).

Properties that only a logged artifact has raise ``ArtifactNotLoggedError`` on a draft
(``_logged``); methods that change contents raise ``ArtifactFinalizedError`` once it was
logged (``_draft``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from trackd._base import messages
from trackd._shared import artifact_rules as rules
from trackd._transport import dashboard as _dashboard
from trackd._transport.setup import current_settings
from trackd.artifacts.manifest import ArtifactManifest
from trackd.errors import ArtifactFinalizedError, ArtifactNotLoggedError

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

F = TypeVar("F", bound=Callable[..., Any])


class ArtifactTTL(Enum):
    """``artifact.ttl = ArtifactTTL.INHERIT``: use the team default (none exists yet, so the
    version never expires)."""

    INHERIT = 0


def _logged(method: F) -> F:
    """Raise ArtifactNotLoggedError when called on a draft."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.is_draft():
            raise ArtifactNotLoggedError(f"Artifact.{method.__name__}", self)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _draft(method: F) -> F:
    """Raise ArtifactFinalizedError when called on a logged (finalized) artifact."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._final:
            raise ArtifactFinalizedError(f"Artifact.{method.__name__}", self)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ArtifactProperties:
    """The properties of :class:`trackd.Artifact` (its state is set up by ``Artifact``)."""

    _lock: threading.RLock
    _id: str | None
    _entity: str | None
    _project: str | None
    _name: str
    _version: str | None
    _source_entity: str | None
    _source_project: str | None
    _source_name: str
    _source_version: str | None
    _type: str
    _description: str | None
    _metadata: dict[str, Any]
    _ttl_seconds: int | None
    _ttl_is_inherited: bool
    _ttl_changed: bool
    _aliases: list[str]
    _tags: list[str]
    _distributed_id: str | None
    _incremental: bool
    _use_as: str | None
    _state: str
    _digest: str | None
    _size: int | None
    _file_count: int | None
    _commit_hash: str | None
    _created_at: str | None
    _updated_at: str | None
    _history_step: int | None
    _is_link: bool
    _manifest: ArtifactManifest | None
    if TYPE_CHECKING:
        def is_draft(self) -> bool: ...

    # -- identity --------------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The version's id (None for a draft)."""
        return None if self.is_draft() else self._id

    @property
    @_logged
    def entity(self) -> str:
        """Entity of the collection (of the portfolio, for a link)."""
        return self._entity or ""

    @property
    @_logged
    def project(self) -> str:
        """Project of the collection (of the portfolio, for a link)."""
        return self._project or ""

    @property
    def name(self) -> str:
        """``collection:vN`` once logged, the bare name before."""
        return self._name

    @property
    def qualified_name(self) -> str:
        """``entity/project/name``."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    @_logged
    def version(self) -> str:
        """``vN`` (the portfolio's version, for a link)."""
        return self._version or ""

    @property
    @_logged
    def collection(self) -> Any:
        """The collection this artifact was read from (the portfolio, for a link)."""
        # loaded on first use, not by `import trackd`
        from trackd.artifacts.files import ArtifactCollection

        return ArtifactCollection(self.entity, self.project, self._name.split(":")[0], self._type,
                                  artifact_class=type(self))

    @property
    @_logged
    def source_entity(self) -> str:
        return self._source_entity or ""

    @property
    @_logged
    def source_project(self) -> str:
        return self._source_project or ""

    @property
    def source_name(self) -> str:
        """``collection:vN`` of the source version (the bare name before logging)."""
        return self._source_name

    @property
    def source_qualified_name(self) -> str:
        return f"{self.source_entity}/{self.source_project}/{self.source_name}"

    @property
    @_logged
    def source_version(self) -> str:
        return self._source_version or ""

    @property
    @_logged
    def source_collection(self) -> Any:
        # loaded on first use, not by `import trackd`
        from trackd.artifacts.files import ArtifactCollection

        return ArtifactCollection(self.source_entity, self.source_project,
                                  self._source_name.split(":")[0], self._type,
                                  artifact_class=type(self))

    @property
    def is_link(self) -> bool:
        """True when this describes a link into a portfolio (registry collection)."""
        return self._is_link

    @property
    @_logged
    def linked_artifacts(self) -> list[Artifact]:
        """The links of a source version (at most 500); empty for a link."""
        if self._is_link:
            return []
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        pb = client.get(artifact_id=self._id or "")
        return [convert.from_pb(p, type(self)) for p in pb.linked_artifacts]

    @property
    @_logged
    def source_artifact(self) -> Artifact:
        """The source version (this artifact itself when it is not a link)."""
        if not self._is_link:
            return self
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        return convert.from_pb(client.get(path=self._source_name, entity=self.source_entity,
                                          project=self.source_project), type(self))

    @property
    def type(self) -> str:
        return self._type

    @property
    @_logged
    def url(self) -> str:
        """The version's page in the daemon's dashboard ("" when it serves none)."""
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd._transport import artifact_client as client

        url = _dashboard.link(client.connection(), self.entity, self.project, "artifacts",
                              self._type, self._name.split(":")[0], self.version)
        return url or ""

    # -- editable fields -------------------------------------------------------------------------

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, description: str | None) -> None:
        self._description = description

    @property
    def metadata(self) -> dict[str, Any]:
        """User metadata (at most 100 keys); set it, then ``save()`` a logged artifact."""
        return self._metadata

    @metadata.setter
    def metadata(self, metadata: dict[str, Any]) -> None:
        self._metadata = rules.normalize_metadata(metadata)

    @property
    def ttl(self) -> _dt.timedelta | None:
        """How long the version lives after it was created (None: forever).

        :raises ArtifactNotLoggedError: the TTL is inherited and the artifact not logged yet.
        """
        if self._ttl_is_inherited and (self.is_draft() or self._ttl_changed):
            raise ArtifactNotLoggedError("Artifact.ttl", self)
        return None if self._ttl_seconds is None else _dt.timedelta(seconds=self._ttl_seconds)

    @ttl.setter
    def ttl(self, ttl: _dt.timedelta | ArtifactTTL | None) -> None:
        if self._is_link:
            raise ValueError("Cannot set TTL for link artifact. Unlink the artifact first then "
                             "set the TTL for the source artifact")
        if isinstance(ttl, ArtifactTTL):
            self._ttl_is_inherited, self._ttl_seconds = True, None
        elif ttl is None:
            self._ttl_is_inherited, self._ttl_seconds = False, None
        elif isinstance(ttl, _dt.timedelta):
            seconds = int(ttl.total_seconds())
            if seconds <= 0:
                raise ValueError(f"Artifact TTL Duration has to be positive. ttl: {ttl.total_seconds()}")
            self._ttl_is_inherited, self._ttl_seconds = False, seconds
        else:
            raise TypeError(f"ttl must be a timedelta, None or ArtifactTTL.INHERIT, got {ttl!r}")
        self._ttl_changed = True

    def _ttl_wire(self) -> int:
        if self._ttl_is_inherited:
            return rules.TTL_INHERIT
        return rules.TTL_DISABLED if self._ttl_seconds is None else self._ttl_seconds

    @property
    @_logged
    def aliases(self) -> list[str]:
        """The version's aliases (``latest`` included when it points here); set them, then
        ``save()``."""
        return self._aliases

    @aliases.setter
    @_logged
    def aliases(self, aliases: list[str]) -> None:
        self._aliases = rules.validate_aliases(aliases)

    @property
    @_logged
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    @_logged
    def tags(self, tags: list[str]) -> None:
        self._tags = rules.validate_tags(tags)

    @property
    def distributed_id(self) -> str | None:
        return self._distributed_id

    @distributed_id.setter
    def distributed_id(self, distributed_id: str | None) -> None:
        self._distributed_id = distributed_id

    @property
    def incremental(self) -> bool:
        return self._incremental

    @property
    def use_as(self) -> str | None:
        """Deprecated."""

        messages.warn(current_settings(),
            "Artifact.use_as is deprecated", DeprecationWarning, stacklevel=2)
        return self._use_as

    # -- stored facts ----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """"PENDING" (a draft, or being stored), "COMMITTED" or "DELETED"."""
        return self._state

    @property
    def manifest(self) -> ArtifactManifest:
        """The entries, by path (read from the daemon for a logged artifact)."""
        with self._lock:
            if self._manifest is None:
                # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
                from trackd._transport import artifact_client as client
                from trackd.artifacts import convert

                self._manifest = convert.manifest_from_pb(client.manifest(self._id or ""), self)
            return self._manifest

    @property
    def digest(self) -> str:
        """The manifest digest (hex); equal digests mean equal contents."""
        if self._manifest is None and self._digest is not None:
            return self._digest
        return self.manifest.digest()

    @property
    def size(self) -> int:
        """Total bytes, references with a known size included."""
        if self._manifest is None and self._size is not None:
            return self._size
        return self.manifest.size()

    @property
    @_logged
    def commit_hash(self) -> str:
        return self._commit_hash or ""

    @property
    @_logged
    def file_count(self) -> int:
        """Entries, references included."""
        return int(self._file_count or 0)

    @property
    @_logged
    def created_at(self) -> str:
        return self._created_at or ""

    @property
    @_logged
    def updated_at(self) -> str:
        return self._updated_at or self._created_at or ""

    @property
    @_logged
    def history_step(self) -> int | None:
        """The nearest step at which the logging run logged history (None when unknown)."""
        if self._history_step is None:
            return None
        return max(0, self._history_step - 1)
