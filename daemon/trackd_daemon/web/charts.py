"""Which charts a run page shows, and how they are grouped (pure).

One chart per chartable history key (see ``store/series.py``), grouped into sections by the text
before the key's last ``/`` (``train/loss`` is in section ``train``; ``loss`` in the unnamed
first section), as W&B's workspace does. Keys starting with ``_`` and metrics defined with
``hidden=True`` get no chart. A metric defined with a ``step_metric`` is drawn against it unless
the page picks another x axis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trackd_daemon.store.series import STEP

#: x axes every run has: the step, the time since the run started and the wall clock.
BUILTIN_X = (STEP, "_runtime", "_timestamp")


def _unescape(name: str) -> str:
    return name.replace("\\.", ".")


def definition(metrics: Sequence[Mapping[str, Any]], key: str) -> Mapping[str, Any] | None:
    """The define_metric definition governing ``key``: an exact name, else the longest glob
    (``val/*``) matching it; globs do not cover ``_`` keys (as in the history rules)."""
    for d in metrics:
        name = str(d.get("name", ""))
        if not name.endswith("*") and _unescape(name) == key:
            return d
    best: Mapping[str, Any] | None = None
    if not key.startswith("_"):
        for d in metrics:
            name = str(d.get("name", ""))
            if name.endswith("*") and key.startswith(_unescape(name[:-1])) and (
                    best is None or len(name) > len(str(best["name"]))):
                best = d
    return best


def section_of(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def layout(keys: Mapping[str, int], metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The run page's charts: ``sections`` (ordered, the unnamed one first), each with its
    ``charts`` (key, points, step_metric); ``hidden`` keys; and the ``x_axes`` offered."""
    sections: dict[str, list[dict[str, Any]]] = {}
    hidden: list[str] = []
    step_metrics: list[str] = []
    for key in sorted(keys):
        if key.startswith("_"):
            continue
        d = definition(metrics, key)
        if d is not None and d.get("hidden"):
            hidden.append(key)
            continue
        step_metric = str(d.get("step_metric") or "") if d is not None else ""
        if step_metric and step_metric not in step_metrics:
            step_metrics.append(step_metric)
        sections.setdefault(section_of(key), []).append(
            {"key": key, "points": keys[key], "step_metric": step_metric})
    for d in metrics:  # step metrics defined before any metric used them are axes too
        sm = str(d.get("step_metric") or "")
        if sm and sm not in step_metrics and sm in keys:
            step_metrics.append(sm)
    ordered = sorted(sections.items(), key=lambda kv: (kv[0] != "", kv[0].lower()))
    return {
        "sections": [{"name": name, "charts": charts} for name, charts in ordered],
        "hidden": hidden,
        "x_axes": [*BUILTIN_X, *sorted(step_metrics)],
    }


#: The section of the system-metrics charts (``system.*`` keys, W&B's names).
SYSTEM_SECTION = "System"
SYSTEM_PREFIX = "system."
#: Keys kept out of the System charts (still in the API): the per-CPU series (one chart per
#: core would bury the rest) and ``memory``, the older name of ``memory_percent``.
_SYSTEM_SKIP = re.compile(r"^system\.(cpu\.\d+\.cpu_percent|memory)(@.*)?$")


def is_system_key(key: str) -> bool:
    return key.startswith(SYSTEM_PREFIX)


def series_x(key: str, x_key: str) -> str:
    """The x axis ``key``'s series is drawn against when ``x_key`` is asked for: system keys
    have no step, so theirs is ``_runtime`` unless wall time is asked for."""
    if is_system_key(key):
        return "_timestamp" if x_key == "_timestamp" else "_runtime"
    return x_key


def system_section(keys: Mapping[str, int]) -> dict[str, Any] | None:
    """The System section of the run page: one chart per system-metric key (``key@writer``
    for another writer of a shared run), drawn against ``_runtime``."""
    charts = [{"key": k, "points": n, "step_metric": "_runtime"}
              for k, n in sorted(keys.items()) if not _SYSTEM_SKIP.match(k)]
    if not charts:
        return None
    return {"name": SYSTEM_SECTION, "system": True, "charts": charts}
