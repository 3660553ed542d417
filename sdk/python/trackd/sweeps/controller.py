"""``trackd.controller()``: W&B's local sweep controller, with the daemon as the engine.

W&B's local controller runs the search in the user's process and polls its server every
5 s. In trackd the daemon already is every sweep's controller: it proposes a run the moment
an agent asks, stops runs early and finishes the sweep. This object builds and creates a
sweep (``configure_*``, ``create``), looks at it (``print_*``, ``sweep_config``, ``done``) and
lets a custom search or stopping function of the user's drive it:

- ``configure_search(callable)`` sets ``method: custom`` (the daemon's engine then proposes
  nothing); each :meth:`step` calls ``fn(sweep_config, runs) -> SweepRun | None`` when no run
  it proposed is still waiting for an agent, and queues the proposal (``ScheduleRuns``); a
  ``None`` means the search is over and the sweep is finished.
- ``configure_stopping(callable)``: each step calls ``fn(sweep_config, runs)`` for the runs
  to stop (``SweepRun`` objects or run ids), and stops them (recorded as stopped early).
- With the built-in methods, :meth:`search` is what the daemon would propose next
  (``PreviewRun``, proposing nothing), :meth:`schedule` queues a run for the next agent,
  :meth:`stopping` names the runs ``early_terminate`` would stop now and :meth:`stop_runs`
  stops runs. :meth:`step` then only stops runs: the daemon proposes to agents itself.

:meth:`run` steps until :meth:`done` (the sweep is no longer running), about once a second.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trackd._api.api import Api, PublicRun
from trackd._base.terminal import visible
from trackd._transport.sweep_client import (
    RUNNING,
    STATE_NAMES,
    SweepClient,
    SweepPath,
    config_of,
    parse_path,
    path_of,
)
from trackd.errors import CommError, RunNotFoundError, UsageError
from trackd.sweeps import _printing
from trackd.sweeps._sweep_run import TERMINAL, SweepRun, as_sweep_config
from trackd.sweeps.sweep import announce, load_config, where

#: Seconds between two steps of :meth:`Controller.run`.
STEP_INTERVAL = 1.0
SEARCH_METHODS = ("grid", "random", "bayes")

Search = Callable[[dict[str, Any], list[SweepRun]], "SweepRun | Mapping[str, Any] | None"]
Stopping = Callable[[dict[str, Any], list[SweepRun]], Sequence["SweepRun | str"]]


def controller(sweep_id_or_config: str | Mapping[str, Any] | None = None,
               entity: str | None = None, project: str | None = None) -> Controller:
    """A sweep controller (W&B's ``wandb.controller``): of the existing sweep
    ``sweep_id_or_config`` (``ID``, ``PROJECT/ID`` or ``ENTITY/PROJECT/ID``), or of a new one
    built from that configuration (a dict; nothing is stored before :meth:`Controller.create`).

    :raises trackd.errors.SweepNotFoundError: no sweep has that id.
    """
    return Controller(sweep_id_or_config, entity, project)


class Controller:
    """See the module doc."""

    def __init__(self, sweep_id_or_config: str | Mapping[str, Any] | None = None,
                 entity: str | None = None, project: str | None = None) -> None:
        self._client = SweepClient()
        self._entity = entity
        self._project = project
        self._path: SweepPath | None = None
        self._create: dict[str, Any] = {}
        self._custom_search: Search | None = None
        self._custom_stopping: Stopping | None = None
        self._sweep: Any = None
        self._runs: list[SweepRun] = []
        self._public: dict[str, PublicRun] = {}
        self._actions: list[str] = []
        self._debug: list[str] = []
        if isinstance(sweep_id_or_config, str):
            self._path = parse_path(sweep_id_or_config, entity, project)
            self._refresh()
        elif isinstance(sweep_id_or_config, Mapping):
            self._create = load_config(sweep_id_or_config)
        elif sweep_id_or_config is not None:
            raise UsageError("controller() takes a sweep id, a configuration dict or nothing, "
                             f"got {type(sweep_id_or_config).__name__}")

    # -- properties ----------------------------------------------------------------------------

    @property
    def sweep_id(self) -> str | None:
        """The sweep's id (None before :meth:`create`)."""
        return self._path.sweep_id if self._path is not None else None

    @property
    def sweep_config(self) -> dict[str, Any]:
        """The configuration: as stored (defaults filled in) once created, else as built."""
        if self._sweep is not None:
            return config_of(self._sweep)
        config = copy.deepcopy(self._create)
        if self._custom_search is not None:
            config["method"] = "custom"
        return config

    # -- building ------------------------------------------------------------------------------

    def _configurable(self) -> dict[str, Any]:
        if self._path is not None:
            raise UsageError(f"sweep {self._path} was created already: configure a sweep "
                             "before create()")
        return self._create

    def configure(self, sweep_dict_or_config: Mapping[str, Any] | str) -> None:
        """Add a whole configuration (a dict, or the path of a YAML file) to the one being
        built."""
        self._configurable().update(load_config(sweep_dict_or_config))

    def configure_search(self, search: str | Search, **kwargs: Any) -> None:
        """``"grid"``, ``"random"``, ``"bayes"``, or a function ``fn(sweep_config, runs) ->
        SweepRun | None`` that proposes the runs (``method: custom``). ``kwargs`` go into the
        configuration."""
        if callable(search):
            self._custom_search = search
            if self._path is None:
                self._create["method"] = "custom"
        elif isinstance(search, str):
            self._configurable()["method"] = search
            self._custom_search = None
        else:
            raise UsageError(f"search must be a method name or a callable, got {search!r}")
        if kwargs:
            self._configurable().update(kwargs)

    def configure_stopping(self, stopping: str | Stopping, **kwargs: Any) -> None:
        """``"hyperband"`` (``kwargs`` — ``min_iter``, ``max_iter``, ``s``, ``eta``,
        ``strict`` — go into ``early_terminate``), or a function ``fn(sweep_config, runs)``
        naming the runs to stop, called at each :meth:`step`."""
        if callable(stopping):
            self._custom_stopping = stopping
        elif isinstance(stopping, str):
            self._configurable()["early_terminate"] = {"type": stopping, **kwargs}
        else:
            raise UsageError(f"stopping must be a type name or a callable, got {stopping!r}")

    def configure_metric(self, metric: str, goal: str | None = None) -> None:
        """The metric to optimise and its goal (``"minimize"``, the default, or
        ``"maximize"``)."""
        spec: dict[str, Any] = {"name": metric}
        if goal is not None:
            spec["goal"] = goal
        self._configurable()["metric"] = spec

    def configure_program(self, program: str) -> None:
        """The program the command agents run."""
        self._configurable()["program"] = program

    def configure_parameter(self, name: str, values: list[Any] | None = None,
                            value: Any = None, distribution: str | None = None,
                            min: float | None = None, max: float | None = None,  # noqa: A002
                            mu: float | None = None, sigma: float | None = None,
                            q: float | None = None, a: float | None = None,
                            b: float | None = None) -> None:
        """One parameter: the arguments given (not None) make its specification."""
        given = {"values": values, "value": value, "distribution": distribution, "min": min,
                 "max": max, "mu": mu, "sigma": sigma, "q": q, "a": a, "b": b}
        params = self._configurable().setdefault("parameters", {})
        params[name] = {k: v for k, v in given.items() if v is not None}

    def configure_name(self, name: str) -> None:
        self._configurable()["name"] = name

    def configure_description(self, description: str) -> None:
        self._configurable()["description"] = description

    def configure_controller(self, type: str) -> None:  # noqa: A002 - W&B's argument name
        """``controller: {type: ...}`` ("local" or "cloud"; the daemon controls every sweep
        either way)."""
        self._configurable()["controller"] = {"type": type}

    def create(self) -> str:
        """Store the sweep built so far; returns its id.

        :raises trackd.errors.SweepConfigError: the configuration is invalid (every
            violation named).
        :raises UsageError: the sweep was created already.
        """
        config = dict(self._configurable())
        if self._custom_search is not None:
            config["method"] = "custom"
        entity, project = where(config, self._entity, self._project)
        self._sweep = self._client.create(entity, project, config, [])
        self._path = path_of(self._sweep)
        announce(self._path)
        self._refresh()
        return self._path.sweep_id

    # -- running -------------------------------------------------------------------------------

    def _created(self) -> SweepPath:
        if self._path is None:
            self.create()
        assert self._path is not None
        return self._path

    def _refresh(self) -> None:
        """Read the sweep and its runs again."""
        assert self._path is not None
        self._sweep = self._client.get(self._path)
        self._path = path_of(self._sweep)
        self._runs = [self._sweep_run(r) for r in self._sweep.runs]

    def _sweep_run(self, run: Any) -> SweepRun:
        params = json.loads(run.params_json) if run.params_json else {}
        public = self._public_run(run.run_id) if run.state != "pending" else None
        summary = public.summary if public is not None else {}
        metric = run.metric if run.has_metric else None
        history = (lambda p=public: list(p.scan_history())) if public is not None else []
        return SweepRun(name=run.run_id, config=as_sweep_config(params), summary_metrics=summary,
                        history=history, state=run.state, stopped=run.stopped_early,
                        metric=metric, agent_id=run.agent_id)

    def _public_run(self, run_id: str) -> PublicRun | None:
        """The stored run (read again until it has ended)."""
        known = self._public.get(run_id)
        if known is not None and known.state in TERMINAL:
            return known
        assert self._path is not None
        try:
            found = Api().run(f"{self._path.entity}/{self._path.project}/{run_id}")
        except RunNotFoundError:
            return None  # its process has not called init() yet
        self._public[run_id] = found
        return found

    def done(self) -> bool:
        """Whether the sweep no longer runs (finished, canceled, or paused — as W&B's)."""
        self._created()
        self._refresh()
        return self._sweep.state != RUNNING

    def search(self) -> SweepRun | None:
        """The next proposal: the custom search's, else what the daemon would propose (None:
        the search has nothing more)."""
        path = self._created()
        if self._custom_search is not None:
            found = self._custom_search(self.sweep_config, list(self._runs))
            if found is None:
                return None
            return found if isinstance(found, SweepRun) else SweepRun(config=found)
        params = self._client.preview(path)
        return None if params is None else SweepRun(config=as_sweep_config(params))

    def schedule(self, run: SweepRun | Mapping[str, Any] | None) -> None:
        """Queue ``run``'s parameters for the next agent (None: nothing)."""
        path = self._created()
        if run is None:
            return
        params = (run if isinstance(run, SweepRun) else SweepRun(config=run)).params
        queued = self._client.schedule(path, [params])
        ids = ", ".join(q.run_id for q in queued)
        self._actions.append(visible(f"scheduled run {ids}: {params}"))

    def stopping(self) -> list[SweepRun]:
        """The runs to stop now: the custom stopping function's, else those the sweep's
        ``early_terminate`` would stop (none are stopped here)."""
        path = self._created()
        if self._custom_stopping is not None:
            named = self._custom_stopping(self.sweep_config, list(self._runs))
            ids = [r.name if isinstance(r, SweepRun) else str(r) for r in named or ()]
        else:
            ids = self._client.stop_runs(path, only_candidates=True)
        by_id = {r.name: r for r in self._runs}
        return [by_id.get(i) or SweepRun(name=i, state="running") for i in ids]

    def stop_runs(self, runs: Sequence[SweepRun | str]) -> None:
        """Stop these runs (SweepRun objects or run ids); recorded as stopped early."""
        path = self._created()
        ids = [r.name if isinstance(r, SweepRun) else str(r) for r in runs]
        ids = [i for i in ids if i]
        if not ids:
            return
        stopped = self._client.stop_runs(path, ids)
        self._actions.append(visible(f"stopped runs: {', '.join(stopped) or 'none'}"))

    def step(self) -> None:
        """One round: read the sweep, let a custom search propose (when none of its runs is
        waiting for an agent), and stop the runs :meth:`stopping` names."""
        path = self._created()
        self._actions.clear()
        self._debug.clear()
        self._refresh()
        if self._sweep.state != RUNNING:
            return
        if self._custom_search is not None:
            waiting = [r for r in self._runs if r.state == "pending"]
            if not waiting:
                proposal = self.search()
                if proposal is None:
                    self._client.set_state(path, "finish")
                    self._actions.append("search has nothing more: sweep finished")
                else:
                    self.schedule(proposal)
            else:
                self._debug.append(f"{len(waiting)} proposed run(s) wait for an agent")
        to_stop = [r for r in self.stopping() if r.state in ("running", "pending")]
        if to_stop:
            self.stop_runs(to_stop)

    def run(self, verbose: bool | None = None, print_status: bool = True,
            print_actions: bool = False, print_debug: bool = False) -> None:
        """Step until :meth:`done` (``verbose``: print everything)."""
        if verbose:
            print_status = print_actions = print_debug = True
        self._created()
        while not self.done():
            if print_status:
                self.print_status()
            try:
                self.step()
            except CommError as exc:
                self._debug.append(f"step failed: {exc}")
            if print_actions:
                self.print_actions()
            if print_debug:
                self.print_debug()
            time.sleep(STEP_INTERVAL)
        if print_status:
            self.print_status()

    # -- printing ------------------------------------------------------------------------------

    def _state(self) -> str:
        return STATE_NAMES.get(self._sweep.state, "unknown") if self._sweep is not None \
            else "not created"

    def print_status(self) -> None:
        print(_printing.status(self.sweep_id or "-", self._state(), self.sweep_config,
                               self._runs))

    def print_actions(self) -> None:
        for line in self._actions or ["no action"]:
            print(f"Action: {line}")

    def print_debug(self) -> None:
        for line in self._debug:
            print(visible(f"Debug: {line}"))
        print(_printing.debug(self._runs))

    def print_space(self) -> None:
        print(_printing.space(self.sweep_config))

    def print_summary(self) -> None:
        print(_printing.summary(self.sweep_id or "-", self._state(), self.sweep_config,
                                self._runs))

