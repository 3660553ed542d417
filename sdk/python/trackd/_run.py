"""``trackd.Run``: what ``trackd.init()`` returns, in every mode."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackd._config import Config
from trackd._metric import Metric, make_metric
from trackd._settings import Settings
from trackd._shared.history import BACKWARDS_STEP, MetricDef, RunHistory
from trackd._shared.values import normalize_row
from trackd._summary import Summary
from trackd.errors import FinishTimeoutError, UsageError

#: Seconds a summary read waits for earlier records to be delivered.
SUMMARY_READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunStatus:
    """A run's delivery status (``run.status()``)."""

    state: str
    acked_seq: int
    ingested_seq: int
    history_rows: int
    last_queued_seq: int


class Run:
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
        self._config._load(config or {})
        self._config._set_allow_val_change(bool(settings.get("allow_val_change")))
        self._summary_local: dict[str, Any] = {}
        self._summary = Summary(self._read_summary, self._write_summary)
        self._summary_cache: tuple[int, dict[str, Any]] | None = None
        self._step = 0
        self._starting_step = 0
        self._start_time = time.time()
        self._finished = False
        self._final_state: str | None = None
        self._sender: Any = None
        self._conn: Any = None
        self._history: RunHistory | None = None  # offline: local history state
        self._history_lock = threading.Lock()
        self._dir: Path | None = None
        self._sync_dir: Path | None = None
        self._ref: Any = None
        self._sync_at_finish = False

    # -- identity ------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run id."""
        return self._id

    @property
    def name(self) -> str | None:
        """Display name (settable)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self._send_update(name=self._name)

    @property
    def notes(self) -> str | None:
        """Notes (settable)."""
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        self._notes = str(value)
        self._send_update(notes=self._notes)

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags (settable; ``run.tags += ("x",)`` adds one)."""
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        if isinstance(value, str):
            raise TypeError("tags must be a sequence of strings, not a string")
        self._tags = tuple(str(t) for t in value)
        self._send_update(tags=list(self._tags))

    @property
    def group(self) -> str | None:
        return self._group

    @property
    def job_type(self) -> str | None:
        return self._job_type

    @property
    def project(self) -> str:
        return self._project

    def project_name(self) -> str:
        """Deprecated: use ``run.project``."""
        return self._project

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def path(self) -> str:
        """``entity/project/run_id``."""
        return f"{self._entity}/{self._project}/{self._id}"

    @property
    def dir(self) -> str:
        """The directory for the run's files."""
        return str(self._dir) if self._dir else ""

    @property
    def config(self) -> Config:
        return self._config

    @property
    def config_static(self) -> Any:
        """A read-only snapshot of the config with attribute access."""
        from types import MappingProxyType, SimpleNamespace

        ns = SimpleNamespace(**self._config.as_dict())
        ns.__dict__ = MappingProxyType(dict(ns.__dict__))  # type: ignore[assignment]
        return ns

    @property
    def summary(self) -> Summary:
        return self._summary

    @property
    def step(self) -> int:
        """The current step (advanced by log)."""
        return self._step

    @property
    def starting_step(self) -> int:
        return self._starting_step

    @property
    def start_time(self) -> float:
        return self._start_time

    @property
    def offline(self) -> bool:
        return self._mode == "offline"

    @property
    def disabled(self) -> bool:
        return self._mode == "disabled"

    @property
    def resumed(self) -> bool:
        return False

    @property
    def settings(self) -> Settings:
        """A copy of the run's settings."""
        return self._settings.merged(None)

    @property
    def sweep_id(self) -> str | None:
        return self._settings.sweep_id

    @property
    def url(self) -> str | None:
        """None: trackd has no web UI address for runs yet."""
        return None

    @property
    def project_url(self) -> str | None:
        return None

    @property
    def sweep_url(self) -> str | None:
        return None

    def get_url(self) -> str | None:
        return self.url

    def get_project_url(self) -> str | None:
        return self.project_url

    def get_sweep_url(self) -> str | None:
        return self.sweep_url

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
        from trackd.v1 import run_pb2

        self._ref = run_pb2.RunRef(entity=self._entity, project=self._project, run_id=self._id)
        self._make_dirs()
        from trackd._connection import grpc_inherited

        if self._mode == "offline":
            self._start_offline()
        elif grpc_inherited():
            # A child forked from a process with an open gRPC channel cannot use gRPC: record
            # the run offline and let a fresh process ingest it at finish().
            self._sync_at_finish = True
            self._start_offline()
        else:
            self._start_online()
        self._config._set_callback(self._send_config)

    def _make_dirs(self, disabled: bool = False) -> None:
        base = Path(self._settings.root_dir or os.getcwd())
        if disabled:
            import tempfile

            base = Path(tempfile.gettempdir())
        wandb_dir = base / "wandb"
        stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(self._start_time))
        prefix = "offline-run" if self._mode == "offline" else "run"
        sync_dir = wandb_dir / f"{prefix}-{stamp}-{self._id}"
        n = 0
        while sync_dir.exists() and self._mode == "offline":
            n += 1
            sync_dir = wandb_dir / f"{prefix}-{stamp}-{self._id}-{n}"
        (sync_dir / "files").mkdir(parents=True, exist_ok=True)
        self._sync_dir = sync_dir
        self._dir = sync_dir / "files"
        if not disabled:
            latest = wandb_dir / "latest-run"
            try:
                if latest.is_symlink():
                    latest.unlink()
                latest.symlink_to(sync_dir.name)
            except OSError:
                pass

    def _metadata(self) -> dict[str, Any]:
        return {
            "entity": self._entity, "project": self._project, "run_id": self._id,
            "name": self._name or "", "notes": self._notes or "", "tags": list(self._tags),
            "group": self._group or "", "job_type": self._job_type or "",
            "config": self._config.as_dict(), "start_time": self._start_time,
            "host": socket.gethostname(), "program": _program(),
            "sweep_id": self._settings.sweep_id or "",
        }

    def _start_online(self) -> None:
        from trackd._connection import get_connection
        from trackd._sender import Sender
        from trackd._setup import ensure_daemon, state
        from trackd._shared.values import fill_map
        from trackd.v1 import run_service_pb2

        st = state()
        address = ensure_daemon(st)
        conn = get_connection(address)
        meta = self._metadata()
        req = run_service_pb2.CreateRunRequest(
            ref=self._ref, name=meta["name"], notes=meta["notes"], tags=meta["tags"],
            group=meta["group"], job_type=meta["job_type"], start_time=self._start_time,
            host=meta["host"], program=meta["program"], sweep_id=meta["sweep_id"],
            request_id=f"{os.getpid()}-{id(self)}-{self._start_time}",
        )
        req.config.SetInParent()
        fill_map(req.config, meta["config"])
        resp = conn.unary(conn.runs.CreateRun, req, timeout=float(self._settings.get("init_timeout")))
        self._name = resp.run.name
        self._conn = conn

        async def reconnect() -> None:
            import asyncio

            loop = asyncio.get_running_loop()
            new = await loop.run_in_executor(None, lambda: ensure_daemon(st, restart=True))
            if new != conn.address:
                await conn.reopen(new)

        self._sender = Sender(
            conn.loop, ref=self._ref, bound=int(self._settings.get("max_buffered_records")),
            conn=conn, reconnect_timeout=float(self._settings.get("reconnect_timeout")),
            reconnect=reconnect, go_offline=self._go_offline,
        )

    def _go_offline(self) -> Path | None:
        """The daemon is gone for good: continue in an offline log (the sender's fallback)."""
        assert self._sync_dir is not None
        (self._sync_dir / "run.json").write_text(json.dumps(self._metadata()))
        return self._sync_dir / f"run-{self._id}.wal"

    def _start_offline(self) -> None:
        from trackd._connection import get_loop_thread
        from trackd._sender import Sender

        assert self._sync_dir is not None
        (self._sync_dir / "run.json").write_text(json.dumps(self._metadata()))
        self._history = RunHistory(start_time=self._start_time)
        self._sender = Sender(
            get_loop_thread().loop, ref=self._ref,
            bound=int(self._settings.get("max_buffered_records")),
            offline_path=self._sync_dir / f"run-{self._id}.wal", observer=self._observe,
        )

    def _observe(self, item: tuple[Any, ...]) -> None:
        """Offline: apply each record to the local history state (sender thread)."""
        h = self._history
        assert h is not None
        with self._history_lock:
            kind = item[0]
            if kind == "h":
                h.on_history(item[2], item[3], item[4], item[5])
                h.take_rows()
            elif kind == "s":
                h.on_summary(item[2], item[3])
            elif kind == "m":
                d = item[2]
                h.on_metric(MetricDef(d["name"], d["step_metric"], d["step_sync"], d["hidden"],
                                      tuple(d["summary"]), d["goal"]), bool(item[3]))
            elif kind == "x":
                h.on_exit()
                h.take_rows()

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
        if self._finished:
            raise UsageError(f"run {self._id} is finished; log() cannot be called after finish()")
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict of values, got {type(data).__name__}")
        row = normalize_row(data)
        if step is not None:
            if isinstance(step, bool) or not hasattr(step, "__index__"):
                raise TypeError(f"step must be an int, got {type(step).__name__}")
            step = step.__index__()
            if step < 0:
                raise ValueError(f"step must be >= 0, got {step}")
            if step < self._step:
                warnings.warn(BACKWARDS_STEP.format(step=step, current=self._step), stacklevel=2)
                return
            self._step = step
        if commit or (commit is None and step is None):
            self._step += 1
        if self._sender is not None:
            self._sender.put(("h", row, step, None if commit is None else bool(commit), time.time()))

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

    def _check_open(self, what: str) -> None:
        if self._finished:
            raise UsageError(f"run {self._id} is finished; {what}() cannot be called after finish()")

    def _send_update(self, **fields: Any) -> None:
        if self._sender is not None and not self._finished:
            self._sender.put(("u", fields))

    def _send_config(self, update: dict[str, Any], remove: list[str]) -> None:
        if self._sender is not None and not self._finished:
            self._sender.put(("c", update, remove))

    def _write_summary(self, updates: list[tuple[tuple[str, ...], Any]],
                       removes: list[tuple[str, ...]]) -> None:
        if self._sender is None:
            from trackd._shared.history import _del_path, _set_path

            for path, value in updates:
                _set_path(self._summary_local, path, value)
            for path in removes:
                _del_path(self._summary_local, path)
            return
        self._check_open("summary update")
        self._sender.put(("s", updates, removes))

    def _read_summary(self) -> dict[str, Any]:
        sender = self._sender
        if sender is None:
            return self._summary_local
        if self._finished and self._summary_cache is not None:
            return self._summary_cache[1]
        seq = sender.last_seq
        if self._summary_cache is not None and self._summary_cache[0] == seq:
            return self._summary_cache[1]
        if not self._finished:
            sender.flush(SUMMARY_READ_TIMEOUT)
        if self._history is not None:
            with self._history_lock:
                data = json.loads(json.dumps(self._history.summary))
        else:
            from trackd._shared.values import map_to_python
            from trackd.v1 import query_service_pb2

            conn = self._conn
            resp = conn.unary(conn.queries.GetRun, query_service_pb2.GetRunRequest(
                ref=self._ref, min_ingested_seq=seq),
                              timeout=SUMMARY_READ_TIMEOUT)
            data = map_to_python(resp.run.summary)
        self._summary_cache = (seq, data)
        return data

    def status(self) -> RunStatus:
        """Delivery status of the run."""
        sender = self._sender
        if sender is None or self._conn is None:
            state = self._final_state or ("finished" if self._finished else "running")
            return RunStatus(state, 0, 0, 0, sender.last_seq if sender else 0)
        from trackd._api import STATE_NAMES
        from trackd.v1 import run_service_pb2

        resp = self._conn.unary(self._conn.runs.GetRunStatus,
                                run_service_pb2.GetRunStatusRequest(ref=self._ref), timeout=30)
        return RunStatus(STATE_NAMES.get(resp.state, "unknown"), resp.acked_seq,
                         resp.ingested_seq, resp.history_rows, sender.last_seq)

    # -- finish --------------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Finish the run: deliver everything, wait until it is durable, mark the run
        finished (exit code 0) or failed. Idempotent.

        :raises trackd.FinishTimeoutError: not done within the ``finish_timeout`` setting.
        """
        if self._finished:
            return
        from trackd._setup import state

        st = state()
        code = exit_code if exit_code is not None else (st.exit_code or 0)
        timeout = float(self._settings.get("finish_timeout")) or None
        deadline = None if timeout is None else time.monotonic() + timeout
        sender = self._sender
        try:
            if sender is not None:
                sender.put(("x", int(code)))
                self._finished = True
                try:
                    sender.flush(_left(deadline))
                    if self._conn is not None and not sender.went_offline:
                        self._finish_online(code, sender.last_seq, _left(deadline))
                    else:
                        self._final_state = "finished" if code == 0 else "failed"
                        summary: dict[str, Any] = {}
                        if self._history is not None:
                            with self._history_lock:
                                summary = json.loads(json.dumps(self._history.summary))
                        self._summary_cache = (sender.last_seq, summary)
                finally:
                    sender.close(5)
                if self._sync_at_finish and self._sync_dir is not None:
                    self._sync_in_subprocess(_left(deadline))
                elif sender.went_offline and self._sync_dir is not None:
                    print(f"trackd: run {self._id} was saved offline; upload it with: "
                          f"trackd sync {self._sync_dir}", file=sys.stderr)
            self._finished = True
        except TimeoutError:
            raise FinishTimeoutError(f"finish() of run {self._id} did not complete in {timeout}s") from None
        finally:
            self._finished = True
            if self in st.runs:
                st.runs.remove(self)
            if st.current is self:
                st.current = None

    def _sync_in_subprocess(self, timeout: float | None) -> None:
        """Ingest this run's offline log through a new process (fork-safe gRPC)."""
        import subprocess

        proc = subprocess.run(
            [sys.executable, "-m", "trackd._cli.main", "sync", str(self._sync_dir)],
            capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            print(f"trackd: run {self._id} is saved in {self._sync_dir} but could not be sent to "
                  f"the daemon ({proc.stderr.strip() or proc.stdout.strip()}); retry with: "
                  f"trackd sync {self._sync_dir}", file=sys.stderr)

    def _finish_online(self, code: int, last_seq: int, timeout: float | None) -> None:
        from trackd._api import STATE_NAMES
        from trackd._shared.values import map_to_python
        from trackd.v1 import run_service_pb2

        conn = self._conn
        req = run_service_pb2.FinishRunRequest(ref=self._ref, exit_code=code, last_seq=last_seq,
                                               timeout_seconds=timeout or 0)
        resp = conn.unary(conn.runs.FinishRun, req, timeout=None if timeout is None else timeout)
        self._final_state = STATE_NAMES.get(resp.run.state, "unknown")
        self._summary_cache = (last_seq, map_to_python(resp.run.summary))

    # -- context manager -----------------------------------------------------------------------

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self.finish(exit_code=1 if exc_type is not None else 0)
        return False

    def __repr__(self) -> str:
        return f"<trackd.Run {self.path} ({self._mode})>"


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _program() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    return os.path.abspath(path) if path and path != "-c" else (path or "")
