"""``trackd.Api``: read stored runs back (the names of W&B's public API)."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from trackd._api_files import RunFileReads
from trackd._api_projects import Project, list_projects
from trackd._api_runs import Runs
from trackd._api_sweeps import Sweep, SweepApi
from trackd._dashboard import forget, link
from trackd._messages import warning
from trackd._terminal import visible
from trackd.artifacts.api import ArtifactApi, RunArtifactLists
from trackd.errors import UsageError
from trackd.sweeps._client import SweepPath

#: The daemon's largest page (ListRunsRequest.page_size).
MAX_PER_PAGE = 1000
STATE_NAMES = {1: "running", 2: "finished", 3: "failed", 4: "crashed", 5: "killed",
               6: "preempted"}


def _connection() -> Any:
    from trackd._connection import get_connection
    from trackd._setup import ensure_daemon, state

    # restart=True: a daemon that stopped since (idle, or another process stopped it) is found
    # again or started, instead of calling a dead socket.
    return get_connection(ensure_daemon(state(), restart=True))


class Api(ArtifactApi, SweepApi):
    """Reads runs from the daemon (starting it when needed, like ``init()``).

    ``overrides`` may set ``entity`` and ``project`` defaults for paths given without them.
    """

    def __init__(self, overrides: dict[str, Any] | None = None, timeout: float | None = None,
                 api_key: str | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._timeout = timeout or 60.0

    @property
    def default_entity(self) -> str:
        from trackd._init import default_entity

        return self._overrides.get("entity") or os.environ.get("TRACKD_ENTITY") \
            or os.environ.get("WANDB_ENTITY") or default_entity()

    def _split(self, path: str | None, parts: int) -> list[str]:
        bits = [b for b in (path or "").replace(":", "/").split("/") if b]
        if len(bits) > parts:
            raise UsageError(f"invalid path {path!r}")
        if len(bits) == parts:
            return bits
        defaults = [self.default_entity, self._overrides.get("project") or ""][: parts - 1]
        if parts == 3 and len(bits) == 1:
            return [defaults[0], defaults[1] or "uncategorized", bits[0]]
        if parts == 3 and len(bits) == 2:
            return [defaults[0], *bits]
        if parts == 2 and len(bits) == 1:
            return [defaults[0], bits[0]]
        if parts == 2 and not bits:
            return [defaults[0], self._overrides.get("project") or ""]
        raise UsageError(f"invalid path {path!r}")

    def run(self, path: str) -> PublicRun:
        """One run by ``entity/project/run_id`` (``project/run_id`` and ``run_id`` use the
        defaults).

        :raises trackd.errors.RunNotFoundError: no such run.
        """
        from trackd.v1 import query_service_pb2, run_pb2

        entity, project, run_id = self._split(path, 3)
        conn = _connection()
        resp = conn.unary(conn.queries.GetRun, query_service_pb2.GetRunRequest(
            ref=run_pb2.RunRef(entity=entity, project=project, run_id=run_id)), timeout=self._timeout)
        return PublicRun(resp.run, self._timeout)

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """The projects of ``entity`` (default: the default entity) holding runs you may
        read, most recently updated first (``per_page``: accepted; all are read at once)."""
        return list_projects(self, _name("entity", entity) if entity else self.default_entity)

    def project(self, name: str, entity: str | None = None) -> Project:
        """The project ``name`` of ``entity`` (default: the default entity). As in W&B, a
        project is not checked for existence: one with no run you may read is empty
        (``run_count == 0``)."""
        entity = _name("entity", entity) if entity else self.default_entity
        found = list_projects(self, entity, _name("project", name))
        return found[0] if found else Project(self, entity, name)

    def flush(self) -> None:
        """Drop what this process keeps from earlier reads, so the next read is fresh.

        ``run()``, ``runs()``, ``projects()`` and ``project()`` ask the daemon on every call,
        and objects they returned keep what they read (read them again for newer values);
        the one thing kept between calls is what the daemon said about its dashboard (for
        ``url``, reused for a few seconds), which this forgets."""
        forget()

    def alerts(self, path: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Alerts, newest first, of ``entity/project[/run_id]`` (or of every project of the
        default entity): dicts with run, title, text, level, timestamp, suppressed and
        delivered_at (0 while not delivered)."""
        from trackd.v1 import query_service_pb2

        bits = [b for b in (path or "").split("/") if b]
        if len(bits) > 3:
            raise UsageError(f"invalid path {path!r}")
        if len(bits) < 2:  # "" or "project": the default entity
            bits = [self.default_entity, *bits]
        entity, project, run_id = (*bits, "", "")[:3]
        conn = _connection()
        resp = conn.unary(conn.queries.ListAlerts, query_service_pb2.ListAlertsRequest(
            entity=entity, project=project, run_id=run_id, limit=limit), timeout=self._timeout)
        levels = {0: "INFO", 1: "INFO", 2: "WARN", 3: "ERROR"}
        return [{"run": f"{a.run.entity}/{a.run.project}/{a.run.run_id}", "title": a.title,
                 "text": a.text, "level": levels.get(a.level, "INFO"), "timestamp": a.timestamp,
                 "suppressed": a.suppressed, "delivered_at": a.delivered_at}
                for a in resp.alerts]

    def runs(self, path: str | None = None, filters: dict[str, Any] | None = None,
             order: str = "-created_at", per_page: int = 50) -> Runs:
        """Runs of ``entity/project`` (newest first), optionally filtered with MongoDB-style
        ``filters`` over ``state``, ``name``/``display_name``, ``tags``, ``group``,
        ``job_type``, ``created_at``, ``config.KEY`` and ``summary_metrics.KEY`` using
        ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex $and $or $not``. A lazy list
        (:class:`trackd._api_runs.Runs`): the daemon is asked for ``per_page`` runs at a time
        (at most 1000), as they are used."""
        from trackd.v1 import query_service_pb2

        if not isinstance(per_page, int) or per_page < 1:
            raise UsageError(f"per_page must be a positive integer, got {per_page!r}")
        entity, project = self._split(path, 2)
        request = query_service_pb2.ListRunsRequest(entity=entity, project=project,
                                                    page_size=min(per_page, MAX_PER_PAGE))
        timeout = self._timeout

        def fetch(token: str) -> tuple[list[Any], str]:
            request.page_token = token
            conn = _connection()
            resp = conn.unary(conn.queries.ListRuns, request, timeout=timeout)
            return list(resp.runs), resp.next_page_token

        return Runs(fetch, lambda pb: PublicRun(pb, timeout), "/".join(filter(None, (entity, project))),
                    filters, order, per_page)


