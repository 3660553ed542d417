"""A run's files, console and environment (a base class of :class:`trackd.Run`):
``run.save``, ``run.restore``, ``run.log_code``, and what a run starts and ends with (console
capture, the environment files, the file-save queue)."""

from __future__ import annotations

import concurrent.futures
import fnmatch
import glob as globlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from trackd._base import messages
from trackd._base.api_name import api_name
from trackd._base.names import program as _program
from trackd._base.terminal import visible
from trackd._shared.run_files import name_problem
from trackd.artifacts import dirs
from trackd.artifacts.artifact import Artifact
from trackd.errors import RunNotFoundError, UsageError
from trackd.media.pipeline import Jobs, MediaEncoder

if TYPE_CHECKING:
    from trackd.artifacts.artifact import Artifact

POLICIES = ("live", "now", "end")
#: Seconds finish() waits for the environment to be recorded (git on a huge repository).
ENVIRONMENT_WAIT = 30.0


def _is_py_requirements_or_dockerfile(path: str, root: str) -> bool:
    """log_code's default filter (W&B's): Python files, requirements.txt and Dockerfiles."""
    name = os.path.basename(path)
    return name.endswith(".py") or name.startswith("Dockerfile") or name == "requirements.txt"


def exclude_wandb_fn(path: str, root: str) -> bool:
    """log_code's default exclusion (W&B's): anything under ``<root>/wandb/`` or
    ``<root>/.wandb/`` (the run directories)."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return rel.startswith(("wandb/", ".wandb/"))


def _call_filter(fn: Callable[..., bool], path: str, root: str) -> bool:
    """include_fn/exclude_fn may take (path) or (path, root)."""
    try:
        return bool(fn(path, root))
    except TypeError:
        return bool(fn(path))


def _safe_artifact_name(name: str) -> str:
    """W&B's make_artifact_name_safe: characters outside [A-Za-z0-9_.-] become _; names over
    128 characters keep their first and last 63 around '..'."""
    import re

    cleaned = re.sub(r"[^a-zA-Z0-9_\-.]", "_", name)
    return cleaned if len(cleaned) <= 128 else f"{cleaned[:63]}..{cleaned[-63:]}"


class RunFiles:
    """Mixed into :class:`trackd.Run` (which provides the attributes used here)."""

    _mode: Any
    _settings: Any
    _dir: Path | None
    _sender: Any
    _backend: Any
    _finished: bool
    _project: str
    _start_time: float
    _primary: bool
    #: The file-save queue (online runs), the console capture, the environment thread.
    _files: Any = None
    _media: MediaEncoder | None = None  # encodes logged data types off the caller's thread
    _capture: Any = None
    _env_thread: threading.Thread | None = None
    _saved_names: frozenset[str] = frozenset()  # names saved so far (the footer counts them)

    # -- start and finish ----------------------------------------------------------------------

    def _start_extras(self) -> None:
        """Console capture, the environment files and the file-save queue (called by
        ``_start`` once the run exists)."""
        # loaded on first use, not by `import trackd`
        from trackd._run import console as _console
        from trackd._transport.file_sync import FileClient

        if self._sender is None:
            return

        conn = getattr(self._backend, "_conn", None)
        if conn is not None:
            self._files = FileClient(conn, self._backend._ref, self._settings)
        if self._dir is not None:
            self._media = MediaEncoder(self._dir, self._files.submit if self._files else None,
                                       lambda text: messages.error(self._settings, text))
        self._capture = _console.start(str(self._settings.get("console")), self._sender)
        if self._mode == "shared" and not self._primary:
            return  # the primary writer records the run's environment
        if not self._settings.get("disable_meta") and self._dir is not None:
            self._env_thread = threading.Thread(target=self._record_environment,
                                                name="trackd-environment", daemon=True)
            self._env_thread.start()
        code_dir = self._settings.code_dir
        if (code_dir and self._settings.get("save_code") and not self._settings.get("disable_code")
                and self._mode != "offline"):
            # As W&B: with save_code, the code under code_dir is kept as a code artifact.
            self.log_code(code_dir)

    def _record_environment(self) -> None:
        # loaded on first use, not by `import trackd`
        from trackd._run import environment as _environment

        assert self._dir is not None
        try:
            settings = self._settings
            names = _environment.record_apart(
                self._dir, _program(), self._start_time, git=not settings.get("disable_git"),
                save_code=bool(settings.get("save_code")) and not settings.get("disable_code"),
                overrides=_environment.overrides_from(settings),
                cache=dirs.cache_root(settings) / "environment")
        except Exception as exc:  # noqa: BLE001 - a run never fails for its environment
            messages.warn(self._settings, f"trackd: the run's environment was not recorded: {exc}",
                          stacklevel=1)
            return
        self._queue_files([(n, str(self._dir / n), "now") for n in names], counted=False)

    def _finish_extras(self, deadline: float | None) -> None:
        """Before the exit record: the environment written, the last console lines sent, the
        queued file saves done (end files are stored by the daemon's finish, or sent now when
        the daemon does not open this user's paths)."""
        # loaded on first use, not by `import trackd`
        from trackd._run import console as _console

        left = (lambda: None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._env_thread is not None:
            wait = ENVIRONMENT_WAIT if deadline is None else min(ENVIRONMENT_WAIT, left() or 0)
            self._env_thread.join(wait)
        if self._media is not None:  # the files of the last logged media, then their rows
            if not self._media.close(left()):
                messages.warn(self._settings,
                    "trackd: encoding the logged media did not finish within finish_timeout; "
                    "the rest are not stored", stacklevel=1)
        if self._capture is not None:
            _console.stop(self._capture, self._sender)
            self._capture = None
        if self._files is not None and getattr(self._sender, "went_offline", False):
            # The run went on offline: `trackd sync` stores its files with it.
            self._files.close(0)
        elif self._files is not None:
            self._store_run_dir()
            if not self._files.finish(left()):
                messages.warn(self._settings,
                    "trackd: saving the run's files did not finish within "
                    "finish_timeout; the rest are not saved", stacklevel=1)
            self._files.close(0)

    def _store_run_dir(self) -> None:
        """Queue the files written into ``run.dir`` that were not saved otherwise (W&B's
        ``end`` policy for the files directory: Lightning, transformers and ultralytics write
        there), leaving out the ``ignore_globs`` setting's names."""
        # loaded on first use, not by `import trackd`
        from trackd._transport.file_sync import unsaved_files

        if self._dir is None or self._files is None:
            return
        ignore = tuple(self._settings.get("ignore_globs") or ())
        found = unsaved_files(self._dir, self._files.names, ignore)
        self._queue_files([(name, path, "now") for name, path in found])

    def _encode_media(self, jobs: Jobs, step: int) -> concurrent.futures.Future[None] | None:
        """Hand one row's data types to the background encoder (waits only while its bounds
        are full); the future the sender waits for before sending the row."""
        if self._media is None:
            raise UsageError("this run cannot store media: it has no files directory")
        return self._media.submit(jobs, step)

    def _queue_files(self, files: list[tuple[str, str, str]], counted: bool = True) -> None:
        if counted:  # the footer counts the files the user saved
            self._saved_names = self._saved_names | {name for name, _, _ in files}
        if self._files is not None and files:
            self._files.submit(files)

    # -- save ----------------------------------------------------------------------------------

    def save(self, glob_str: str | os.PathLike[str],
             base_path: str | os.PathLike[str] | None = None,
             policy: str = "live") -> bool | list[str]:
        """Sync files matching ``glob_str`` with the run (W&B's ``run.save``): the glob is
        expanded now; each file is linked into the run's files directory under its path
        relative to ``base_path`` (default: the working directory for a relative glob; for
        an absolute one the parent of the files' directory, keeping one directory level), and
        stored by the daemon ``now``, ``live`` (now, after every change and at finish) or at
        the ``end``. Files matching the ``ignore_globs`` setting are left out.

        Returns the paths of the links made in the run's files directory.

        :raises ValueError: an unknown policy, or a ``base_path`` that is not a prefix of the
            glob.
        :raises TypeError: ``glob_str`` is not a path or glob.
        :raises trackd.UsageError: the run is finished.
        """
        if isinstance(glob_str, bytes):
            glob_str = glob_str.decode("utf-8")
        if not isinstance(glob_str, (str, os.PathLike)):
            raise TypeError(f"save() needs glob_str, a path or Unix glob (str or os.PathLike), "
                            f"got {glob_str!r}")
        text = os.fspath(glob_str)
        if text.startswith(("gs://", "s3://")):
            messages.warning(self._settings, f"{visible(text)} is a cloud storage URL; files "
                             "there cannot be saved with save(): add them to an artifact with "
                             "add_reference()")
            return []
        if policy not in POLICIES:
            raise ValueError('Only "live", "end" and "now" policies are currently supported.')
        if self._finished:
            raise UsageError("run is finished; save() cannot be called after finish()")
        glob_path = Path(text)
        resolved_glob = glob_path.absolute()
        if base_path is not None:
            base = Path(base_path).absolute()
        elif not glob_path.is_absolute():
            base = Path.cwd()
        else:
            messages.warn(self._settings,
                "Saving files without folders. If you want to preserve subdirectories pass "
                f"base_path to {api_name()}.save, i.e. {api_name()}.save({text!r}, "
                "base_path=\"/mnt\")",
                UserWarning, stacklevel=2)
            base = resolved_glob.parent.parent
        if not resolved_glob.is_relative_to(base):
            raise ValueError(f"Glob may not walk above the base path ({text!r} is not under "
                             f"base_path {str(base)!r})")
        if self._mode == "disabled" or self._dir is None:
            return []
        files_dir = self._dir
        ignore = tuple(self._settings.get("ignore_globs") or ())
        paths: list[str] = []
        to_send: list[tuple[str, str, str]] = []
        for found in sorted(globlib.glob(str(resolved_glob))):
            source = Path(found).absolute()
            if not source.is_file():
                continue
            if source.is_relative_to(files_dir.absolute()):  # written into run.dir already
                rel = source.relative_to(files_dir.absolute())
                target = source
            else:
                rel = source.relative_to(base)
                target = files_dir / rel
            name = rel.as_posix()
            problem = name_problem(name)
            if problem:
                raise ValueError(problem)
            if any(fnmatch.fnmatch(name, g) for g in ignore):
                continue
            effective = policy
            if target != source:
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink() or target.exists():
                    target.unlink()
                try:
                    target.symlink_to(source)
                except OSError:
                    shutil.copyfile(source, target)  # a copy cannot be watched: stored now
                    effective = "now" if policy == "live" else policy
            paths.append(str(target))
            to_send.append((name, str(source), effective))
        self._queue_files(to_send)
        return paths

    # -- restore -------------------------------------------------------------------------------

    def restore(self, name: str, run_path: str | None = None, replace: bool = False,
                root: str | None = None) -> IO[str] | None:
        """Fetch file ``name`` of this run (or of ``run_path``, ``entity/project/run_id``)
        into ``root`` (default: the run's directory) and return it open for reading; a file
        already there is returned as is unless ``replace``. None when the run has no such file.

        :raises ValueError: the run does not exist, or ``name`` would leave ``root``.
        :raises trackd.CommError: the daemon cannot be reached.
        """
        return restore(name, run_path or self.path, replace,  # type: ignore[attr-defined]
                       root if root is not None else (str(self._dir) if self._dir else None),
                       disabled=self._mode == "disabled")

    # -- code ----------------------------------------------------------------------------------

    def log_code(self, root: str | None = ".", name: str | None = None,
                 include_fn: Callable[..., bool] = _is_py_requirements_or_dockerfile,
                 exclude_fn: Callable[..., bool] = exclude_wandb_fn) -> Artifact | None:
        """Save the code under ``root`` as an artifact of type ``code`` (W&B's
        ``run.log_code``): files for which ``include_fn`` is true and ``exclude_fn`` false
        (each takes ``(path)`` or ``(path, root)``). The default name is
        ``source-<project>-<program path>``. Returns the artifact, or None (with a warning)
        when no file matched.

        :raises trackd.UsageError: the run is finished.
        """
        if self._finished:
            raise UsageError("run is finished; log_code() cannot be called after finish()")
        root_dir = os.path.abspath(root if root is not None else ".")
        if name is None:

            program = _program()
            rel = os.path.relpath(program, root_dir) if program else "code"
            name = f"source-{self._project}-{rel}"
        art = Artifact._make_internal(_safe_artifact_name(name), "code")
        count = 0
        for dirpath, dirnames, filenames in os.walk(root_dir):
            dirnames.sort()
            for fname in sorted(filenames):
                path = os.path.join(dirpath, fname)
                if not os.path.isfile(path):
                    continue
                if (not _call_filter(include_fn, path, root_dir)
                        or _call_filter(exclude_fn, path, root_dir)):
                    continue
                art.add_file(path, name=os.path.relpath(path, root_dir).replace(os.sep, "/"))
                count += 1
        if count == 0:
            messages.warn(self._settings,
                "No relevant files were detected in the specified directory. No code "
                "will be logged to your run.", UserWarning, stacklevel=2)
            return None
        logged: Artifact = self.log_artifact(art)  # type: ignore[attr-defined]
        config = getattr(self, "_config", None)
        if config is not None and self._mode != "disabled":
            try:
                wandb_cfg = dict(config.as_dict().get("_wandb") or {})
                wandb_cfg["code_path"] = f"code/{art.name}"
                config._set_quietly("_wandb", wandb_cfg)
                self._send_config({"_wandb": wandb_cfg}, [])  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the artifact is logged all the same
                pass
        return logged


def restore(name: str, run_path: str | None = None, replace: bool = False,
            root: str | None = None, *, disabled: bool = False) -> IO[str] | None:
    """``trackd.restore`` (W&B's): see :meth:`RunFiles.restore`; without a run, ``run_path``
    is required.

    :raises ValueError: no ``run_path`` and no run, no such run, or a ``name`` that would
        leave ``root``.
    """
    problem = name_problem(name)
    if problem:
        raise ValueError(f"cannot restore {name!r}: {problem}")
    if run_path is None:
        raise ValueError("run_path required when calling restore before init")
    root = root if root is not None else os.getcwd()
    path = os.path.join(root, name)
    if os.path.exists(path) and not replace:
        return open(path)
    if disabled:
        return None
    from trackd._api.api import Api  # the read API: not loaded by `import trackd`

    try:
        api_run = Api().run(run_path)
    except RunNotFoundError as exc:
        raise ValueError(f"cannot restore {name!r}: run {run_path!r} not found ({exc})") from None
    files = api_run.files([name])
    if not files:
        return None
    return files[0].download(root=root, replace=True)
