"""What the sweep page and the sweeps API show of a sweep (pure; CPU-bound for large sweeps,
so the API runs it in a worker thread): its state and configuration, its runs with their
parameters and metric, the best so far, and the parallel-coordinates dimensions.

A run's metric and the sweep's best run are the engine's (``trackd_daemon.sweeps``), so the page
agrees with ``trackd sweep show`` and the public API: the metric is the run's summary value of
the sweep's ``metric.name``; the best run is the finished run with the best metric (else the
best of the runs that ended otherwise).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from trackd_daemon.store.sweep_models import SweepInfo, SweepRunInfo
from trackd_daemon.sweeps import SearchRun, best_run, flatten_params, metric_value
from trackd_daemon.web.runs_table import flatten, jsonable

#: Runs a sweep page (and its API answer) lists: the newest ones past that, so that one answer
#: stays a few megabytes at most; the page says how many it leaves out.
MAX_PAGE_RUNS = 5000
MINIMIZE, MAXIMIZE = "minimize", "maximize"
#: Values of a categorical parameter given their own tick on the parallel-coordinates axis.
MAX_TICKS = 50


def metric_spec(config: Mapping[str, Any]) -> tuple[str, str]:
    """The sweep's metric name ("" when it names none) and goal."""
    metric = config.get("metric")
    if not isinstance(metric, Mapping):
        return "", MINIMIZE
    goal = MAXIMIZE if str(metric.get("goal", MINIMIZE)).lower() == MAXIMIZE else MINIMIZE
    return str(metric.get("name") or ""), goal


def better(a: float, b: float, goal: str) -> bool:
    """Whether ``a`` beats ``b``."""
    return a > b if goal == MAXIMIZE else a < b


def param_names(config: Mapping[str, Any], runs: Sequence[SweepRunInfo]) -> list[str]:
    """The sweep's parameters by dotted name, in the configuration's order; then any other
    parameter a run holds (a prior run's, or one a controller's own search scheduled)."""
    names = flatten_params(dict(config)) if config.get("parameters") else []
    known = set(names)
    extra: set[str] = set()
    for r in runs:
        extra.update(k for k in flatten(r.params) if k not in known
                     and not any(k.startswith(n + ".") for n in known))
    return names + sorted(extra)


def param_value(params: Mapping[str, Any], name: str) -> Any:
    """The value of the dotted parameter ``name`` in nested ``params`` (None when missing); a
    value that is itself a dict (a categorical one) is kept whole."""
    if name in params:
        return params[name]
    node: Any = params
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _metric(config: Mapping[str, Any], r: SweepRunInfo) -> float | None:
    return metric_value(dict(config), r.run_summary) if config.get("metric") else None


def _run_row(r: SweepRunInfo, config: Mapping[str, Any],
             params: Sequence[str]) -> dict[str, Any]:
    return {
        "id": r.run_id, "name": r.run_name or r.run_id, "state": r.state,
        "exists": bool(r.run_pk), "stopped_early": r.stopped_early, "prior": r.prior,
        "agent_id": r.agent_id, "created_at": r.created_at,
        "run_created_at": r.run_created_at, "finished_at": r.run_finished_at,
        "params": {p: jsonable(param_value(r.params, p)) for p in params},
        "metric": _metric(config, r),
    }


