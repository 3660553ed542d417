"""An artifact's manifest in W&B's ``wandb_manifest.json`` format (version 1).

::

    {"version": 1,
     "storagePolicy": "wandb-storage-policy-v1",
     "storagePolicyConfig": {"storageLayout": "V2"},
     "contents": {"<path>": {"digest": "<b64 md5>", "size": N,
                             ["ref": "<uri>"], ["birthArtifactID": "..."], ["extra": {...}]}}}

Fields with default values are omitted; the local path and cache flags of an entry being
logged are never written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from trackd._base import messages
from trackd._shared import artifact_rules as rules
from trackd._transport.setup import current_settings
from trackd.artifacts.digests import resolve_digests

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

#: Entries referencing a file of another artifact: ``trackd-artifact://<id>/<path>``
#: (``wandb-artifact://`` is read too).
ARTIFACT_SCHEME = "wandb-artifact"
ARTIFACT_SCHEMES = ("wandb-artifact", "trackd-artifact")


class ArtifactManifestEntry:
    """One file (or reference) of an artifact.

    ``path`` is artifact-relative (POSIX). ``digest`` is the base64 MD5 of the content, or for
    a reference what identifies the remote object (ETag, version id, or the URI itself).
    """

    __slots__ = ("_blob", "_digest", "_parent_artifact", "_policy", "_source", "_source_stat",
                 "_staged", "birth_artifact_id", "extra", "local_path", "path", "ref", "size",
                 "skip_cache")

    def __init__(self, path: str, digest: str | None, ref: str | None = None,
                 birth_artifact_id: str | None = None, size: int | None = None,
                 extra: dict[str, Any] | None = None, local_path: str | None = None,
                 skip_cache: bool = False) -> None:
        self.path = rules.validate_path(path)
        #: None for a local file not hashed yet: computed on first use of ``digest``.
        self._digest = digest
        self.ref = ref
        self.birth_artifact_id = birth_artifact_id
        self.size = size
        self.extra: dict[str, Any] = dict(extra or {})
        self.local_path = os.fspath(local_path) if local_path else None
        self.skip_cache = bool(skip_cache)
        self._parent_artifact: Artifact | None = None
        #: The user's file this entry was added from (for get_added_local_path_name).
        self._source: str | None = None
        #: The source file's stat when it was added (a digest cached for it is valid while the
        #: file still has this stat).
        self._source_stat: Any = None
        #: local_path is a private staging copy (deleted once the version is stored).
        self._staged = False
        #: "mutable" or "immutable": how the local file was added.
        self._policy = "immutable"
        #: The blob key of the stored bytes (64 hex digits), for entries read from the daemon.
        self._blob = ""

    @property
    def digest(self) -> str:
        """Base64 MD5 of the content (for a reference: its ETag, version or URI digest)."""
        if self._digest is None:
            resolve_digests([self])
        assert self._digest is not None
        return self._digest

    @digest.setter
    def digest(self, value: str) -> None:
        self._digest = value

    # -- W&B's entry API -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Deprecated: use ``path``."""

        messages.warn(current_settings(),
            "ArtifactManifestEntry.name is deprecated, use .path instead.",
            DeprecationWarning, stacklevel=2)
        return self.path

    def parent_artifact(self) -> Artifact:
        """The artifact this entry was read from.

        :raises ValueError: the entry belongs to no logged artifact.
        """
        if self._parent_artifact is None:
            raise ValueError(f"manifest entry {self.path!r} does not belong to a logged artifact")
        return self._parent_artifact

    def download(self, root: str | None = None, skip_cache: bool | None = None) -> str:
        """Download this entry under ``root`` (default: its artifact's download root) and
        return the file's path."""
        return self.parent_artifact()._download_entry(self, root, skip_cache)

    def ref_target(self) -> str:
        """The URI this reference entry points at.

        :raises ValueError: the entry is not a reference.
        """
        if self.ref is None:
            raise ValueError("Only reference entries support ref_target().")
        return self.ref

    def ref_url(self) -> str:
        """A URI for this entry that another artifact can ``add_reference``."""
        parent = self.parent_artifact()
        if parent.id is None:
            raise ValueError("Parent artifact ID is not set")
        return f"{ARTIFACT_SCHEME}://{parent.id}/{self.path}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "digest": self.digest}
        for key, value in (("ref", self.ref), ("birthArtifactID", self.birth_artifact_id),
                           ("size", self.size), ("local_path", self.local_path)):
            if value is not None:
                out[key] = value
        if self.extra:
            out["extra"] = dict(self.extra)
        if self.skip_cache:
            out["skip_cache"] = True
        return out

    def _manifest_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest}
        if self.ref is not None:
            out["ref"] = self.ref
        if self.birth_artifact_id is not None:
            out["birthArtifactID"] = self.birth_artifact_id
        if self.size is not None:
            out["size"] = self.size
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    def _is_artifact_reference(self) -> bool:
        return self.ref is not None and urlparse(self.ref).scheme in ARTIFACT_SCHEMES

    def _copy(self) -> ArtifactManifestEntry:
        e = ArtifactManifestEntry(self.path, self._digest, self.ref, self.birth_artifact_id,
                                  self.size, self.extra, self.local_path, self.skip_cache)
        e._source, e._source_stat, e._staged = self._source, self._source_stat, self._staged
        e._policy, e._blob = self._policy, self._blob
        return e

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArtifactManifestEntry):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"path={self.path!r}", f"digest={self.digest!r}"]
        if self.ref is not None:
            parts.append(f"ref={self.ref!r}")
        if self.size is not None:
            parts.append(f"size={self.size}")
        if self.extra:
            parts.append(f"extra={self.extra!r}")
        return f"ArtifactManifestEntry({', '.join(parts)})"


