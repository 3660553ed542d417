"""Between the wire's ``trackd.v1.Artifact``/``ManifestEntry`` and the SDK's objects."""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING, Any

from trackd._shared import artifact_rules as rules
from trackd.artifacts.manifest import ArtifactManifest, ArtifactManifestEntry
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import run_pb2

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

STATES = {apb.ARTIFACT_STATE_PENDING: "PENDING", apb.ARTIFACT_STATE_COMMITTED: "COMMITTED",
          apb.ARTIFACT_STATE_DELETED: "DELETED"}


def iso(ts: float) -> str:
    """W&B's timestamp strings: ``2026-01-31T12:00:00Z`` (UTC)."""
    if not ts:
        return ""
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_from_pb(e: apb.ManifestEntry) -> ArtifactManifestEntry:
    entry = ArtifactManifestEntry(
        e.path, e.digest, e.ref or None, e.birth_artifact_id or None,
        None if e.size < 0 else e.size, json.loads(e.extra_json) if e.extra_json else None)
    entry._blob = e.blob_key
    return entry


def manifest_from_pb(entries: list[apb.ManifestEntry], parent: Artifact) -> ArtifactManifest:
    m = ArtifactManifest()
    for e in entries:
        entry = entry_from_pb(e)
        entry._parent_artifact = parent
        m.entries[entry.path] = entry
    return m


def entry_to_pb(entry: ArtifactManifestEntry, *, source: str) -> apb.ManifestEntry:
    """A request entry; ``source`` is "local" (the daemon reads ``local_path``), "blob"
    (``entry._blob``), "digest" (bytes the daemon holds with this digest and size) or "ref"."""
    out = apb.ManifestEntry(path=entry.path, birth_artifact_id=entry.birth_artifact_id or "",
                            extra_json=json.dumps(entry.extra) if entry.extra else "")
    out.size = -1 if entry.size is None else entry.size
    if source == "ref":
        out.ref, out.digest = entry.ref or "", entry.digest
    elif source == "local":
        out.local_path = entry.local_path or ""
        out.digest = entry._digest or ""
        out.staged = entry._staged  # a staging copy: the daemon may take it over
    elif source == "blob":
        out.blob_key, out.digest = entry._blob, entry.digest
    else:
        out.digest = entry.digest
    return out


def apply(artifact: Artifact, pb: apb.Artifact) -> None:
    """Make ``artifact`` describe the stored version (or link) ``pb``."""
    a = artifact
    a._id = pb.id
    a._entity, a._project = pb.entity, pb.project
    a._name = f"{pb.collection}:{pb.version}" if pb.version else pb.collection
    a._version = pb.version or None
    src = pb.source
    a._source_entity = src.entity or pb.entity
    a._source_project = src.project or pb.project
    a._source_name = (f"{src.collection}:{src.version}" if src.version else src.collection) \
        if src.collection else a._name
    a._source_version = src.version or a._version
    a._type = pb.type
    a._description = pb.description or None
    a._metadata = json.loads(pb.metadata_json) if pb.metadata_json else {}
    a._aliases = [x for x in pb.aliases if rules.parse_version(x) is None]
    a._saved_aliases = list(a._aliases)
    a._tags = list(pb.tags)
    a._saved_tags = list(a._tags)
    a._ttl_is_inherited = pb.ttl_seconds in (0, rules.TTL_INHERIT)
    a._ttl_seconds = pb.ttl_seconds if pb.ttl_seconds > 0 else None
    a._ttl_changed = False
    a._state = STATES.get(pb.state, "PENDING")
    a._digest = pb.digest or None
    a._size = pb.size
    a._file_count = pb.file_count
    a._commit_hash = pb.commit_hash or None
    a._created_at = iso(pb.created_at)
    a._updated_at = iso(pb.updated_at)
    a._history_step = pb.history_step if pb.history_step >= 0 else None
    a._distributed_id = pb.distributed_id or a._distributed_id
    a._base_id = pb.base_id or None
    a._incremental = pb.incremental
    a._is_link = pb.is_link
    a._linked_pbs = list(pb.linked_artifacts)
    a._logged_by = pb.logged_by if pb.HasField("logged_by") and pb.logged_by.run_id else None
    a._final = True


def from_pb(pb: apb.Artifact, cls: type[Artifact]) -> Artifact:
    """A logged artifact (of class ``cls``: :class:`Artifact`, which stands on this module) for
    ``pb``; its manifest is read when first needed."""
    a = cls.__new__(cls)
    a._init_state(pb.collection or "artifact", pb.type)
    apply(a, pb)
    a._manifest = None
    return a


def run_ref(entity: str, project: str, run_id: str) -> Any:
    return run_pb2.RunRef(entity=entity, project=project, run_id=run_id)
