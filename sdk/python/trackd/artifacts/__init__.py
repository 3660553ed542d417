"""Artifacts: versioned datasets and models, stored by the daemon with W&B's semantics.

``trackd.Artifact`` and ``trackd.ArtifactTTL`` are the public names; the manifest classes are
here for code that imports them as W&B users do from ``wandb.sdk.artifacts``. Imported on
first use (``import trackd`` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact, ArtifactTTL
    from trackd.artifacts.manifest import ArtifactManifest, ArtifactManifestEntry

__all__ = ["Artifact", "ArtifactManifest", "ArtifactManifestEntry", "ArtifactTTL"]


def __getattr__(name: str) -> Any:
    if name in ("Artifact", "ArtifactTTL"):
        from trackd.artifacts import artifact

        return getattr(artifact, name)
    if name in ("ArtifactManifest", "ArtifactManifestEntry"):
        from trackd.artifacts import manifest

        return getattr(manifest, name)
    raise AttributeError(f"module 'trackd.artifacts' has no attribute {name!r}")
