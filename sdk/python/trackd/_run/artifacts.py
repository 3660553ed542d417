"""The artifact functions of a run (``log_artifact``, ``use_artifact``, ``upsert_artifact``,
``finish_artifact``, ``link_artifact``, ``log_model``, ``use_model``, ``link_model``) as a base
class of :class:`trackd.Run`; the operations on logged artifacts are
:mod:`trackd.artifacts.operations`.

Nothing here imports gRPC at import time (``trackd`` imports this module).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from trackd._base import messages
from trackd._base.terminal import visible
from trackd._shared import artifact_rules as rules
from trackd.artifacts.artifact import Artifact
from trackd.artifacts.operations import _assert_model, _link, _split_target
from trackd.errors import CommError, UsageError

if TYPE_CHECKING:
    from trackd.artifacts.upload import UploadJob


class RunArtifacts:
    """Artifact methods of :class:`trackd.Run` (W&B's names and rules)."""

    _id: str
    _entity: str
    _project: str
    _group: str | None
    _step: int
    _mode: str
    _finished: bool
    _settings: Any
    _sync_dir: Any
    if TYPE_CHECKING:
        def _check_open(self, what: str) -> None: ...  # Run's

    # -- logging ---------------------------------------------------------------------------------

    def log_artifact(self, artifact_or_path: Artifact | str | os.PathLike[str],
                     name: str | None = None, type: str | None = None,
                     aliases: list[str] | None = None, tags: list[str] | None = None) -> Artifact:
        """Log an artifact (or a file, directory or reference URI as a new one) as an output
        of this run. Returns at once: the files are stored in the background; ``wait()`` on the
        returned artifact blocks until the version is committed.

        :raises ValueError: a bad name, type, alias or tag, or a path that is neither a file,
            a directory nor a URI.
        """
        return self._log_artifact(artifact_or_path, name, type, aliases, tags)

    def upsert_artifact(self, artifact_or_path: Artifact | str, name: str | None = None,
                        type: str | None = None, aliases: list[str] | None = None,
                        distributed_id: str | None = None) -> Artifact:
        """Add files to the version shared by every writer with the same ``distributed_id``
        (default: the run's group); ``finish_artifact`` commits it.

        :raises TypeError: neither a group nor a distributed_id.
        """
        did = self._distributed_id(distributed_id, "upsert")
        return self._log_artifact(artifact_or_path, name, type, aliases, None, did, finalize=False)

    def finish_artifact(self, artifact_or_path: Artifact | str, name: str | None = None,
                        type: str | None = None, aliases: list[str] | None = None,
                        distributed_id: str | None = None) -> Artifact:
        """Commit the distributed version (with this call's files); later upserts with the same
        id start the next version.

        :raises TypeError: neither a group nor a distributed_id.
        """
        did = self._distributed_id(distributed_id, "finish")
        return self._log_artifact(artifact_or_path, name, type, aliases, None, did, finalize=True)

    def log_model(self, path: str | os.PathLike[str], name: str | None = None,
                  aliases: list[str] | None = None) -> None:
        """Log a file or directory as an artifact of type "model".

        :raises ValueError: ``name`` has characters other than letters, digits, ``-_.``.
        """
        self._log_artifact(path, name, "model", aliases, None)

    def use_artifact(self, artifact_or_name: str | Artifact, type: str | None = None,
                     aliases: list[str] | None = None, use_as: str | None = None) -> Artifact:
        """Declare an artifact as an input of this run: ``name``, ``name:alias``, ``name:vN`` or
        ``name:<digest>``, optionally prefixed ``project/`` or ``entity/project/``; or an
        Artifact (a draft is logged first).

        :raises trackd.errors.ArtifactNotFoundError: no such version.
        :raises ValueError: ``type`` differs from the artifact's.
        :raises TypeError: the run is offline.
        """
        # not loaded by `import trackd`: the artifact client, gRPC, protobuf messages
        from trackd._transport import artifact_client as client
        from trackd.artifacts import convert
        self._check_open("use_artifact")
        if self._mode == "offline":
            raise TypeError("Cannot use artifact when in offline mode.")
        if self._mode == "disabled":
            if isinstance(artifact_or_name, Artifact):
                return artifact_or_name
            raise UsageError("use_artifact() reads from the daemon: not available in a disabled run")
        if isinstance(artifact_or_name, str):
            pb = client.get(path=artifact_or_name, entity=self._entity, project=self._project)
            if type is not None and type != pb.type:
                raise ValueError(f"Supplied type {type} does not match type {pb.type} of artifact "
                                 f"{pb.collection}:{pb.version}")
            used = client.use(pb.id, self._run_ref(), use_as or "")
            return convert.from_pb(used, Artifact)
        if not isinstance(artifact_or_name, Artifact):
            raise ValueError('You must pass an artifact name (e.g. "pedestrian-dataset:v1"), an '  # noqa: TRY004 - W&B's error
                             "instance of trackd.Artifact, or trackd.Api().artifact() to "
                             "use_artifact")
        artifact = artifact_or_name
        if artifact.is_draft():
            if artifact._save_job is None:
                self._log_artifact(artifact, None, None, aliases, None)
            artifact.wait()
        client.use(artifact._id or "", self._run_ref(), use_as or "")
        return artifact

    def use_model(self, name: str) -> str:
        """Use and download a model artifact; returns the file when it holds exactly one,
        else the directory.

        :raises AssertionError: the artifact's type does not contain "model".
        :raises RuntimeError: the run is offline.
        """
        if self._mode == "offline":
            raise RuntimeError("`use_model` not supported in offline mode.")
        artifact = self.use_artifact(name)
        _assert_model(artifact.type)
        path = artifact.download()
        inside = os.listdir(path)
        return os.path.join(path, inside[0]) if len(inside) == 1 else path

    def link_artifact(self, artifact: Artifact, target_path: str,
                      aliases: list[str] | None = None) -> Artifact | None:
        """Link a version into a portfolio: ``portfolio``, ``project/portfolio`` or
        ``entity/project/portfolio`` (defaults: this run's entity and project). A draft is
        logged first. ``aliases`` apply to the link; "latest" follows the newest link."""
        self._check_open("link_artifact")
        if artifact.is_draft() and artifact._save_job is None:
            artifact = self._log_artifact(artifact, None, None, None, None)
        entity, project, portfolio = _split_target(target_path, self._entity, self._project)
        return _link(artifact, entity, project, portfolio, aliases)

    def link_model(self, path: str | os.PathLike[str], registered_model_name: str,
                   name: str | None = None, aliases: list[str] | None = None) -> Artifact | None:
        """Log a model (a new version of ``name`` unless its files are unchanged) and link it to
        ``model-registry/<registered_model_name>`` of this run's entity.

        :raises AssertionError: ``registered_model_name`` is a path, or ``name`` exists with a
            type that does not contain "model".
        :raises ValueError: ``name`` has invalid characters.
        """
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd._transport import artifact_client as client

        if len(registered_model_name.split("/")) != 1:
            raise AssertionError("Please provide only the name of the registered model. Do not "
                                 "append the entity or project name.")
        target = f"{self._entity}/{rules.MODEL_REGISTRY_PROJECT}/{registered_model_name}"
        try:
            existing = client.get(path=f"{name}:latest", entity=self._entity, project=self._project)
            _assert_model(existing.type)
            artifact = self._log_artifact(path, name, existing.type, None, None)
        except (ValueError, CommError):
            artifact = self._log_artifact(path, name, "model", None, None)
        return self.link_artifact(artifact, target, aliases)

    # -- internals -------------------------------------------------------------------------------

    def _distributed_id(self, given: str | None, verb: str) -> str:
        if given is None and self._group is None:
            raise TypeError(f"Cannot {verb} artifact unless run is in a group or distributed_id "
                            "is provided")
        return given if given is not None else (self._group or "")

    def _run_ref(self) -> Any:
        # not loaded by `import trackd`: protobuf messages
        from trackd.artifacts.convert import run_ref

        return run_ref(self._entity, self._project, self._id)

    def _log_artifact(self, artifact_or_path: Any, name: str | None, type_: str | None,
                      aliases: list[str] | None, tags: list[str] | None,
                      distributed_id: str | None = None, finalize: bool = True) -> Artifact:
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import offline, upload
        self._check_open("log_artifact")
        alias_list = rules.validate_aliases(aliases)
        tag_list = rules.validate_tags(tags)
        artifact = self._artifact_of(artifact_or_path, name, type_)
        if not isinstance(artifact, Artifact):
            raise TypeError("You must pass an instance of trackd.Artifact or a valid file path "
                            "to log_artifact")
        artifact.finalize()
        artifact._distributed_id = distributed_id
        if self._mode == "disabled":
            return artifact
        if self._mode == "offline":
            offline.record(self._sync_dir, artifact, aliases=alias_list, tags=tag_list,
                           history_step=self._step, distributed_id=distributed_id,
                           finalize=finalize)
            return artifact  # a draft until `trackd sync` logs it, as in W&B offline
        job = upload.UploadJob(
            artifact, entity=artifact._source_entity or self._entity,
            project=artifact._source_project or self._project, run_ref=self._run_ref(),
            aliases=alias_list, tags=tag_list, history_step=self._step,
            distributed_id=distributed_id, finalize=finalize,
            reconnect_timeout=float(self._settings.get("reconnect_timeout")))
        artifact._save_job = job
        jobs: list[UploadJob] = self.__dict__.setdefault("_artifact_jobs", [])
        jobs.append(job)
        upload.uploader().submit(job)
        return artifact

    def _artifact_of(self, artifact_or_path: Any, name: str | None, type_: str | None) -> Any:
        if not isinstance(artifact_or_path, (str, os.PathLike)):
            return artifact_or_path
        path = os.fspath(artifact_or_path)
        artifact = Artifact(name or f"run-{self._id}-{os.path.basename(path.rstrip('/'))}",
                            type_ or "unspecified")
        if os.path.isfile(path):
            artifact.add_file(path)
        elif os.path.isdir(path):
            artifact.add_dir(path)
        elif "://" in path:
            artifact.add_reference(path)
        else:
            raise ValueError("path must be a file, directory or external reference like "
                             "s3://bucket/path")
        return artifact

    def _wait_artifacts(self, deadline: float | None) -> None:
        """Before the run finishes: let its uploads end (failures are reported, not raised)."""
        for job in self.__dict__.get("_artifact_jobs", ()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                job.wait(left)
                self.__dict__["_artifacts_stored"] = self.__dict__.get("_artifacts_stored", 0) + 1
            except Exception as exc:  # noqa: BLE001 - finish() goes on; the artifact says why
                messages.error(self._settings, visible(
                    f"artifact {job.artifact._source_name!r} of run {self._id} was not stored: "
                    f"{exc}", multiline=True))
        self.__dict__["_artifact_jobs"] = []
