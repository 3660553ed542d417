"""Plain data that crosses the store interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackd_daemon.store.run_data_models import ConsoleLine

RUNNING, FINISHED, FAILED, CRASHED = "running", "finished", "failed", "crashed"
KILLED, PREEMPTED = "killed", "preempted"
TERMINAL_STATES = frozenset((FINISHED, FAILED, CRASHED, KILLED, PREEMPTED))


@dataclass(frozen=True)
class RunKey:
    """A run's identity."""

    entity: str
    project: str
    run_id: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}/{self.run_id}"


@dataclass
class NewRun:
    """What creating a run stores."""

    key: RunKey
    name: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    group: str = ""
    job_type: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    start_time: float = 0.0
    host: str = ""
    program: str = ""
    sweep_id: str = ""
    request_id: str = ""
    created_at: float = 0.0
    fork_run_id: str = ""
    fork_step: int = -1
    #: The uid of the process that created the run (-1: unknown, e.g. a run from before
    #: runs had owners); see ``trackd_daemon.access``.
    owner_uid: int = -1
    #: The creator's user name on the machine it ran on ("" when unknown): what a team store's
    #: access decisions compare, since uids differ between machines (``trackd_daemon.access``).
    owner_name: str = ""
    #: Seconds without a client before the run is marked crashed (0: the daemon's default).
    crash_grace: float = 0.0
    #: Proxies for the daemon's HTTP requests on the run's behalf (its alert webhooks): "" is
    #: none (the daemon's environment decides). Never returned to clients.
    http_proxy: str = ""
    https_proxy: str = ""
    #: Shared mode: writers on several daemons may write it (see ``store/shared_runs.py``).
    shared: bool = False


@dataclass(frozen=True)
class RunCursor:
    """A place in the listing order of runs (newest first: ``created_at``, then ``pk``, both
    descending): listing after it goes on with the next older run."""

    created_at: float
    pk: int


@dataclass
class RunInfo:
    """A stored run."""

    pk: int
    key: RunKey
    name: str
    notes: str
    tags: list[str]
    group: str
    job_type: str
    state: str
    exit_code: int
    created_at: float
    updated_at: float
    finished_at: float
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: list[dict[str, Any]]
    history_rows: int
    last_step: int
    host: str
    program: str
    start_time: float
    sweep_id: str
    request_id: str
    ingested_seq: int
    fork_run_id: str = ""  # a fork's source run ("" when not a fork)
    fork_step: int = -1  # the source step it branched at
    #: Shared runs: each other writer's ingested seq (the primary's is ``ingested_seq``).
    writer_seqs: dict[str, int] = field(default_factory=dict)
    owner_uid: int = -1
    #: As in :class:`NewRun` (the latest creating or resuming client's).
    crash_grace: float = 0.0
    http_proxy: str = ""
    https_proxy: str = ""
    shared: bool = False  # as in NewRun (or joined in shared mode since)
    owner_name: str = ""  # as in :class:`NewRun`


@dataclass(frozen=True)
class NewAlert:
    """An alert raised by record ``seq`` of a run."""

    seq: int
    title: str
    text: str
    level: str  # "INFO", "WARN" or "ERROR"
    timestamp: float
    wait_ms: int
    suppressed: bool


@dataclass(frozen=True)
class AlertInfo:
    """A stored alert."""

    id: int
    run: RunKey
    run_name: str
    title: str
    text: str
    level: str
    timestamp: float
    suppressed: bool
    delivered_at: float
    #: The run's proxies (see :class:`NewRun`): webhooks are posted through them.
    http_proxy: str = ""
    https_proxy: str = ""


@dataclass
class SharedDelta:
    """What a round changes in a shared run, settled by the store (see ``store/shared_runs.py``)."""

    #: (writer, seq) of a record in the round: the round is stored already when the run's
    #: stored seq of that writer ("" is the primary: ``ingested_seq``) has reached it.
    mark: tuple[str, int] | None = None
    summary_set: dict[str, Any] = field(default_factory=dict)
    summary_removed: set[str] = field(default_factory=set)
    config_set: dict[str, Any] = field(default_factory=dict)
    config_removed: set[str] = field(default_factory=set)
    #: Metric definitions by name, as ``metric_to_dict`` writes them.
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RunChanges:
    """Everything one ingest step changes in one run; applied atomically with its rows.

    ``None`` fields are left alone. ``ingested_seq`` is the highest record seq whose effects
    are included, so that recovery knows where to resume.
    """

    pk: int
    ingested_seq: int
    #: ``(step, row)``: a row is a dict, or its stored encoding already (bytes: rows the
    #: daemon kept packed; a shared run's rows are always dicts).
    rows: list[tuple[int, dict[str, Any] | bytes]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    metrics: list[dict[str, Any]] | None = None
    name: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    group: str | None = None
    job_type: str | None = None
    state: str | None = None
    exit_code: int | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    #: Rewind: set rows with a step above this aside before ``rows`` are written.
    rewind_after: int | None = None
    #: Delete the rows set aside by rewinds (the run finished).
    purge_rewound: bool = False
    #: Alerts raised (stored once per seq: replays add nothing).
    alerts: list[NewAlert] = field(default_factory=list)
    #: Other writers' ingested seqs (each only goes up).
    writer_seqs: dict[str, int] = field(default_factory=dict)
    #: Console lines (a line already stored is replaced: its last state is kept).
    console: list[ConsoleLine] = field(default_factory=list)
    #: The run's crash grace and proxies (see :class:`NewRun`): a resuming client's.
    crash_grace: float | None = None
    http_proxy: str | None = None
    https_proxy: str | None = None
    #: A shared run's round (see ``store/shared_runs.py``): its rows' steps are the store's to
    #: give, and its summary, config and definitions are merged; the run is marked shared.
    shared: SharedDelta | None = None