@dataclass(frozen=True)
class RunUser:
    """Who made a run (``PublicRun.user``): the login name it was made under, on the machine
    ``PublicRun.host`` names ("" when the run predates the record)."""

    username: str

    @property
    def name(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


class PublicRun(RunArtifactLists, RunFileReads):
    """A stored run, as read through :class:`Api`."""

    def __init__(self, pb: Any, timeout: float = 60.0) -> None:
        from trackd._shared.values import map_to_python

        self._pb = pb
        self._timeout = timeout
        self.entity: str = pb.ref.entity
        self.project: str = pb.ref.project
        self.id: str = pb.ref.run_id
        self.name: str = pb.name
        self.display_name: str = pb.name
        self.notes: str = pb.notes
        self.tags: list[str] = list(pb.tags)
        self.group: str = pb.group
        self.job_type: str = pb.job_type
        self.state: str = STATE_NAMES.get(pb.state, "unknown")
        #: The run said it is about to be preempted.
        self.preempting: bool = pb.preempting
        #: A stop was requested and the run has not ended yet.
        self.stop_requested: bool = pb.stop_requested
        self.exit_code: int = pb.exit_code
        self.config: dict[str, Any] = map_to_python(pb.config)
        self.history_rows: int = pb.history_rows
        self.last_step: int = pb.last_step
        self.host: str = pb.host
        #: Who made the run, on the machine ``host`` names (``run.user.username``).
        self.user: RunUser = RunUser(pb.user)
        self.program: str = pb.program
        self.sweep_id: str = pb.sweep_id
        self._summary: dict[str, Any] | None = None
        self._metrics: list[dict[str, Any]] | None = None
        #: For a fork: ``{"run_id": source, "step": N}``; None otherwise.
        self.forked_from: dict[str, Any] | None = (
            {"run_id": pb.forked_from.run_id, "step": pb.forked_from.step}
            if pb.HasField("forked_from") else None
        )
        self.created_at: str = _iso(pb.created_at)
        self.updated_at: str = _iso(pb.updated_at)
        self.finished_at: str | None = _iso(pb.finished_at) if pb.finished_at else None

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def sweep(self) -> Sweep | None:
        """The sweep this run belongs to (None when it belongs to none).

        :raises trackd.errors.SweepNotFoundError: the run names a sweep the daemon does not
            hold.
        """
        if not self.sweep_id:
            return None
        return Sweep.read(Api(), SweepPath(self.entity, self.project, self.sweep_id))

    def _whole(self) -> Any:
        """The run's message with its summary and metrics: a page of runs leaves them out of
        a run too large to list whole (``summary_omitted``); then the run is read alone."""
        if self._pb.summary_omitted:
            from trackd.v1 import query_service_pb2

            conn = _connection()
            self._pb = conn.unary(conn.queries.GetRun, query_service_pb2.GetRunRequest(
                ref=self._pb.ref), timeout=self._timeout).run
        return self._pb

    @property
    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            from trackd._shared.values import map_to_python

            self._summary = map_to_python(self._whole().summary)
        return self._summary

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Metric definitions (define_metric): name, step_metric and summary of each."""
        if self._metrics is None:
            self._metrics = [
                {"name": m.name, "step_metric": m.step_metric, "summary": list(m.summary)}
                for m in self._whole().metrics
            ]
        return self._metrics

    @property
    def summary_metrics(self) -> dict[str, Any]:
        return self.summary

    @property
    def url(self) -> str | None:
        """The run's page in the daemon's dashboard: the same credential-free URL as the live
        run's ``run.url`` (None when the daemon serves no dashboard)."""
        return link(_connection(), self.entity, self.project, "runs", self.id)

    def __repr__(self) -> str:
        return visible(f"<PublicRun {'/'.join(self.path)} ({self.state})>")

    def _doc(self) -> dict[str, Any]:
        return {
            "state": self.state, "name": self.name, "display_name": self.name, "tags": self.tags,
            "group": self.group, "job_type": self.job_type, "created_at": self.created_at,
            "config": self.config, "summary_metrics": self.summary, "id": self.id,
            "notes": self.notes,
        }

    def stop(self) -> int:
        """Ask this running run to stop: its training process is interrupted (as by Ctrl-C)
        and the run ends ``killed``. Returns how many client streams were told.

        :raises trackd.errors.FailedPreconditionError: the run is not running.
        """
        from trackd.v1 import run_service_pb2

        conn = _connection()
        resp = conn.unary(conn.runs.StopRun, run_service_pb2.StopRunRequest(ref=self._pb.ref),
                          timeout=self._timeout)
        return int(resp.streams)

    def update(self) -> None:
        """Store this run's ``name``, ``notes`` and ``tags`` as they are now (W&B's
        ``Run.update``); the run is read back.

        :raises trackd.errors.InvalidArgumentError: an empty name or tag, or a field over its
            limit.
        :raises trackd.errors.PermissionDeniedError: the run is another user's.
        """
        from trackd.v1 import run_service_pb2

        if isinstance(self.tags, str) or not all(isinstance(t, str) for t in self.tags):
            raise UsageError(f"run.tags must be a list of strings, not {self.tags!r}")
        name = self.name if self.name != self._pb.name else self.display_name
        conn = _connection()
        resp = conn.unary(conn.runs.UpdateRun, run_service_pb2.UpdateRunRequest(
            ref=self._pb.ref, name=str(name), notes=str(self.notes), set_tags=True,
            tags=list(self.tags)), timeout=self._timeout)
        self._reload(resp.run)

    def move(self, project: str) -> None:
        """Move this finished run to ``project`` of its entity, with its history, files and
        everything else it holds; ``path`` names it there afterwards.

        :raises trackd.errors.RunAlreadyExistsError: that project has a run with this id.
        :raises trackd.errors.FailedPreconditionError: the run is running, or belongs to a
            sweep.
        """
        from trackd.v1 import run_service_pb2

        conn = _connection()
        resp = conn.unary(conn.runs.MoveRun, run_service_pb2.MoveRunRequest(
            ref=self._pb.ref, project=project), timeout=self._timeout)
        self._reload(resp.run)

    def delete(self, delete_artifacts: bool = False) -> None:
        """Delete this finished run with its history, files, console log and system metrics
        (W&B's ``Run.delete``); with ``delete_artifacts`` the artifact versions it logged go
        too. Blob-store bytes only it held are freed by the next garbage collection.

        :raises trackd.errors.FailedPreconditionError: the run is running.
        """
        from trackd.v1 import run_service_pb2

        conn = _connection()
        conn.unary(conn.runs.DeleteRun, run_service_pb2.DeleteRunRequest(
            ref=self._pb.ref, delete_artifacts=delete_artifacts), timeout=self._timeout)

    def _reload(self, pb: Any) -> None:
        self.__init__(pb, self._timeout)  # type: ignore[misc]

    def scan_history(self, keys: Sequence[str] | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        """Every history row in step order (with ``keys``: only rows that have all of them,
        holding only them and ``_step``). ``max_step`` is exclusive."""
        return self._scan(keys, page_size, min_step, max_step, 0)

    def _scan(self, keys: Sequence[str] | None, page_size: int, min_step: int | None,
              max_step: int | None, samples: int, stream: str = "") -> Iterator[dict[str, Any]]:
        from trackd._shared.values import map_to_python
        from trackd.v1 import query_service_pb2

        req = query_service_pb2.ScanHistoryRequest(ref=self._pb.ref, keys=list(keys or ()),
                                                   page_size=page_size, samples=samples,
                                                   stream=stream)
        if min_step is not None:
            req.min_step = min_step
        if max_step is not None:
            req.max_step = max_step
        conn = _connection()
        # At most 4 pages (page_size rows each) wait ahead of the caller: memory stays bounded
        # however long the history, and the next page is on its way while one is used.
        for page in conn.stream(conn.queries.ScanHistory, req, 4, self._timeout * 10):
            yield from (map_to_python(r) for r in page.rows)

    def sample_history(self, keys: Sequence[str] | None = None, samples: int = 500,
                       min_step: int | None = None, max_step: int | None = None,
                       pandas: bool = False) -> Any:
        """Up to ``samples`` history rows spread evenly over the rows with ``min_step <= _step
        < max_step`` (the first and last of them included; all of them when there are
        fewer), sampled by the daemon. With ``keys``, only rows that have every key count,
        and each holds only those keys and ``_step``. A list of dicts, or a
        ``pandas.DataFrame`` with ``pandas=True``."""
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise UsageError(f"samples must be a positive integer, got {samples!r}")
        rows = list(self._scan(keys, 1000, min_step, max_step, max(2, samples)))
        if len(rows) > samples:  # samples=1: the daemon samples at least 2 rows
            rows = rows[:samples]
        return _frame(rows) if pandas else rows

    def history(self, samples: int = 500, keys: Sequence[str] | None = None, x_axis: str = "_step",
                pandas: bool = True, stream: str = "default") -> Any:
        """Up to ``samples`` rows spread evenly over the run (all rows when there are fewer;
        sampled by the daemon), as a ``pandas.DataFrame`` (W&B's default; without pandas
        installed: a warning and the list), or a list of dicts with ``pandas=False``.
        With ``keys``, the rows that have every key, with only those keys.
        ``stream="system"`` (W&B's name; "events" too) reads the system-metrics samples
        instead: ``system.cpu``, ``system.proc.memory.rssMB``, ``system.gpu.0.gpu``... with
        ``_timestamp`` and ``_runtime``."""
        if stream not in ("default", "system", "events"):
            raise UsageError(f"stream must be 'default' or 'system', got {stream!r}")
        rows = list(self._scan(keys, 1000, None, None, max(2, samples) if samples else 0,
                               "system" if stream in ("system", "events") else ""))
        if not pandas:
            return rows
        try:
            import pandas as pd
        except ImportError:  # W&B's behaviour: say so and give the rows as they are
            warning(None, "Unable to load pandas, call history with pandas=False")
            return rows
        return pd.DataFrame.from_records(rows)


def _frame(rows: list[dict[str, Any]]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise UsageError("pandas=True needs pandas (pip install pandas)") from None

    return pd.DataFrame(rows)


def _name(kind: str, value: str) -> str:
    from trackd._init import _validate_name

    return _validate_name(kind, value)


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else ""
