"""``Api().sweep(path)``, ``Api().project(name).sweeps()`` and ``run.sweep``: stored sweeps,
with the names of W&B's public ``Sweep``."""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

from trackd._base.terminal import visible
from trackd._transport.dashboard import link
from trackd._transport.sweep_client import (
    STATE_NAMES,
    SweepClient,
    SweepPath,
    config_of,
    parse_path,
)
from trackd.errors import UsageError

if TYPE_CHECKING:
    from trackd._api.api import Api, PublicRun


class Sweep:
    """A stored sweep (W&B's public ``Sweep``): ``id``, ``name``, ``config`` (as stored, with
    its defaults filled in), ``state`` (``"RUNNING"``, ``"PAUSED"``, ``"FINISHED"`` or
    ``"CANCELED"``, as W&B spells them), ``runs``, ``best_run()``, ``expected_run_count``,
    ``order``, ``url``. It holds what was read; :meth:`load` reads it again."""

    def __init__(self, api: Api, pb: Any) -> None:
        self._api = api
        self._set(pb)

    def _set(self, pb: Any) -> None:
        self._pb = pb
        self.entity: str = pb.ref.entity
        self.project: str = pb.ref.project
        self.id: str = pb.ref.sweep_id
        self.config: dict[str, Any] = config_of(pb)
        self.name: str = pb.name or self.config.get("name") or self.id
        self.state: str = STATE_NAMES.get(pb.state, "unknown").upper()
        #: Runs proposed so far (prior runs included).
        self.run_count: int = int(pb.run_count)
        self.created_at: str = _iso(pb.created_at)
        self.updated_at: str = _iso(pb.updated_at)
        self._runs: list[PublicRun] | None = None

    @classmethod
    def read(cls, api: Api, path: SweepPath) -> Sweep:
        """:raises trackd.errors.SweepNotFoundError: no such sweep."""
        return cls(api, SweepClient().get(path))

    def load(self, force: bool = False) -> dict[str, Any]:
        """Read the sweep again (W&B's ``load``); returns its configuration."""
        self._set(SweepClient().get(SweepPath(self.entity, self.project, self.id)))
        return self.config

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str | None:
        """The sweep's page in the daemon's dashboard (None when it serves none)."""
        return link(SweepClient.connection(), self.entity, self.project, "sweeps", self.id)

    @property
    def runs(self) -> list[PublicRun]:
        """The sweep's runs that exist (started by an agent, or attached as prior runs), as
        ``Api().run`` gives them, newest first."""
        if self._runs is None:
            if self.run_count and not self._pb.runs:  # read from a list: without its runs
                self._pb = SweepClient().get(SweepPath(self.entity, self.project, self.id))
            ids = {r.run_id for r in self._pb.runs}
            found = self._api.runs(f"{self.entity}/{self.project}", per_page=1000)
            self._runs = [r for r in found if r.id in ids or r.sweep_id == self.id]
        return self._runs

    @property
    def expected_run_count(self) -> int | None:
        """How many runs the sweep will make: a grid's number of combinations, else its
        ``run_cap`` (the smaller of the two when both); None when unbounded."""
        counts = [int(self._pb.grid_size)] if self._pb.grid_size else []
        cap = self.config.get("run_cap")
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            counts.append(cap)
        return min(counts) if counts else None

    @property
    def order(self) -> str | None:
        """The runs' order by the sweep's metric, best first: ``"+summary_metrics.<name>"``
        to minimize, ``"-summary_metrics.<name>"`` to maximize (None without a metric)."""
        metric = self.config.get("metric") or {}
        if not metric.get("name"):
            return None
        sign = "-" if metric.get("goal") == "maximize" else "+"
        return f"{sign}summary_metrics.{metric['name']}"

    def best_run(self, order: str | None = None) -> PublicRun | None:
        """The run best by ``order`` (``"+key"`` ascending, ``"-key"`` descending; the key a
        summary metric, with or without ``summary_metrics.``), by default the sweep's metric
        and goal; runs without a number there are left out. None when no run has one."""
        order = order or self.order
        if not order:
            return None
        descending = order.startswith("-")
        key = order.lstrip("+-")
        for prefix in ("summary_metrics.", "summary."):
            key = key.removeprefix(prefix)
        scored = []
        for run in self.runs:
            value = run.summary.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and not math.isnan(value):
                scored.append((value, run))
        if not scored:
            return None
        pick = max if descending else min
        return pick(scored, key=lambda pair: pair[0])[1]

    def __repr__(self) -> str:
        return visible(f"<Sweep {'/'.join(self.path)} ({self.state})>")


class SweepApi:
    """The sweep reads of :class:`trackd.Api` (its base class)."""

    default_entity: str
    _overrides: dict[str, Any]

    def sweep(self, path: str = "") -> Sweep:
        """The sweep at ``entity/project/sweep_id`` (``project/sweep_id`` and ``sweep_id``
        work too: a sweep id is unique in a daemon).

        :raises trackd.errors.SweepNotFoundError: no such sweep.
        """
        if not path:
            raise UsageError("Api().sweep() needs a sweep path: ENTITY/PROJECT/SWEEP_ID")
        return Sweep.read(self, parse_path(path))  # type: ignore[arg-type]

    def _project_sweeps(self, entity: str, project: str) -> list[Sweep]:
        """The sweeps of a project, newest first."""
        return [Sweep(self, pb) for pb in SweepClient().list(entity, project)]  # type: ignore[arg-type]


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else ""
