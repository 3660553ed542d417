"""The store interface. Every backend implements :class:`MetadataStore` and passes the one
contract suite in ``tests/daemon/store/contract.py``.

All methods are coroutines and never block the event loop: a backend whose driver blocks runs
it in worker threads. Errors raised are the daemon's domain errors (``trackd_daemon.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from trackd_daemon.store.artifact_base import ArtifactStore
from trackd_daemon.store.models import (
    AlertInfo,
    NewRun,
    RunChanges,
    RunCursor,
    RunInfo,
    RunKey,
)
from trackd_daemon.store.run_data_base import RunDataStore
from trackd_daemon.store.run_edit_base import RunEditStore
from trackd_daemon.store.series import STEP, Series
from trackd_daemon.store.sweep_base import SweepStore
from trackd_daemon.store.workspace_base import WorkspaceStore


class MetadataStore(ArtifactStore, RunDataStore, RunEditStore, SweepStore, WorkspaceStore,
                    Protocol):
    """Runs, their metadata, config, summary, metric definitions and history rows; artifacts
    (``artifact_base.py``); run files, console logs and system metrics (``run_data_base.py``);
    renaming, moving and deleting runs (``run_edit_base.py``); sweeps (``sweep_base.py``);
    the dashboard's workspace views (``workspace_base.py``)."""

    url: str

    async def create_run(self, new: NewRun) -> RunInfo:
        """Create a run (and its entity/project on first use). An empty name gets a generated
        ``adjective-noun-N`` name, N counting the project's runs.

        :raises RunAlreadyExistsError: the key exists, unless ``new.request_id`` is non-empty
            and equals the stored run's (a retried create): then the stored run is returned.
        """
        ...

    async def get_run(self, key: RunKey) -> RunInfo:
        """Return a run.

        :raises RunNotFoundError: no such run.
        """
        ...

    async def list_runs(self, entity: str = "", project: str = "") -> list[RunInfo]:
        """Runs of a project (empty project: every project of the entity; empty entity: all),
        newest first."""
        ...

    async def list_runs_page(
        self, entity: str, project: str, after: RunCursor | None, limit: int, max_bytes: int,
    ) -> tuple[list[RunInfo], RunCursor | None]:
        """A page of :meth:`list_runs`: up to ``limit`` runs following ``after`` (None: from
        the newest), ending early once the runs read hold ``max_bytes`` of stored text (at
        least one run), so that memory stays bounded however large runs are. Returns the runs
        and the cursor of the last one, or None when no run follows it."""
        ...

    async def list_runs_in_state(self, state: str) -> list[RunInfo]:
        """Every run in ``state`` (recovery uses it for runs still running)."""
        ...

    async def apply(self, changes: list[RunChanges]) -> None:
        """Apply several runs' changes in one transaction. Rows are keyed by (run, step):
        writing a step that exists keeps the stored row (replays are harmless)."""
        ...

    async def scan_history(
        self, pk: int, min_step: int | None, max_step: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """Up to ``limit`` rows with ``min_step <= step < max_step``, in step order."""
        ...

    async def sample_history(
        self, pk: int, n: int, min_step: int | None = None, max_step: int | None = None,
        keys: Sequence[str] = (),
    ) -> list[tuple[int, bytes]]:
        """At most ``n`` (>= 2) rows spread evenly over the rows with ``min_step <= step <
        max_step`` that have every key of ``keys``, in step order, the first and the last of
        them included. Each as ``(step, stored row)``: the row's MessagePack as stored
        (``row_codec.unpack_plain`` decodes it), so that the caller decodes one row at a time
        (decoded at once, 40 rows of 1,000 floats held 4 MiB of dicts)."""
        ...

    async def history_keys(self, pk: int) -> dict[str, int]:
        """The chartable keys of a run's history (numbers; nested values as dotted keys; see
        ``store/series.py``) and how many points each has, by key. ``_step`` is not one."""
        ...

    async def downsample_history(
        self, pk: int, keys: Sequence[str], x_key: str = STEP, x_min: float | None = None,
        x_max: float | None = None, buckets: int = 1000,
    ) -> dict[str, Series]:
        """Each of ``keys`` against ``x_key`` over ``[x_min, x_max]``, in at most ``buckets``
        buckets (min, max and last of each; a range with at most ``buckets`` points comes back
        whole), as :func:`trackd_daemon.store.series.downsample` defines it. Unknown keys give
        empty series.

        :raises InvalidArgumentError: an empty key, or ``buckets`` outside [2, 10000].
        """
        ...

    async def list_alerts(
        self, entity: str = "", project: str = "", run_id: str = "", limit: int = 100
    ) -> list[AlertInfo]:
        """Alerts, newest first, narrowed by entity, project and run id (empty: any)."""
        ...

    async def pending_alerts(self) -> list[AlertInfo]:
        """Alerts not suppressed and not yet delivered, oldest first."""
        ...

    async def mark_alert_delivered(self, alert_id: int, at: float) -> None:
        """Record that every notification sink took the alert."""
        ...

    async def aclose(self) -> None:
        """Flush and close; idempotent."""
        ...
