"""A validated configuration's parameters as a flat list (nested groups included), and the
way between flat values and the nested dict ``run.config`` receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A value that a run's config cannot hold (a missing parameter).
_MISSING = object()


@dataclass(frozen=True)
class Param:
    #: Keys from the top of ``parameters`` down through nested groups.
    path: tuple[str, ...]
    #: The validated spec (``distribution`` and defaults filled in).
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def distribution(self) -> str:
        return self.spec["distribution"]


def params_of(config: dict[str, Any]) -> list[Param]:
    """Every parameter of the configuration, sorted by path (so that the order, and with it
    every seeded draw, does not depend on the order of keys in the stored configuration)."""
    found: list[Param] = []

    def walk(params: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for name in sorted(params):
            spec = params[name]
            if "parameters" in spec:
                walk(spec["parameters"], (*prefix, name))
            else:
                found.append(Param((*prefix, name), spec))

    walk(config.get("parameters") or {}, ())
    return found


def flatten_params(config: dict[str, Any]) -> list[str]:
    """The dotted names of every parameter (a nested group's as ``group.name``)."""
    return [p.name for p in params_of(config)]


def nest(values: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """``[(("a", "b"), 1), (("c",), 2)]`` → ``{"a": {"b": 1}, "c": 2}``."""
    out: dict[str, Any] = {}
    for path, value in values:
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


def value_at(params: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested parameters, or ``_MISSING``."""
    node: Any = params
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _unwrap(entry: Any) -> Any:
    # W&B's config files hold each top-level key as {"value": v} (with "desc" beside it at
    # times); a run's config may hold the plain value.
    if isinstance(entry, dict) and "value" in entry and set(entry) <= {"value", "desc"}:
        return entry["value"]
    return entry


def params_from_run_config(config: dict[str, Any],
                           run_config: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters of ``config`` as ``run_config`` holds them (top-level entries plain or
    as ``{"value": v}``), nested; None when one of them is missing."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for param in params_of(config):
        if param.path[0] not in run_config:
            return None
        value = value_at(_unwrap(run_config[param.path[0]]), param.path[1:])
        if is_missing(value):
            return None
        found.append((param.path, value))
    return nest(found)
