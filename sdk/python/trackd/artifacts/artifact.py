"""``trackd.Artifact``: W&B's Artifact class, stored by the daemon.

A draft (``Artifact(name, type)``) collects files and references; ``run.log_artifact`` (or
``artifact.save()``) finalizes it and hands it to the background uploader, which returns at
once; ``wait()`` blocks until the daemon committed the version. Artifacts read back
(``use_artifact``, ``Api().artifact``) are logged ones: their manifest is read from the daemon
when first needed, and ``download()`` goes through the content-keyed cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from trackd._base import messages
from trackd._shared import artifact_rules as rules
from trackd._transport.setup import current_settings
from trackd.artifacts import dirs, local_files, operations
from trackd.artifacts.digests import b64_to_hex, resolve_digests
from trackd.artifacts.manifest import ArtifactManifest, ArtifactManifestEntry
from trackd.artifacts.properties import ArtifactProperties, ArtifactTTL, _draft, _logged
from trackd.artifacts.staging import StagingArea
from trackd.errors import ArtifactNotLoggedError

if TYPE_CHECKING:
    from trackd._api.api import PublicRun
    from trackd.artifacts.files import ArtifactFiles
    from trackd.artifacts.upload import UploadJob

__all__ = ["Artifact", "ArtifactTTL"]

class Artifact(ArtifactProperties):
    """A versioned set of files and references: a dataset, a model, ...

    :param name: letters, digits, ``-``, ``_`` and ``.``; at most 128 characters.
    :param type: e.g. ``"dataset"`` or ``"model"``; ``job`` and ``wandb-*`` are reserved.
    :param metadata: JSON-serialisable, at most 100 keys.
    :raises ValueError: an invalid name, type or metadata.
    """

    def __init__(self, name: str, type: str, description: str | None = None,
                 metadata: dict[str, Any] | None = None, incremental: bool = False,
                 use_as: str | None = None) -> None:
        rules.validate_name(name)
        rules.validate_type(type, name)
        self._init_state(name, type)
        self._description = description
        self._metadata = rules.normalize_metadata(metadata)
        self._incremental = bool(incremental)
        if incremental:
            messages.warn(current_settings(),
                "Artifact(incremental=True) is deprecated: use artifact.new_draft() to "
                "change a logged artifact", DeprecationWarning, stacklevel=2)
        if use_as is not None:
            messages.warn(current_settings(),
                "the use_as argument of Artifact() is deprecated and has no effect",
                DeprecationWarning, stacklevel=2)

    #: Made by the SDK itself (run.log_code): may use the reserved types and names.
    _internal = False

    @classmethod
    def _make_internal(cls, name: str, type_: str) -> Artifact:
        """An artifact of a type reserved for the SDK's own use (``code`` named ``source-...``
        by ``run.log_code``); the daemon accepts it as internal."""
        rules.validate_name(name)
        problem = rules.type_problem(type_, name, internal=True)
        if problem:
            raise ValueError(problem)
        art = cls(name, "trackd-internal-draft")
        art._type = type_
        art._internal = True
        return art

    def _init_state(self, name: str, type_: str) -> None:
        self._lock = threading.RLock()
        self._id: str | None = None
        self._entity: str | None = None
        self._project: str | None = None
        self._name = name
        self._version: str | None = None
        self._source_entity: str | None = None
        self._source_project: str | None = None
        self._source_name = name
        self._source_version: str | None = None
        self._type = type_
        self._description: str | None = None
        self._metadata: dict[str, Any] = {}
        self._ttl_seconds: int | None = None
        self._ttl_is_inherited = True
        self._ttl_changed = False
        self._aliases: list[str] = []
        self._saved_aliases: list[str] = []
        self._tags: list[str] = []
        self._saved_tags: list[str] = []
        self._distributed_id: str | None = None
        self._incremental = False
        self._use_as: str | None = None
        self._state = "PENDING"
        self._final = False
        self._digest: str | None = None
        self._size: int | None = None
        self._file_count: int | None = None
        self._commit_hash: str | None = None
        self._created_at: str | None = None
        self._updated_at: str | None = None
        self._history_step: int | None = None
        self._base_id: str | None = None
        self._is_link = False
        self._linked_pbs: list[Any] = []
        self._logged_by: Any = None
        self._manifest: ArtifactManifest | None = ArtifactManifest()
        self._staging = StagingArea()
        self._added_local_paths: dict[str, str] = {}
        self._save_job: UploadJob | None = None
        self._download_roots: set[str] = set()

    def __repr__(self) -> str:
        return f"<Artifact {self._id or self._name}>"

    # -- state -----------------------------------------------------------------------------------

    def finalize(self) -> None:
        """No more changes (``log_artifact`` does this)."""
        self._final = True

    def is_draft(self) -> bool:
        """True until the version is stored (and ``wait()`` or the upload has finished)."""
        return self._state == "PENDING"

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """Log a draft through the current run, or through a new run of job_type "auto" when
        there is none (finished before this returns); for a logged artifact, store changed
        description, metadata, aliases, tags and TTL."""
        if self.is_draft():
            operations.save_draft(self, project, settings)
        else:
            operations.update_logged(self)

    def wait(self, timeout: float | None = None) -> Artifact:
        """Block until the version is stored.

        :raises ArtifactNotLoggedError: the artifact was never logged.
        :raises trackd.errors.WaitTimeoutError: not stored within ``timeout`` seconds.
        :raises trackd.errors.Error: storing failed (the daemon's error).
        """
        if self.is_draft():
            job = self._save_job
            if job is None:
                raise ArtifactNotLoggedError("Artifact.wait", self)
            job.wait(timeout)
        return self

    @_logged
    def new_draft(self) -> Artifact:
        """A draft with this version's files, to change and log as the next version (only the
        changed files are stored again)."""
        draft = Artifact(self._source_name.split(":")[0], self._type)
        draft._source_entity, draft._source_project = self._source_entity, self._source_project
        draft._entity, draft._project = self._source_entity, self._source_project
        draft._base_id = self._id
        draft._description = self._description
        draft._metadata = dict(self._metadata)
        draft._manifest = self.manifest.copy()
        for e in draft._manifest.entries.values():
            e._parent_artifact = None
        return draft

    # -- adding and removing ---------------------------------------------------------------------

    @contextlib.contextmanager
    @_draft
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[IO[Any]]:
        """Open a new file to write; when closed it is added to the artifact as ``name``.

        :raises ValueError: ``name`` exists already (mode "x").
        """
        path = rules.validate_path(name)
        if "x" in mode and path in self.manifest.entries:
            raise ValueError(f"File with name {name!r} already exists in the artifact")
        dst = self._staging.new_path()
        with open(dst, mode, encoding=encoding) as f:
            yield f
        entry = local_files.build_entries(self._staging, [(path, str(dst))], "immutable", True)[0]
        entry._staged, entry._source = True, None
        self.manifest.add_entry(entry, overwrite="x" not in mode)

    @_draft
    def add_file(self, local_path: str, name: str | None = None, is_tmp: bool | None = False,
                 skip_cache: bool | None = False, policy: str | None = "mutable",
                 overwrite: bool = False) -> ArtifactManifestEntry:
        """Add a local file as ``name`` (default: its basename).

        :raises ValueError: not a file, a bad policy, or ``name`` taken by other content.
        """
        policy = local_files.check_policy(policy)
        if not os.path.isfile(local_path):
            raise ValueError(f"Path is not a file: {local_path!r}")
        path = rules.validate_path(name or os.path.basename(local_path))
        entry = local_files.build_entries(self._staging, [(path, local_path)], policy,
                                          bool(skip_cache))[0]
        if is_tmp:
            p = PurePosixPath(entry.path)
            _, dot, rest = p.name.partition(".")
            entry.path = str(p.with_name(b64_to_hex(entry.digest)[:20] + dot + rest))
        self.manifest.add_entry(entry, overwrite=overwrite)
        self._added_local_paths[os.fspath(local_path)] = entry.path
        return entry

    @_draft
    def add_dir(self, local_path: str, name: str | None = None, skip_cache: bool | None = False,
                policy: str | None = "mutable", merge: bool = False) -> None:
        """Add every file under a directory (under ``name`` in the artifact, if given).

        :raises ValueError: not a directory, a bad policy, or (without ``merge``) a path
            already added with different content.
        """
        policy = local_files.check_policy(policy)
        if not os.path.isdir(local_path):
            raise ValueError(f"Path is not a directory: {local_path!r}")
        prefix = rules.validate_path(name) if name else None
        files = local_files.walk(local_path, prefix)
        entries = local_files.build_entries(self._staging, files, policy, bool(skip_cache))
        manifest = self.manifest
        if not merge:
            clashes = [e for e in entries if e.path in manifest.entries]
            resolve_digests(clashes + [manifest.entries[e.path] for e in clashes])
        for (_, physical), entry in zip(files, entries, strict=True):
            manifest.add_entry(entry, overwrite=merge)
            self._added_local_paths[physical] = entry.path

    @_draft
    def add_reference(self, uri: ArtifactManifestEntry | str, name: str | None = None,
                      checksum: bool = True, max_objects: int | None = None,
                      ) -> Sequence[ArtifactManifestEntry]:
        """Add what a URI points at without storing its bytes: ``file://``, ``http(s)://``,
        ``s3://`` (resolved by the daemon), ``gs://`` and Azure blob URLs
        (``https://<account>.blob.core.windows.net/<container>/<path>``, resolved in this
        process with this user's credentials; extras ``gcs`` and ``azure``), an entry of
        another artifact (``get_entry``), or any other URI (its digest is the URI itself).

        A URI naming a directory or prefix adds one entry per object under it, at most
        ``max_objects`` (default 10,000,000). With ``checksum=False`` nothing is read or
        listed: the URI is one entry (its digest the URI; for ``file://`` the URI's MD5), so
        a new version comes only from a changed URI, and downloading it fetches what the URI
        holds then (for a directory or prefix, every file under it).

        :raises ValueError: not a URI, or more than ``max_objects`` objects.
        :raises trackd.errors.ReferenceFailedError: the reference could not be resolved
            (nothing there, denied, or the scheme's library is not installed).
        """
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import references

        entries = references.resolve(self, uri, name, checksum, max_objects)
        for e in entries:
            self.manifest.add_entry(e, overwrite=True)
        return entries

    @_draft
    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add a data type (``trackd.Table``, ``trackd.Image``, ``trackd.Histogram``...) as
        ``<name>.<type>.json`` (``name.table.json``...), with its files under ``media/``.
        ``get(name)`` gives it back.

        :raises TypeError: ``obj`` is not a data type.
        :raises ValueError: ``name`` is taken (and not ``overwrite``).
        """
        # loaded on first use, not by `import trackd`
        from trackd.artifacts import media

        return media.add(self, obj, name, overwrite)

    def __setitem__(self, name: str, item: Any) -> ArtifactManifestEntry:
        return self.add(item, name)

    @_draft
    def remove(self, item: str | os.PathLike[str] | ArtifactManifestEntry) -> None:
        """Remove an entry, or every entry under a directory.

        :raises FileNotFoundError: nothing at that path.
        """
        manifest = self.manifest
        if isinstance(item, ArtifactManifestEntry):
            manifest.remove_entry(item)
            return
        path = str(PurePosixPath(os.fspath(item)))
        entry = manifest.get_entry_by_path(path)
        if entry is not None:
            manifest.remove_entry(entry)
            return
        inside = manifest.get_entries_in_directory(path)
        if not inside:
            raise FileNotFoundError(f"No such file or directory: {path}")
        for e in inside:
            manifest.remove_entry(e)

    # -- reading entries -------------------------------------------------------------------------

    def get_path(self, name: str) -> ArtifactManifestEntry:
        """Deprecated: use ``get_entry``."""

        messages.warn(current_settings(),
            "Artifact.get_path(name) is deprecated, use Artifact.get_entry(name) instead.",
            DeprecationWarning, stacklevel=2)
        return self.get_entry(name)

    @_logged
    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """The entry at ``name``.

        :raises KeyError: no such entry.
        """
        path = str(PurePosixPath(os.fspath(name)))
        entry = self.manifest.entries.get(path)
        if entry is None:
            raise KeyError(f"Path not contained in artifact: {path}")
        entry._parent_artifact = self
        return entry

    @_logged
    def get(self, name: str) -> Any:
        """The data type added as ``name`` (``add(obj, name)``), made again as its type
        (``trackd.Table``, ``trackd.Image``...); None when there is none."""
        # loaded on first use, not by `import trackd`
        from trackd.artifacts import media

        return media.get(self, name)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def get_added_local_path_name(self, local_path: str) -> str | None:
        """The artifact path of a file added from ``local_path`` (None when not added)."""
        return self._added_local_paths.get(os.fspath(local_path))

    # -- downloading -----------------------------------------------------------------------------

    @_logged
    def download(self, root: str | os.PathLike[str] | None = None,
                 allow_missing_references: bool = False, skip_cache: bool | None = None,
                 path_prefix: str | os.PathLike[str] | None = None,
                 multipart: bool | None = None) -> str:
        """Download the files under ``root`` (default ``./artifacts/<name>:<version>``) through
        the cache (``skip_cache=True``: straight to root); files already there with the right
        content are left alone, changed ones are replaced. Files are fetched several at once;
        a large file that must travel (streamed from a daemon on another machine, or from S3,
        GCS or Azure) comes as byte ranges at once when ``multipart`` is True, or when it is
        None (the default) and the file has 2 GiB or more; ``False`` fetches each file as one
        stream. A reference recorded without checksum is fetched as it is now (a directory
        or prefix: every file under it). Returns root.

        :raises trackd.errors.ReferenceFailedError: a reference could not be fetched (unless
            ``allow_missing_references``).
        """
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import download

        return download.download(self, root, allow_missing_references, skip_cache, path_prefix,
                                 multipart=multipart)

    def _download_entry(self, entry: ArtifactManifestEntry, root: str | None,
                        skip_cache: bool | None) -> str:
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import download

        return download.download_entry(self, entry, root, skip_cache)

    def _default_root(self, include_version: bool = True) -> str:
        name = self._source_name if include_version else self._source_name.split(":")[0]
        return str(dirs.artifact_dir() / name)

    @_logged
    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` (default ``./artifacts/<name>``) hold exactly this version: files not
        in it are deleted, then it is downloaded."""
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import download

        return download.checkout(self, root)

    @_logged
    def verify(self, root: str | None = None) -> None:
        """Check that ``root`` holds exactly this version's files (references skipped).

        :raises ValueError: a file that is not a member, or a digest mismatch.
        """
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import download

        download.verify(self, root)

    @_logged
    def file(self, root: str | None = None) -> str:
        """Download a one-file artifact; returns the file's path.

        :raises ValueError: the artifact has more than one file.
        """
        # not loaded by `import trackd`: the artifact client, gRPC
        from trackd.artifacts import download

        return download.single_file(self, root)

    @_logged
    def files(self, names: list[str] | None = None, per_page: int = 50) -> ArtifactFiles:
        """The stored files (``names`` to pick some), with name, size, digest and download()."""
        # loaded on first use, not by `import trackd`
        from trackd.artifacts.files import ArtifactFiles

        return ArtifactFiles(self, names, per_page)

    # -- on the daemon ---------------------------------------------------------------------------

    @_logged
    def delete(self, delete_aliases: bool = False) -> None:
        """Delete the version (for a link: only the link).

        :raises trackd.errors.ArtifactHasAliasesError: it has aliases and not ``delete_aliases``.
        """
        operations.delete(self, delete_aliases)

    def link(self, target_path: str, aliases: list[str] | None = None) -> Artifact | None:
        """Link this version into a portfolio: ``portfolio``, ``project/portfolio`` or
        ``entity/project/portfolio`` (``model-registry/<name>`` for the model registry). A draft
        is logged first. Returns the link."""
        return operations.link(self, target_path, aliases)

    @_logged
    def unlink(self) -> None:
        """Remove this link from its portfolio.

        :raises ValueError: this is not a link.
        """
        operations.unlink(self)

    @_logged
    def logged_by(self) -> PublicRun | None:
        """The run that logged the version (None when none did)."""
        return operations.logged_by(self)

    @_logged
    def used_by(self) -> list[PublicRun]:
        """The runs that used the version."""
        return operations.used_by(self)

    @_logged
    def json_encode(self) -> dict[str, Any]:
        """The artifact as W&B's JSON reference (type ``artifactVersion``)."""
        return {"_type": "artifactVersion", "_version": "v0", "id": self._id,
                "version": self.source_version, "sequenceName": self._source_name.split(":")[0],
                "usedAs": self._use_as, "entity": self.source_entity,
                "project": self.source_project, "type": self._type, "digest": self.digest,
                "metadata": json.loads(json.dumps(self._metadata))}