def _best(sweep: SweepInfo, runs: Sequence[SweepRunInfo],
          rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    if not sweep.config.get("metric"):
        return None
    best_id = best_run(sweep.config, [
        SearchRun(run_id=r.run_id, params=r.params, state=r.state, summary=r.run_summary,
                  stopped_early=r.stopped_early) for r in runs])
    row = next((row for row in rows if row["id"] == best_id), None)
    return None if row is None else {"id": row["id"], "name": row["name"],
                                     "metric": row["metric"]}


def _best_so_far(rows: list[dict[str, Any]], goal: str) -> None:
    best: float | None = None
    for row in rows:
        if row["metric"] is not None and (best is None or better(row["metric"], best, goal)):
            best = row["metric"]
        row["best_so_far"] = best


def sweep_json(sweep: SweepInfo) -> dict[str, Any]:
    """A sweep without its runs."""
    metric, goal = metric_spec(sweep.config)
    return {
        "id": sweep.sweep_id, "entity": sweep.entity, "project": sweep.project,
        "name": sweep.name or sweep.sweep_id, "state": sweep.state,
        "method": str(sweep.config.get("method", "")), "metric": metric, "goal": goal,
        "created_at": sweep.created_at, "updated_at": sweep.updated_at,
        "run_count": sweep.run_count, "owner_uid": sweep.owner_uid,
    }


def sweep_summary(sweep: SweepInfo, runs: Sequence[SweepRunInfo]) -> dict[str, Any]:
    """A sweep as the project's list of sweeps shows it: with its runs by state and its best
    run."""
    out = sweep_json(sweep)
    rows = [_run_row(r, sweep.config, ()) for r in runs]
    out["states"] = dict(Counter(r["state"] for r in rows))
    out["best"] = _best(sweep, runs, rows)
    return out


def distribution(config: Mapping[str, Any], name: str) -> str:
    """The distribution of the dotted parameter ``name`` in the configuration ("" when it has
    none, or no such parameter)."""
    node: Any = config
    for part in name.split("."):
        node = node.get("parameters") if isinstance(node, Mapping) else None
        node = node.get(part) if isinstance(node, Mapping) else None
    return str(node.get("distribution") or "") if isinstance(node, Mapping) else ""


def parcoords(rows: Sequence[Mapping[str, Any]], params: Sequence[str], metric: str,
              config: Mapping[str, Any]) -> dict[str, Any]:
    """Parallel-coordinates dimensions of the runs with a metric: one per parameter (numbers
    as they are, on a log axis for a log-scale distribution; anything else as a category, its
    values as tick labels), then the metric."""
    shown = [r for r in rows if r["metric"] is not None] if metric else list(rows)
    dimensions: list[dict[str, Any]] = []
    for p in params:
        values = [r["params"].get(p) for r in shown]
        present = [v for v in values if v is not None]
        if not present:
            continue
        if all(_finite(v) is not None for v in present):
            known = [float(v) for v in present]
            fill = min(known)  # a run without the parameter sits at the bottom of its axis
            dimensions.append({"label": p, "values": [fill if v is None else float(v)
                                                      for v in values],
                               "log": "log" in distribution(config, p) and fill > 0})
            continue
        labels = ["null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                  for v in values]
        ticks = sorted(set(labels))
        index = {label: i for i, label in enumerate(ticks)}
        dim: dict[str, Any] = {"label": p, "values": [index[label] for label in labels],
                               "categorical": True}
        if len(ticks) <= MAX_TICKS:
            dim.update(tickvals=list(range(len(ticks))), ticktext=ticks)
        dimensions.append(dim)
    if metric:
        dimensions.append({"label": metric, "values": [r["metric"] for r in shown],
                           "metric": True})
    return {"runs": [r["id"] for r in shown], "dimensions": dimensions}


def sweep_detail(sweep: SweepInfo, runs: Sequence[SweepRunInfo]) -> dict[str, Any]:
    """The sweep page's data: the sweep, its configuration (JSON and YAML), its runs in the
    order they were proposed (each with the best metric so far), the parameter columns, the
    best run and the parallel-coordinates dimensions."""
    out = sweep_json(sweep)
    out["config"] = jsonable(sweep.config)
    out["config_yaml"] = yaml.safe_dump(out["config"], sort_keys=False,
                                        default_flow_style=False, allow_unicode=True)
    kept = list(runs)[-MAX_PAGE_RUNS:]
    params = param_names(sweep.config, kept)
    rows = [_run_row(r, sweep.config, params) for r in kept]
    _best_so_far(rows, out["goal"])
    out.update(
        runs=rows, runs_left_out=len(runs) - len(kept), params=params,
        states=dict(Counter(r["state"] for r in rows)),
        stopped_early=sum(1 for r in rows if r["stopped_early"]),
        best=_best(sweep, kept, rows),
        parcoords=parcoords(rows, params, out["metric"], sweep.config))
    return out


def importance_input(config: Mapping[str, Any], runs: Sequence[SweepRunInfo]) -> tuple[
        list[dict[str, Any]], list[float]]:
    """The parameters (by dotted name) and metric of every run that has the metric, for
    ``sweeps.importance.parameter_importance``."""
    params = param_names(config, runs)
    rows: list[dict[str, Any]] = []
    metrics: list[float] = []
    for r in runs:
        value = _metric(config, r)
        if value is not None:
            rows.append({p: param_value(r.params, p) for p in params})
            metrics.append(value)
    return rows, metrics
