"""The operations on a logged artifact that talk to the daemon (``Artifact.save``, ``delete``,
``link``, ``unlink``, ``logged_by``, ``used_by`` delegate here), and the checks a run's artifact
functions share with them.

Two of them need a run from the layers above this one: a draft saved with no current run is
logged by a run of job_type "auto" (``init()``), and ``logged_by``/``used_by`` return runs of
the read API. The package ``trackd``, which stands on every layer, hands both in when it loads
(:func:`set_runs`).

Nothing here imports gRPC at import time (``trackd`` imports this module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trackd._settings import Settings
from trackd._shared import artifact_rules as rules
from trackd._transport.setup import current_run
from trackd.errors import RunNotFoundError

if TYPE_CHECKING:
    from trackd._api.api import PublicRun
    from trackd.artifacts.artifact import Artifact

#: "auto": ``init(**kwargs)`` for a draft saved without a current run; "read": the read API's
#: run at a path (``Api().run(path)``). Set by :func:`set_runs`.
_runs: dict[str, Callable[..., Any]] = {}


def set_runs(*, auto: Callable[..., Any], read: Callable[[str], Any]) -> None:
    """Hand in how to start a run for a draft and how to read a run (see ``_runs``)."""
    _runs.update(auto=auto, read=read)


def _assert_model(type_: str) -> None:
    if "model" not in type_.lower():
        raise AssertionError("You can only use this method for 'model' artifacts. For an artifact "
                             "to be a 'model' artifact, its type property must contain the "
                             "substring 'model'.")


def _split_target(target: str, entity: str, project: str) -> tuple[str, str, str]:
    parts = target.split("/")
    if len(parts) == 1:
        return entity, project, parts[0]
    if len(parts) == 2:
        return entity, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError(f"Invalid target path {target!r}: use portfolio, project/portfolio or "
                     "entity/project/portfolio")


def _link(artifact: Artifact, entity: str, project: str, portfolio: str,
          aliases: list[str] | None) -> Artifact:
    # not loaded by `import trackd`: the artifact client, gRPC
    from trackd._transport import artifact_client as client
    from trackd.artifacts import convert  # gRPC: not at `import trackd`

    artifact.wait()
    rules.validate_project(project)
    return convert.from_pb(client.link(artifact._id or "", entity, project, portfolio,
                                       rules.validate_aliases(aliases)), type(artifact))


# -- operations on artifacts (Artifact's methods delegate here) -----------------------------------


def save_draft(artifact: Artifact, project: str | None, settings: Any) -> None:
    """Log a draft through the current run, or through a run of job_type "auto"."""
    run = current_run()
    if run is not None:
        run.log_artifact(artifact)
        return
    with _runs["auto"](entity=artifact._source_entity,
                       project=project or artifact._source_project,
                       job_type="auto", settings=settings or Settings(silent=True)) as auto:
        auto.log_artifact(artifact)
    artifact.wait()


def update_logged(artifact: Artifact) -> None:
    """Store the changed description, metadata, aliases, tags and TTL of a logged artifact."""
    import json

    # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
    from trackd._transport import artifact_client as client
    from trackd.artifacts import convert  # gRPC: not at `import trackd`
    from trackd.v1 import artifact_pb2  # protobuf: not at `import trackd`
    from trackd.v1 import artifact_service_pb2 as pb

    req = pb.UpdateArtifactRequest(id=artifact._id or "")
    if artifact._is_link:
        req.link.CopyFrom(artifact_pb2.ArtifactSource(
            entity=artifact._entity or "", project=artifact._project or "",
            collection=artifact._name.split(":")[0]))
    else:
        req.description = artifact._description or ""
        req.metadata_json = json.dumps(artifact._metadata)
        if artifact._tags != artifact._saved_tags:
            req.tags.values.extend(artifact._tags)
        if artifact._ttl_changed:
            req.ttl_seconds = artifact._ttl_wire()
    if artifact._aliases != artifact._saved_aliases:
        req.aliases.values.extend(artifact._aliases)
    convert.apply(artifact, client.update(req))


def delete(artifact: Artifact, delete_aliases: bool) -> None:
    from trackd._transport import artifact_client as client  # gRPC: not at `import trackd`
    from trackd.v1 import artifact_pb2  # protobuf: not at `import trackd`

    link = None
    if artifact._is_link:
        link = artifact_pb2.ArtifactSource(entity=artifact._entity or "",
                                           project=artifact._project or "",
                                           collection=artifact._name.split(":")[0])
    client.delete(artifact._id or "", delete_aliases, link)
    artifact._state = "DELETED"


def link(artifact: Artifact, target_path: str, aliases: list[str] | None) -> Artifact:
    if artifact.is_draft() and artifact._save_job is None:
        artifact.save(project=artifact._source_project)
    artifact.wait()
    run = current_run()
    default_project = run.project if run is not None else (
        artifact._source_project or "uncategorized")
    entity, project, portfolio = _split_target(target_path, artifact.source_entity,
                                               default_project)
    return _link(artifact, entity, project, portfolio, aliases)


def unlink(artifact: Artifact) -> None:
    from trackd._transport import artifact_client as client  # gRPC: not at `import trackd`
    from trackd.v1 import artifact_pb2  # protobuf: not at `import trackd`

    if not artifact._is_link:
        raise ValueError(f"Artifact {artifact.qualified_name!r} is not a linked artifact and "
                         "cannot be unlinked. To delete it, use 'delete' instead.")
    client.unlink(artifact._id or "", artifact_pb2.ArtifactSource(
        entity=artifact._entity or "", project=artifact._project or "",
        collection=artifact._name.split(":")[0]))


def _public_run(ref: Any) -> PublicRun | None:
    try:
        return _runs["read"](f"{ref.entity}/{ref.project}/{ref.run_id}")
    except RunNotFoundError:
        return None


def logged_by(artifact: Artifact) -> PublicRun | None:
    from trackd._transport import artifact_client as client  # gRPC: not at `import trackd`

    ref = client.lineage(artifact._id or "").logged_by
    return _public_run(ref) if ref.run_id else None


def used_by(artifact: Artifact) -> list[PublicRun]:
    from trackd._transport import artifact_client as client  # gRPC: not at `import trackd`

    runs = (_public_run(r) for r in client.lineage(artifact._id or "").used_by)
    return [r for r in runs if r is not None]
