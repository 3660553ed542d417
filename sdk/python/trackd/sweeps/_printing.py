"""What a controller prints (``print_status``, ``print_space``, ``print_summary``,
``print_debug``): plain lines on stdout, user data escaped for the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from trackd._base.terminal import visible
from trackd.sweeps._sweep_run import SweepRun

ORDER = ("pending", "running", "finished", "failed", "crashed", "killed", "preempted")


def by_state(runs: Sequence[SweepRun]) -> str:
    """``Running: 1, Finished: 4`` (states with runs, in a fixed order)."""
    counts = Counter(r.state for r in runs)
    states = [s for s in ORDER if counts[s]] + sorted(s for s in counts if s not in ORDER)
    return ", ".join(f"{s.capitalize()}: {counts[s]}" for s in states) or "none"


def status(sweep_id: str, state: str, config: Mapping[str, Any],
           runs: Sequence[SweepRun]) -> str:
    """One line: the sweep, its method and state, and its runs by state."""
    method = config.get("method", "?")
    return visible(f"Sweep: {sweep_id} ({method}, {state}) | Runs: {len(runs)} "
                   f"({by_state(runs)})")


def best(config: Mapping[str, Any], runs: Sequence[SweepRun]) -> SweepRun | None:
    """The finished run with the best metric (None without one)."""
    metric = config.get("metric") or {}
    maximize = metric.get("goal") == "maximize"
    scored = [r for r in runs if r.metric is not None and r.state == "finished"]
    if not scored:
        return None
    return (max if maximize else min)(scored, key=lambda r: r.metric)


def summary(sweep_id: str, state: str, config: Mapping[str, Any],
            runs: Sequence[SweepRun]) -> str:
    """The sweep's state, its runs by state and its best run so far."""
    lines = [status(sweep_id, state, config, runs)]
    metric = (config.get("metric") or {}).get("name")
    top = best(config, runs)
    if metric and top is not None:
        lines.append(visible(f"Best run: {top.name} ({metric}={top.metric:g}) with "
                             f"{_params(top)}"))
    elif metric:
        lines.append(visible(f"Best run: none has {metric} yet"))
    return "\n".join(lines)


def space(config: Mapping[str, Any]) -> str:
    """The parameter space: one line per parameter (nested groups indented)."""
    lines = [visible(f"Sweep space ({config.get('method', '?')}):")]
    _space_lines(config.get("parameters") or {}, "  ", lines)
    return "\n".join(lines)


def _space_lines(params: Mapping[str, Any], indent: str, lines: list[str]) -> None:
    for name, spec in params.items():
        if isinstance(spec, Mapping) and "parameters" in spec:
            lines.append(visible(f"{indent}{name}:"))
            _space_lines(spec["parameters"] or {}, indent + "  ", lines)
            continue
        spec = spec if isinstance(spec, Mapping) else {"value": spec}
        kind = spec.get("distribution") or (
            "constant" if "value" in spec else "categorical" if "values" in spec else "range")
        rest = ", ".join(f"{k}={v!r}" for k, v in spec.items() if k != "distribution")
        lines.append(visible(f"{indent}{name}: {kind} ({rest})"))


def debug(runs: Sequence[SweepRun]) -> str:
    """Every run: id, state, metric, stopped early, parameters."""
    lines = [f"Runs ({len(runs)}):"]
    for r in runs:
        metric = "-" if r.metric is None else f"{r.metric:g}"
        flag = " stopped early" if r.stopped else ""
        lines.append(visible(f"  {r.name} {r.state} metric={metric}{flag} {_params(r)}"))
    return "\n".join(lines)


def _params(run: SweepRun) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in run.params.items())
