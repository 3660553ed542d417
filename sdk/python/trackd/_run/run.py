"""``trackd.Run``: what ``trackd.init()`` returns, in every mode."""

from __future__ import annotations

import datetime
import enum
import json
import os
import re
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from trackd._base import messages
from trackd._base.names import program as _program
from trackd._base.run_dirs import RunLogs, link_latest, make_dirs
from trackd._base.terminal import visible
from trackd._run.artifacts import RunArtifacts
from trackd._run.backend import SUMMARY_READ_TIMEOUT, OfflineBackend, OnlineBackend, RunStatus
from trackd._run.banners import run_footer, run_header
from trackd._run.config import Config
from trackd._run.files import RunFiles
from trackd._run.identity import RunIdentity
from trackd._run.metric import Metric, make_metric
from trackd._run.summary import Summary
from trackd._run.tables import prepare as prepare_tables
from trackd._run.tensorboard import RunTensorBoard
from trackd._settings import Settings
from trackd._shared.history import BACKWARDS_STEP, _del_path, _set_path
from trackd._shared.row_packing import pack_row
from trackd._shared.values import map_to_python, normalize_row
from trackd._transport.dashboard import RunLinks
from trackd._transport.setup import exit_status, state
from trackd.errors import DaemonUnavailableError, FinishTimeoutError, UsageError
from trackd.media.overlays import class_labels_config
from trackd.media.pipeline import Jobs
from trackd.torch_watch import RunWatch

_LABEL = re.compile(r"[A-Za-z0-9_-]+")


