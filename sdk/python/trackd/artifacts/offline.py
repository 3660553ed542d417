"""Artifacts of offline runs: kept in the run directory, logged by ``trackd sync``.

``log_artifact`` in an offline run writes ``artifacts/<n>-<name>/request.json`` (what the
LogArtifactRequest will say) under the run directory, and moves the artifact's staging copies
into ``files/`` beside it (``immutable`` files are read from where they are at sync time, as
the policy promises they stay unchanged). The Artifact stays a draft, as in W&B offline.
``trackd sync`` logs each recorded artifact as an output of the synced run (a retry returns
the same version) and marks it ``synced.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackd.artifacts.manifest import ArtifactManifestEntry

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact


def record(sync_dir: Path, artifact: Artifact, *, aliases: list[str], tags: list[str],
           history_step: int, distributed_id: str | None, finalize: bool) -> Path:
    """Keep a logged artifact in the offline run directory; returns its directory."""
    root = sync_dir / "artifacts"
    root.mkdir(exist_ok=True)
    n = sum(1 for _ in root.iterdir())
    name = artifact._source_name.split(":")[0]
    where = root / f"{n:04d}-{name}"
    files = where / "files"
    files.mkdir(parents=True)
    entries = []
    for i, e in enumerate(artifact.manifest.entries.values()):
        local = e.local_path
        if local and e._staged:
            kept = files / str(i)
            shutil.move(local, kept)
            local = str(kept)
        elif local and e._policy == "mutable" and not e._staged:
            kept = files / str(i)  # its digest was known, its copy deferred: copy it now
            shutil.copyfile(local, kept)
            local = str(kept)
        entries.append({"path": e.path, "digest": e._digest, "size": e.size, "ref": e.ref,
                        "birth_artifact_id": e.birth_artifact_id, "extra": e.extra,
                        "local_path": local, "blob": e._blob})
    request = {"name": name, "type": artifact._type, "description": artifact._description,
               "metadata": artifact._metadata, "aliases": aliases, "tags": tags,
               "ttl_seconds": artifact._ttl_wire(), "history_step": history_step,
               "distributed_id": distributed_id or "", "finalize": finalize,
               "base_id": artifact._base_id or "", "incremental": artifact._incremental,
               "internal": artifact._internal, "entity": artifact._source_entity or "",
               "project": artifact._source_project or "",
               "entries": entries}
    tmp = where / "request.json.tmp"
    tmp.write_text(json.dumps(request))
    os.replace(tmp, where / "request.json")
    artifact._staging.release()
    return where


def sync_artifacts(run_dir: Path, run_ref: Any) -> str:
    """Log the artifacts an offline run recorded (in order) as outputs of ``run_ref``;
    returns a note for the user ("" when there were none)."""
    root = run_dir / "artifacts"
    if not root.is_dir():
        return ""
    done = stored = 0
    for where in sorted(p for p in root.iterdir() if (p / "request.json").is_file()):
        if (where / "synced.json").is_file():
            done += 1
            continue
        version = _log(where, run_ref)
        (where / "synced.json").write_text(json.dumps({"id": version.id,
                                                      "version": version.version}))
        stored += 1
    return f", {stored} artifact(s) logged" + (f" ({done} before)" if done else "")


def _log(where: Path, run_ref: Any) -> Any:
    # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
    from trackd._transport import artifact_client as client
    from trackd.artifacts import convert
    from trackd.v1 import artifact_pb2 as apb
    from trackd.v1 import artifact_service_pb2 as pb

    r = json.loads((where / "request.json").read_text())
    wire = []
    for e in r["entries"]:
        entry = ArtifactManifestEntry(e["path"], e["digest"], e["ref"], e["birth_artifact_id"],
                                      e["size"], e["extra"], e["local_path"])
        entry._blob = e["blob"] or ""
        source = ("ref" if entry.ref is not None else "blob" if entry._blob
                  else "local" if entry.local_path else "digest")
        wire.append(convert.entry_to_pb(entry, source=source))
    request_id = hashlib.sha256(f"{run_ref.entity}/{run_ref.project}/{run_ref.run_id}/"
                                f"{where.name}".encode()).hexdigest()[:32]
    req = pb.LogArtifactRequest(
        entity=r["entity"] or run_ref.entity, project=r["project"] or run_ref.project,
        name=r["name"], type=r["type"], description=r["description"] or "",
        metadata_json=json.dumps(r["metadata"]) if r["metadata"] else "", aliases=r["aliases"],
        tags=r["tags"], ttl_seconds=r["ttl_seconds"], entries=wire,
        history_step=r["history_step"], distributed_id=r["distributed_id"],
        finalize=r["finalize"], base_id=r["base_id"], incremental=r["incremental"],
        internal=r.get("internal", False), request_id=request_id)
    req.run.CopyFrom(run_ref)
    resp = client.log(req)
    art = resp.artifact
    if art.state != apb.ARTIFACT_STATE_COMMITTED and (r["finalize"] or not r["distributed_id"]):
        art = client.watch(art.id).artifact
    return art