class ArtifactManifest:
    """The entries of an artifact, keyed by path."""

    def __init__(self, entries: dict[str, ArtifactManifestEntry] | None = None) -> None:
        self.entries: dict[str, ArtifactManifestEntry] = dict(entries or {})

    @classmethod
    def version(cls) -> int:
        return rules.MANIFEST_VERSION

    @classmethod
    def from_manifest_json(cls, manifest_json: dict[str, Any]) -> ArtifactManifest:
        """Parse ``wandb_manifest.json`` content.

        :raises ValueError: no or an unknown version, or a malformed entry.
        """
        version = manifest_json.get("version")
        if version is None:
            raise ValueError("Invalid manifest format. Must contain version field.")
        if version != rules.MANIFEST_VERSION:
            raise ValueError(f"Invalid manifest version: {version!r}")
        entries = {}
        for path, e in (manifest_json.get("contents") or {}).items():
            if "digest" not in e:
                raise ValueError(f"manifest entry {path!r} has no digest")
            entry = ArtifactManifestEntry(path, e["digest"], e.get("ref"), e.get("birthArtifactID"),
                                          e.get("size"), e.get("extra"))
            entries[entry.path] = entry
        return cls(entries)

    def to_manifest_json(self) -> dict[str, Any]:
        return {
            "version": rules.MANIFEST_VERSION,
            "storagePolicy": rules.STORAGE_POLICY,
            "storagePolicyConfig": dict(rules.STORAGE_POLICY_CONFIG),
            "contents": {p: e._manifest_json() for p, e in self.entries.items()},
        }

    def digest(self) -> str:
        """The artifact digest (hex), W&B's rule over the sorted ``path:digest`` lines (local
        files not hashed yet are hashed first, on every core)."""
        resolve_digests(list(self.entries.values()))
        return rules.manifest_digest((p, e.digest) for p, e in self.entries.items())

    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries.values())

    def add_entry(self, entry: ArtifactManifestEntry, overwrite: bool = False) -> None:
        """:raises ValueError: the path is taken by different content and not ``overwrite``."""
        old = self.entries.get(entry.path)
        if not overwrite and old is not None and old is not entry and old.digest != entry.digest:
            raise ValueError(f"Cannot add the same path twice: {entry.path!r}")
        self.entries[entry.path] = entry

    def remove_entry(self, entry: ArtifactManifestEntry) -> None:
        """:raises FileNotFoundError: no entry at that path."""
        if self.entries.pop(entry.path, None) is None:
            raise FileNotFoundError(f"Cannot remove missing entry: {entry.path!r}")

    def get_entry_by_path(self, path: str) -> ArtifactManifestEntry | None:
        return self.entries.get(path)

    def get_entries_in_directory(self, directory: str) -> list[ArtifactManifestEntry]:
        prefix = directory.rstrip("/") + "/"
        return [e for p, e in self.entries.items() if p.startswith(prefix)]

    def copy(self) -> ArtifactManifest:
        return ArtifactManifest({p: e._copy() for p, e in self.entries.items()})

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<ArtifactManifest {len(self.entries)} entries, digest {self.digest()}>"