class Run(RunIdentity, RunLinks, RunArtifacts, RunFiles, RunTensorBoard, RunWatch):
    """A run: log to it, configure it, read its summary, finish it.

    Made by :func:`trackd.init`; the constructor only holds settings. Every mode (online,
    offline, disabled) returns this class.
    """

    def __init__(
        self,
        settings: Settings,
        config: dict[str, Any] | None = None,
        sweep_config: dict[str, Any] | None = None,
        launch_config: dict[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._mode = settings.get("mode")
        self._id: str = settings.run_id or ""
        self._name: str | None = settings.run_name
        self._notes: str | None = settings.run_notes
        self._tags: tuple[str, ...] = tuple(settings.run_tags or ())
        self._group: str | None = settings.run_group
        self._job_type: str | None = settings.run_job_type
        self._project: str = settings.project or "uncategorized"
        self._entity: str = settings.entity or ""
        self._config = Config()
        self._config._set_settings(settings)
        self._config._load(config or {})
        if sweep_config:  # a sweep run's parameters: locked (trackd._init.sweep_init)
            self._config._lock(sweep_config, "sweep")
        self._config._set_allow_val_change(bool(settings.get("allow_val_change")))
        self._summary_local: dict[str, Any] = {}
        self._summary = Summary(self._read_summary, self._write_summary)
        self._summary_cache: tuple[int, dict[str, Any]] | None = None
        self._step = 0
        self._starting_step = 0
        self._start_time = time.time()
        self._finished = False
        #: log() may take its fast path (a dict of plain scalars, no step or commit): there is
        #: a sender and the run is not a shared run's other writer (set once started).
        self._fast_rows = False
        self._final_state: str | None = None
        self._backend: Any = None  # OnlineBackend or OfflineBackend; None when disabled
        self._resumed = False
        self._resume_policy: str | None = None  # "never", "allow", "must" (set by init)
        self._resume_file: Path | None = None  # resume="auto": deleted when finished cleanly
        self._moment: tuple[str, str, int] | None = None  # ("fork_from"|"resume_from", id, step)
        # Shared mode: this writer's label (kept in its rows) and whether it is the primary.
        self._writer_label: str = settings.x_label or f"{socket.gethostname()}-{os.getpid()}"
        self._primary: bool = settings.x_primary is not False
        #: Set by trackd._attach: this process writes the run of the process it came from
        #: (W&B's attach), so its config updates are the run's, as the primary writer's are.
        self._attached = False
        self._labels: dict[str, str] = {}  # run._label(code=..., repo=..., code_version=...)
        self._warned_shared_step = False
        self._sender: Any = None
        self._dir: Path | None = None
        self._sync_dir: Path | None = None
        self._logs: RunLogs | None = None

    # -- start ---------------------------------------------------------------------------------

    def _start(self) -> None:
        """Create the run (called by init)."""
        if self._mode == "disabled":
            self._name = self._name or f"dummy-{self._id}"
            self._entity = self._entity or "dummy"
            if self._project == "uncategorized":
                self._project = "dummy"
            self._make_dirs(disabled=True)
            return
        # not loaded by `import trackd`: gRPC
        from trackd._transport.connection import grpc_inherited

        self._check_tensorboard()  # sync_tensorboard without the tensorboard package
        self._make_dirs()
        assert self._sync_dir is not None
        meta = self._metadata()
        try:
            if self._mode == "offline":
                self._backend = OfflineBackend(meta, self._settings, self._sync_dir)
            elif grpc_inherited():
                # A child forked from a process with an open gRPC channel cannot use gRPC:
                # record the run offline and let a fresh process ingest it at finish().
                self._backend = OfflineBackend(meta, self._settings, self._sync_dir,
                                               sync_at_finish=True)
            else:
                writer = None
                if self._mode == "shared":
                    writer = "" if self._primary else self._writer_label
                try:
                    self._backend = OnlineBackend(meta, self._settings, self._sync_dir,
                                                  resume=self._resume_policy,
                                                  moment=self._moment, writer=writer)
                except DaemonUnavailableError as exc:
                    if not self._may_go_offline():
                        raise
                    self._backend = self._offline_instead(meta, exc)
        except BaseException as exc:
            if self._logs is not None:  # the run never started: say why, and let go of its logs
                self._logs.event(f"run {self._id}: could not start: {exc}")
                self._logs.close()
                self._logs = None
            raise
        self._name = self._backend.name
        self._sender = self._backend.sender
        self._fast_rows = self._sender is not None and self._mode != "shared"
        if getattr(self._backend, "resumed_from", None) is not None:
            self._continue(self._backend.resumed_from)
        elif getattr(self._backend, "forked", None) is not None:
            self._config._reset(map_to_python(self._backend.forked.config))
        self._starting_step = self._step = getattr(self._backend, "starting_step", 0)
        self._config._set_callback(self._send_config)
        if self._resume_file is not None:
            self._resume_file.write_text(json.dumps({"run_id": self._id}))
        run_header(self)
        self._start_extras()  # console capture, environment files, file saves
        self._start_tensorboard()  # sync_tensorboard: the writers tell the run their logdir

    def _may_go_offline(self) -> bool:
        """Whether a run whose daemon cannot be reached at init may go on offline, as W&B's
        ``init(force=False)`` goes on offline without a login: not with ``force``, not for a
        shared run's other writers, and not for resume/fork (they need the stored run)."""
        return not (self._settings.get("force") or self._mode == "shared"
                    or self._resume_policy is not None or self._moment is not None)

    def _offline_instead(self, meta: dict[str, Any], exc: Exception) -> Any:
        """No daemon could be reached or started: record the run in its directory (nothing
        logged is lost; ``trackd sync`` stores it later) and say so once."""
        assert self._sync_dir is not None
        messages.warning(self._settings, visible(
            f"{exc}; run {self._id} goes on offline in {self._sync_dir} (store it later with: "
            f"trackd sync {self._sync_dir}; pass init(force=True) to fail instead)"), force=True)
        if self._logs is not None:
            self._logs.event(f"run {self._id}: no daemon ({exc}); recording offline")
        self._mode = "offline"
        return OfflineBackend(meta, self._settings, self._sync_dir)

    def _continue(self, stored: Any) -> None:
        """This run resumed ``stored``: take over its step, config, tags and metadata; what
        init() was given explicitly wins and is sent as updates."""
        self._resumed = True
        given = self._config.as_dict()
        self._config._reset({**map_to_python(stored.config), **given})
        if given:
            self._sender.put(("c", given, []))
        updates: dict[str, Any] = {}
        for attr, field, value in (("_name", "name", stored.name), ("_notes", "notes", stored.notes),
                                   ("_group", "group", stored.group),
                                   ("_job_type", "job_type", stored.job_type)):
            explicit = getattr(self._settings, _SETTING_OF[field])
            if explicit is not None:
                updates[field] = explicit
                setattr(self, attr, explicit)
            else:
                setattr(self, attr, value or None)
        if self._settings.run_tags is not None:
            updates["tags"] = list(self._tags)
        else:
            self._tags = tuple(stored.tags)
        if updates:
            self._sender.put(("u", updates))

    def _make_dirs(self, disabled: bool = False) -> None:
        """Choose (and, unless disabled, create) the run's directories."""
        if disabled:  # a disabled run touches no disk: the path is only reported
            import tempfile

            self._sync_dir = Path(tempfile.gettempdir()) / "wandb" / f"run-{self._id}"
            self._dir = self._sync_dir / "files"
            return
        # Absolute, as W&B's: files saved from run.dir are sent by path (init(dir=".") is
        # Lightning's default).
        wandb_dir = Path(os.path.abspath(self._settings.root_dir or os.getcwd())) / "wandb"
        stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(self._start_time))
        prefix = "offline-run" if self._mode == "offline" else "run"
        sync_dir = make_dirs(wandb_dir, prefix, stamp, self._id, unique=self._mode == "offline")
        self._sync_dir = sync_dir
        self._dir = sync_dir / "files"
        self._logs = RunLogs(sync_dir)
        self._logs.note(f"run {self._id} of {self.path} ({self._mode}) starting in pid "
                        f"{os.getpid()}, directory {sync_dir}")
        if self._settings.get("symlink"):
            link_latest(wandb_dir, sync_dir)

    def _metadata(self) -> dict[str, Any]:
        return {
            "entity": self._entity, "project": self._project, "run_id": self._id,
            "name": self._name or "", "notes": self._notes or "", "tags": list(self._tags),
            "group": self._group or "", "job_type": self._job_type or "",
            "config": self._config.as_dict(), "start_time": self._start_time,
            "host": self._settings.host or socket.gethostname(),
            "program": self._settings.program or _program(),
            "sweep_id": self._settings.sweep_id or "",
        }

    # -- logging -------------------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Log a row of data (see W&B's ``run.log`` for the step/commit rules).

        Never waits for the daemon: the row is validated, copied and queued.

        :raises TypeError: ``data`` is not a mapping, a key is not a str, or a value cannot be
            logged.
        :raises ValueError: an integer does not fit in 64 bits, or ``step`` is negative.
        :raises trackd.UsageError: the run is finished.
        """
        if (self._fast_rows and type(data) is dict and step is None and commit is None
                and not self._finished):
            # The common metrics row: checked and packed in a few C calls, then queued.
            packed = pack_row(data)
            if packed is not None:
                self._step += 1
                self._sender.put_row(packed, time.time())
                return
        if self._sender is None and self._mode == "disabled":
            return  # disabled: a no-op, as cheap as a call can be
        if self._finished:
            raise UsageError(f"run {self._id} is finished; log() cannot be called after finish()")
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict of values, got {type(data).__name__}")
        # A row of plain scalars (the common metrics row) is checked and packed in a few C
        # calls; any other is normalised (copied, converted, its data types collected).
        packed = pack_row(data) if self._mode != "shared" else None
        jobs = None
        if packed is None:
            jobs = Jobs()  # the data types stored as files (trackd.Image...), encoded later
            row: dict[str, Any] | bytes = normalize_row(data, jobs)
            if jobs:  # tables and charts: their log modes, row limit and run_table artifacts
                prepare_tables(self, row, jobs)
        else:
            row = packed
        if self._mode == "shared":  # the daemon orders the writers' rows: one row per call
            if step is not None and not self._warned_shared_step:
                self._warned_shared_step = True
                messages.warn(self._settings,
                    "step is ignored in shared mode: each log() call is its own row",
                    stacklevel=2)
            step = commit = None
            row["_writer"] = self._writer_label  # type: ignore[index]  # never packed here
        if step is not None:
            if isinstance(step, bool) or not hasattr(step, "__index__"):
                raise TypeError(f"step must be an int, got {type(step).__name__}")
            step = step.__index__()
            if step < 0:
                raise ValueError(f"step must be >= 0, got {step}")
            if step < self._step:
                messages.warn(self._settings,
                    BACKWARDS_STEP.format(step=step, current=self._step), stacklevel=2)
                return
            self._step = step
        if jobs:  # masks and boxes name their classes in the config, as W&B's do
            self._add_class_labels(jobs)
        media = self._encode_media(jobs, self._step) if jobs else None
        if commit or (commit is None and step is None):
            self._step += 1
        if self._sender is not None:
            commit = None if commit is None else bool(commit)
            self._sender.put(("h", row, step, commit, time.time()), media)

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Customise how a metric is summarised and plotted; ``name`` may end with ``*``."""
        metric = make_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)
        self._check_open("define_metric")
        if self._sender is not None:
            self._sender.put(("m", metric._to_record(), bool(overwrite)))
        return metric

    def alert(
        self,
        title: str,
        text: str,
        level: str | AlertLevel | None = None,
        wait_duration: float | datetime.timedelta | None = None,
    ) -> None:
        """Raise an alert: stored with the run, listed by ``trackd alerts ls`` and posted by
        the daemon to the webhooks configured for it. Another alert with the same title within
        ``wait_duration`` (seconds or a timedelta; default 1 minute) is stored but not sent.

        :raises ValueError: ``level`` is not INFO, WARN or ERROR.
        :raises TypeError: ``wait_duration`` is not a number or a timedelta.
        """
        self._check_open("alert")
        name = (level.value if isinstance(level, AlertLevel) else str(level or "INFO")).upper()
        if name not in AlertLevel.__members__:
            raise ValueError(f"alert level must be INFO, WARN or ERROR, got {level!r}")
        if wait_duration is None:
            seconds = 60.0
        elif isinstance(wait_duration, datetime.timedelta):
            seconds = wait_duration.total_seconds()
        elif isinstance(wait_duration, (int, float)) and not isinstance(wait_duration, bool):
            seconds = float(wait_duration)
        else:
            raise TypeError(f"wait_duration must be seconds or a timedelta, got {wait_duration!r}")
        if self._sender is not None:
            self._sender.put(("a", str(title), str(text), _ALERT_LEVEL_VALUES[name],
                              int(seconds * 1000), time.time()))

    def mark_preempting(self) -> None:
        """Tell the daemon the run is about to be preempted (sent at once): if the process
        then disappears, the run ends ``preempted`` rather than ``crashed``."""
        self._check_open("mark_preempting")
        if self._sender is not None:
            self._sender.put(("p",))
            self._sender.flush(SUMMARY_READ_TIMEOUT)

    def _label(self, code: str | None = None, repo: str | None = None,
                code_version: str | None = None, **kwargs: Any) -> None:
        """Label the run with the code that drives it (W&B's private ``_label``, called by
        integrations: ``run._label(code="transformers_trainer")``, ``repo="torchtune"``). The
        labels are kept in ``run._labels``; a value that is not an identifier (letters,
        digits, ``_``, ``-``) or an unknown key is ignored with a warning, as in W&B."""
        if self._settings.get("label_disable"):
            return
        for key, value in (("code", code), ("repo", repo), ("code_version", code_version)):
            if value is None:
                continue
            if isinstance(value, str) and _LABEL.fullmatch(value):
                self._labels[key] = value[:32]
            else:
                messages.warning(self._settings, f"Label added for {key!r} with invalid "
                                 f"identifier {value!r} (ignored).")
        for key in kwargs:
            messages.warning(self._settings,
                             f"Label added for unsupported key {key!r} (ignored).")

    def _check_open(self, what: str) -> None:
        if self._finished:
            raise UsageError(f"run {self._id} is finished; {what}() cannot be called after finish()")

    def _send_update(self, **fields: Any) -> None:
        if self._sender is not None and not self._finished:
            self._sender.put(("u", fields))

    def _add_class_labels(self, jobs: Jobs) -> None:
        """Keep the class names of logged masks and boxes in ``config._wandb`` (W&B's
        ``mask/class_labels`` and ``bounding_box/class_labels``); sent only when they change."""
        found = class_labels_config((job.key, item) for job in jobs for item in job.items())
        if not found:
            return
        wandb_cfg = dict(self._config.as_dict().get("_wandb") or {})
        changed = {kind: {**(wandb_cfg.get(kind) or {}), **entries}
                   for kind, entries in found.items()
                   if any((wandb_cfg.get(kind) or {}).get(k) != v for k, v in entries.items())}
        if changed:
            wandb_cfg.update(changed)
            try:
                self._config._set_quietly("_wandb", wandb_cfg)
            except ValueError as exc:  # past the config's limits: the images are logged still
                messages.warn(self._settings, f"trackd: class labels not kept: {exc}", stacklevel=3)
                return
            self._send_config({"_wandb": wandb_cfg}, [])

    def _send_config(self, update: dict[str, Any], remove: list[str]) -> None:
        if self._mode == "shared" and not self._primary and not self._attached:
            return  # the primary writer owns the run's config; this copy stays local
        if self._sender is not None and not self._finished:
            self._sender.put(("c", update, remove))

    def _write_summary(self, updates: list[tuple[tuple[str, ...], Any]],
                       removes: list[tuple[str, ...]], jobs: Jobs | None = None) -> None:
        if jobs and self._sender is not None:
            self._check_open("summary update")
            self._add_class_labels(jobs)
            self._sender.put(("s", updates, removes), self._encode_media(jobs, self._step))
            return
        if self._sender is None:
            for path, value in updates:
                _set_path(self._summary_local, path, value)
            for path in removes:
                _del_path(self._summary_local, path)
            return
        self._check_open("summary update")
        self._sender.put(("s", updates, removes))

    def _read_summary(self) -> dict[str, Any]:
        if self._backend is None:
            return self._summary_local
        seq = self._sender.last_seq
        cache = self._summary_cache
        if cache is not None and (cache[0] == seq or self._finished):
            return cache[1]
        timeout = float(self._settings.get("summary_timeout"))
        deadline = time.monotonic() + timeout
        try:
            self._sender.flush(timeout)
            data = self._backend.read_summary(seq, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise TimeoutError(f"reading the summary of run {self._id} took longer than "
                               f"summary_timeout={timeout:g}s (is the daemon answering?)") from None
        self._summary_cache = (seq, data)
        return data

    def status(self) -> RunStatus:
        """Delivery status of the run."""
        if self._backend is None:
            return RunStatus("finished" if self._finished else "running", 0, 0, 0, 0)
        return self._backend.status()

    # -- finish --------------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Finish the run: deliver everything, wait until it is durable, mark the run
        finished (exit code 0) or failed. Idempotent.

        :raises trackd.FinishTimeoutError: not done within the ``finish_timeout`` setting.
        """
        if self._finished:
            return

        st = state()
        code = exit_code if exit_code is not None else (st.exit_code or 0)
        timeout = float(self._settings.get("finish_timeout")) or None
        deadline = None if timeout is None else time.monotonic() + timeout
        backend = self._backend
        try:
            if backend is not None:
                self._finish_tensorboard(deadline)  # the last TensorBoard rows, then the rest
                if self._media is not None:  # encoded tables log their run_table artifacts
                    self._media.flush(_left(deadline))
                self._wait_artifacts(deadline)  # uploads of this run end before it does
                self._finish_extras(deadline)  # last console lines, environment, file saves
                sender = backend.sender
                sender.put(("x", int(code)))
                self._finished = True
                try:
                    sender.flush(_left(deadline))
                    done = backend.finish(int(code), _left(deadline))
                except TimeoutError:
                    raise FinishTimeoutError(self._detach(timeout)) from None
                sender.close(5)
                self._final_state = done.state
                self._summary_cache = (sender.last_seq, done.summary)
                run_footer(self, backend, done, bool(quiet))
                if code == 0 and self._resume_file is not None:
                    self._resume_file.unlink(missing_ok=True)
                if self._logs is not None:
                    self._logs.event(f"run {self._id}: finished, {done.state}, exit code {code}")
        finally:
            if self._logs is not None:
                self._logs.close()
            self._finished = True
            if self in st.runs:
                st.runs.remove(self)
            if st.current is self:
                st.current = None

    def _detach(self, timeout: float | None) -> str:
        """finish() ran out of time: keep what the daemon has not acknowledged in the run's
        directory (nothing is dropped) and say where; the daemon stores what it has."""
        sender = self._backend.sender
        message = f"finish() of run {self._id} did not complete in {timeout}s"
        go_offline = getattr(self._backend, "_go_offline", None)
        if go_offline is None or getattr(self._backend, "writer", ""):
            return message
        pending = sender.spill(go_offline())
        if not pending:
            return f"{message} (every record was acknowledged; the daemon is still storing them)"
        return (f"{message}: {pending} record(s) were not acknowledged by the daemon; they are "
                f"saved in {self._sync_dir} (upload them with: trackd sync {self._sync_dir})")

    # -- other processes ---------------------------------------------------------------------

    @property
    def _attach_id(self) -> str:
        """What another process passes to ``trackd._attach`` to write to this run."""
        return f"{self._entity}/{self._project}/{self._id}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled into another process (a spawned DDP worker, say), a run re-attaches there as
        # another writer of the same run.
        if self._mode == "disabled":
            return (_revivers["disabled"], (self._id,))
        if self._mode == "offline":
            raise TypeError("an offline run cannot be used from another process; use "
                            "mode='online' (or mode='shared') to log from several processes")
        return (_revivers["attach"], (self._attach_id,))

    # -- context manager -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        """Finish with 0, or 1 after an exception; ``sys.exit(code)`` inside the block
        finishes with the status it gives the process, Ctrl-C with 255."""
        if exc is None:
            code = 0
        elif isinstance(exc, SystemExit):
            code = exit_status(exc.code)
        elif isinstance(exc, KeyboardInterrupt):
            code = 255
        else:
            code = 1
        self.finish(exit_code=code)
        return False

    def __repr__(self) -> str:
        return f"<trackd.Run {self.path} ({self._mode})>"


class AlertLevel(str, enum.Enum):
    """Severity of ``run.alert``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


_ALERT_LEVEL_VALUES = {"INFO": 1, "WARN": 2, "ERROR": 3}  # trackd.v1.AlertLevel

#: How a run pickled into another process comes back to life there (``Run.__reduce__``): as
#: another writer of the same run ("attach"), or as a disabled run of the same id ("disabled").
#: Both go through ``init()``, whose layer stands on this one: it registers them when it loads,
#: which is before any run exists (runs are made by ``init()``).
_revivers: dict[str, Callable[[str], Run]] = {}


def set_revivers(*, attach: Callable[[str], Run], disabled: Callable[[str], Run]) -> None:
    """Register how a pickled run is revived in another process (see ``_revivers``)."""
    _revivers.update(attach=attach, disabled=disabled)


_SETTING_OF = {"name": "run_name", "notes": "run_notes", "group": "run_group",
               "job_type": "run_job_type"}


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())

