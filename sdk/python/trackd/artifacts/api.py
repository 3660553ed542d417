"""Artifact reads of the public API: ``trackd.Api().artifact(...)`` and friends (W&B's names),
as base classes of :class:`trackd.Api` and of its runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackd._base import messages
from trackd._transport.setup import current_settings
from trackd.artifacts.artifact import Artifact
from trackd.artifacts.dirs import settings
from trackd.errors import ArtifactNotFoundError

if TYPE_CHECKING:
    from trackd.artifacts.files import ArtifactCollection


class ArtifactType:
    """An artifact type used in a project."""

    def __init__(self, entity: str, project: str, name: str) -> None:
        self.entity, self.project, self.name = entity, project, name

    def collections(self) -> list[ArtifactCollection]:
        """The collections (and portfolios) of this type in the project."""

        return _collections(self.entity, self.project, self.name)

    def collection(self, name: str) -> ArtifactCollection:

        for c in self.collections():
            if c.name == name:
                return c

        raise ArtifactNotFoundError(f"no artifact collection {name!r} of type {self.name!r} in "
                                    f"{self.entity}/{self.project}", reason="ARTIFACT_NOT_FOUND")

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name}>"


def _collections(entity: str, project: str, type_: str) -> list[ArtifactCollection]:
    # not loaded by `import trackd`: the artifact client, gRPC
    from trackd._transport import artifact_client as client
    from trackd.artifacts.files import ArtifactCollection

    return [ArtifactCollection(c.entity, c.project, c.name, c.type, c, artifact_class=Artifact)
            for c in client.collections(entity, project, type_)]


class ArtifactApi:
    """Artifact methods of :class:`trackd.Api`."""

    _overrides: dict[str, Any]
    if TYPE_CHECKING:
        @property
        def default_entity(self) -> str: ...

    def _where(self) -> tuple[str, str]:
        """Defaults for paths without them: the overrides, then the settings' project."""
        project = self._overrides.get("project") or settings().project or "uncategorized"
        return self.default_entity, project

    def _project_of(self, path: str | None) -> tuple[str, str]:
        """``entity/project`` or ``project`` (default entity); None: the default project."""
        entity, project = self._where()
        bits = [b for b in (path or "").split("/") if b]
        if len(bits) == 1:
            return entity, bits[0]
        if len(bits) == 2:
            return bits[0], bits[1]
        if not bits:
            return entity, project
        raise ValueError(f"invalid project path {path!r}: use project or entity/project")

    def _collection_of(self, name: str) -> tuple[str, str, str]:
        """``[[entity/]project/]collection`` with the defaults."""
        entity, project = self._where()
        bits = name.split("/")
        if len(bits) == 1:
            return entity, project, bits[0]
        if len(bits) == 2:
            return entity, bits[0], bits[1]
        if len(bits) == 3:
            return bits[0], bits[1], bits[2]
        raise ValueError(f"invalid artifact collection path {name!r}")

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """A version by ``[[entity/]project/]name[:alias|:vN|:digest]`` (``latest`` when no
        version is given).

        :raises trackd.errors.ArtifactNotFoundError: no such version (or not of ``type``).
        """
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        if not name:
            raise ValueError("You must specify name= to fetch an artifact.")
        entity, project = self._where()
        return convert.from_pb(client.get(path=name, entity=entity, project=project,
                                          type_=type or ""), Artifact)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether :meth:`artifact` would find this version."""
        try:
            self.artifact(name, type)
        except ArtifactNotFoundError:
            return False
        return True

    def artifacts(self, type_name: str, name: str, per_page: int = 50,
                  tags: list[str] | None = None, order: str | None = None) -> list[Artifact]:
        """The committed versions of collection ``[[entity/]project/]name`` of type
        ``type_name``, newest first (with ``tags``: only versions having all of them)."""
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        entity, project, collection = self._collection_of(name)
        found = [convert.from_pb(p, Artifact)
                 for p in client.versions(entity, project, collection, type_name)]
        if tags:
            want = set([tags] if isinstance(tags, str) else tags)
            found = [a for a in found if want <= set(a._tags)]
        if order and order.lstrip("+-") == "created_at" and not order.startswith("-"):
            found.reverse()
        return found

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> list[Artifact]:
        """Deprecated: use :meth:`artifacts`."""

        messages.warn(current_settings(),
            "Api.artifact_versions() is deprecated, use Api.artifacts() instead",
            DeprecationWarning, stacklevel=2)
        return self.artifacts(type_name, name, per_page)

    def artifact_collections(self, project_name: str, type_name: str,
                             per_page: int = 50) -> list[ArtifactCollection]:
        """The collections of a type in ``[entity/]project``."""

        entity, project = self._project_of(project_name)
        return _collections(entity, project, type_name)

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        """One collection by ``[[entity/]project/]name``.

        :raises trackd.errors.ArtifactNotFoundError: none of that name and type.
        """

        entity, project, collection = self._collection_of(name)
        return ArtifactType(entity, project, type_name).collection(collection)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        try:
            self.artifact_collection(type, name)
        except ArtifactNotFoundError:
            return False
        return True

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The artifact types used in ``[entity/]project``."""
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd._transport import artifact_client as client

        entity, proj = self._project_of(project)
        names = sorted({c.type for c in client.collections(entity, proj)})
        return [ArtifactType(entity, proj, n) for n in names]

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        entity, proj = self._project_of(project)
        return ArtifactType(entity, proj, type_name)


class RunArtifactLists:
    """``logged_artifacts()`` / ``used_artifacts()`` of a run read through the API."""

    _pb: Any

    def logged_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The versions this run logged, in order."""
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        return [convert.from_pb(p, Artifact)
                for p in client.run_artifacts(self._pb.ref, used=False)]

    def used_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The versions this run used, in order of first use."""
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        return [convert.from_pb(p, Artifact)
                for p in client.run_artifacts(self._pb.ref, used=True)]
