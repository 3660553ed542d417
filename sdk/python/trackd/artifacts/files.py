"""Read-side helpers: ``artifact.files()`` and artifact collections."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trackd._base.terminal import visible

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact
    from trackd.artifacts.manifest import ArtifactManifestEntry


class ArtifactFile:
    """One stored file of an artifact (W&B's public ``File``)."""

    def __init__(self, artifact: Artifact, entry: ArtifactManifestEntry) -> None:
        self._artifact = artifact
        self._entry = entry
        self.name: str = entry.path
        self.size: int = entry.size or 0
        self.digest: str = entry.digest
        self.md5: str = entry.digest
        self.ref: str | None = entry.ref
        self.mimetype: str | None = _mimetype(entry.path)
        #: No HTTP URL: the daemon serves bytes over its socket.
        self.url: str | None = None
        self.direct_url: str | None = None

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> str:
        """Download to ``root/<name>``; returns its path.

        :raises ValueError: the file exists and neither ``replace`` nor ``exist_ok``.
        """
        dest = os.path.join(root, self.name)
        if os.path.exists(dest) and not replace:
            if exist_ok:
                return dest
            raise ValueError(f"File already exists, pass replace=True to overwrite: {dest}")
        if replace and os.path.exists(dest):
            os.remove(dest)
        self._entry._parent_artifact = self._artifact
        return self._artifact._download_entry(self._entry, root, None)

    def __repr__(self) -> str:
        return visible(f"<ArtifactFile {self.name} ({self.size} bytes)>")


def _mimetype(path: str) -> str | None:
    import mimetypes

    return mimetypes.guess_type(path)[0]


class ArtifactFiles:
    """The files of a logged artifact, iterable (``len()`` works too)."""

    def __init__(self, artifact: Artifact, names: list[str] | None = None, per_page: int = 50,
                 ) -> None:
        self._artifact = artifact
        self._names = list(names) if names else None
        self.per_page = per_page

    def _entries(self) -> list[ArtifactManifestEntry]:
        entries = self._artifact.manifest.entries
        if self._names is None:
            return [e for e in entries.values() if e.ref is None]
        return [entries[n] for n in self._names if n in entries and entries[n].ref is None]

    def __iter__(self) -> Iterator[ArtifactFile]:
        return (ArtifactFile(self._artifact, e) for e in self._entries())

    def __len__(self) -> int:
        return len(self._entries())

    def __getitem__(self, index: int) -> ArtifactFile:
        return ArtifactFile(self._artifact, self._entries()[index])

    def __repr__(self) -> str:
        return f"<ArtifactFiles {self._artifact.name} ({len(self)} files)>"


class ArtifactCollection:
    """A collection (sequence) of versions, or a portfolio of links."""

    def __init__(self, entity: str, project: str, name: str, type: str,
                 pb: Any = None, *, artifact_class: type[Artifact]) -> None:
        self.entity = entity
        #: What its versions are read as (:class:`Artifact`, which stands on this module).
        self._artifact_class = artifact_class
        self.project = project
        self.name = name
        self.type = type
        self._pb = pb

    def _load(self) -> Any:
        if self._pb is None:
            # not loaded by `import trackd`: the artifact client, gRPC
            from trackd._transport import artifact_client as client

            for c in client.collections(self.entity, self.project):
                if c.name == self.name:
                    self._pb = c
                    break
        return self._pb

    @property
    def aliases(self) -> list[str]:
        pb = self._load()
        return list(pb.aliases) if pb is not None else []

    def is_sequence(self) -> bool:
        """True for a collection of logged versions, False for a portfolio of links."""
        pb = self._load()
        return not (pb is not None and pb.is_portfolio)

    @property
    def version_count(self) -> int:
        pb = self._load()
        return int(pb.version_count) if pb is not None else 0

    def artifacts(self) -> list[Artifact]:
        """The committed versions, newest first."""
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert

        return [convert.from_pb(p, self._artifact_class)
                for p in client.versions(self.entity, self.project, self.name)]

    def versions(self) -> list[Artifact]:
        return self.artifacts()

    def __repr__(self) -> str:
        return visible(f"<ArtifactCollection {self.entity}/{self.project}/{self.name} ({self.type})>")
