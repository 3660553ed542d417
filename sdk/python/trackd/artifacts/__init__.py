"""Artifacts: versioned datasets and models, stored by the daemon with W&B's semantics.

``trackd.Artifact`` and ``trackd.ArtifactTTL`` are the public names; the manifest classes are
here for code that imports them as W&B users do from ``wandb.sdk.artifacts``. ``import trackd``
loads these modules (a run logs and uses artifacts); the daemon's artifact client (gRPC) loads
on the first call that needs it.
"""

from __future__ import annotations

from trackd.artifacts.artifact import Artifact, ArtifactTTL
from trackd.artifacts.manifest import ArtifactManifest, ArtifactManifestEntry

__all__ = ["Artifact", "ArtifactManifest", "ArtifactManifestEntry", "ArtifactTTL"]
