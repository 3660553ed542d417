"""Artifact store types <-> trackd.v1 messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trackd.v1 import artifact_pb2 as apb
from trackd_daemon.rpc.convert import key_to_pb
from trackd_daemon.store.artifact_models import (
    COMMITTED,
    DELETED,
    PENDING,
    CollectionInfo,
    CollectionKey,
    Entry,
    VersionInfo,
)

STATES = {PENDING: apb.ARTIFACT_STATE_PENDING, COMMITTED: apb.ARTIFACT_STATE_COMMITTED,
          DELETED: apb.ARTIFACT_STATE_DELETED}
#: Links listed with a source version (W&B's linked_artifacts is limited the same way).
MAX_LINKED = 500


@dataclass(frozen=True)
class Owned:
    """What the access policy decides on for an artifact: its collection and owner."""

    key: CollectionKey
    owner_uid: int
    #: The owner's user name where it ran ("" when unknown; see ``trackd_daemon.access``).
    owner_name: str = ""


def owned(v: VersionInfo) -> Owned:
    """A version's owner, or its link's for a view through a link."""
    if v.link is not None:
        return Owned(v.link.portfolio, v.link.owner_uid, v.link.owner_name)
    return Owned(v.key, v.owner_uid, v.owner_name)


def entry_to_pb(e: Entry) -> apb.ManifestEntry:
    return apb.ManifestEntry(path=e.path, digest=e.digest, size=e.size, ref=e.ref,
                             birth_artifact_id=e.birth_artifact_id, extra_json=e.extra,
                             blob_key=e.blob_key)


def _source(v: VersionInfo) -> apb.ArtifactSource:
    return apb.ArtifactSource(entity=v.key.entity, project=v.key.project,
                              collection=v.key.name, version=v.version)


def artifact_to_pb(v: VersionInfo, with_links: bool = True) -> apb.Artifact:
    link = v.link
    where = link.portfolio if link is not None else v.key
    index = link.version_index if link is not None else v.version_index
    msg = apb.Artifact(
        id=v.id, entity=where.entity, project=where.project, collection=where.name, type=v.type,
        version_index=index, version=f"v{index}" if index >= 0 else "", digest=v.digest,
        state=STATES[v.state], description=v.description,
        metadata_json=json.dumps(v.metadata), aliases=v.aliases, tags=v.tags,
        ttl_seconds=v.ttl_seconds, expires_at=v.expires_at, created_at=v.created_at,
        updated_at=v.updated_at, size=v.size, file_count=v.file_count,
        commit_hash=v.commit_hash, history_step=v.history_step,
        distributed_id=v.distributed_id, base_id=v.base_id, incremental=v.incremental,
        is_link=link is not None, source=_source(v),
        owner_uid=link.owner_uid if link is not None else v.owner_uid,
        is_portfolio=link is not None,
    )
    if v.logged_by is not None:
        msg.logged_by.CopyFrom(key_to_pb(v.logged_by))
    if link is None and with_links:
        for lk in v.links[:MAX_LINKED]:
            view = VersionInfo(**{**v.__dict__, "link": lk, "aliases": lk.aliases})
            msg.linked_artifacts.append(artifact_to_pb(view, with_links=False))
    return msg


def collection_to_pb(c: CollectionInfo) -> apb.ArtifactCollection:
    return apb.ArtifactCollection(
        entity=c.key.entity, project=c.key.project, name=c.key.name, type=c.type,
        is_portfolio=c.is_portfolio, version_count=c.version_count, created_at=c.created_at,
        updated_at=c.updated_at, aliases=c.aliases)


def progress_to_pb(version_id: str, state: str, p: Any = None) -> apb.ArtifactProgress:
    msg = apb.ArtifactProgress(id=version_id, state=STATES[state])
    if p is not None:
        msg.files_done, msg.files_total = p.files_done, p.files_total
        msg.bytes_done, msg.bytes_total, msg.bytes_new = p.bytes_done, p.bytes_total, p.bytes_new
    return msg
