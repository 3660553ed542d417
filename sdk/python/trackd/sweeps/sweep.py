"""``trackd.sweep()``: store a sweep in the daemon and return its id.

The configuration is W&B's (``method``, ``metric``, ``parameters``, ``early_terminate``,
``run_cap``, ``program``, ``command``...), given as a dict, a callable returning one, or the
path of a YAML file (what ``trackd sweep CONFIG.yaml`` passes). The daemon validates it and
refuses it with every violation named (:class:`trackd.errors.SweepConfigError`).

The sweep's project is, as in W&B, the configuration's ``project``, else the ``project``
argument, else the project a run started here would get (the ``project`` setting, e.g.
``WANDB_PROJECT``, else the git repository's name, else ``uncategorized``); the entity
likewise.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from trackd._base import messages
from trackd._base.names import default_entity, default_project
from trackd._base.names import validate_name as _validate_name
from trackd._base.terminal import visible
from trackd._transport.dashboard import link
from trackd._transport.setup import state
from trackd._transport.sweep_client import SweepClient, SweepPath, path_of
from trackd.errors import SweepConfigError, UsageError

SweepSpec = Mapping[str, Any] | Callable[[], Mapping[str, Any]] | str | os.PathLike[str]


def sweep(sweep: SweepSpec, entity: str | None = None, project: str | None = None,
          prior_runs: Sequence[str] | None = None) -> str:
    """Store a sweep and return its id (W&B's ``wandb.sweep``); see the module doc.

    ``prior_runs``: ids of existing runs of the sweep's project whose parameters and metric
    count for its search.

    :raises trackd.errors.SweepConfigError: the configuration is invalid (every violation
        is listed in the message and in ``violations``).
    """
    config = load_config(sweep)
    entity, project = where(config, entity, project)
    runs = _prior_runs(prior_runs)
    path = path_of(SweepClient().create(entity, project, config, runs))
    announce(path)
    return path.sweep_id


def announce(path: SweepPath) -> None:
    """Say what was created, where to see it and how to run an agent on it."""
    settings = state().settings
    messages.info(settings, visible(f"Created sweep with ID: {path.sweep_id}"))
    page = url(path)
    if page:
        messages.info(settings, visible(f"View sweep at: {page}"))
    messages.info(settings, visible(f"Run sweep agent with: trackd agent {path}"))


def url(path: SweepPath) -> str | None:
    """The sweep's page in the daemon's dashboard (None when it serves none)."""
    return link(SweepClient.connection(), path.entity, path.project, "sweeps", path.sweep_id)


def load_config(spec: SweepSpec) -> dict[str, Any]:
    """The configuration as a JSON-ready dict.

    :raises SweepConfigError: it is not a mapping (or the callable returned none), holds
        values JSON cannot carry, or the YAML file cannot be read.
    """
    source = "the sweep configuration"
    if isinstance(spec, (str, os.PathLike)):
        source = f"sweep configuration file {os.fspath(spec)!r}"
        try:
            data = yaml.safe_load(Path(spec).read_text())
        except OSError as exc:
            raise invalid([f"{source}: cannot read it ({exc.strerror or exc})"]) from None
        except yaml.YAMLError as exc:
            raise invalid([f"{source}: not valid YAML ({exc})"]) from None
    elif callable(spec):
        data = spec()
        source = "the sweep configuration the callable returned"
    else:
        data = spec
    if not isinstance(data, Mapping):
        raise invalid([f"{source} must be a mapping (a dict), got {type(data).__name__}"])
    problems: list[str] = []
    plain = _plain(dict(data), "", problems)
    if problems:
        raise invalid(problems)
    return plain


def _plain(value: Any, where: str, problems: list[str]) -> Any:
    """``value`` with only what JSON carries (dict keys as strings); problems are added."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}" if where else str(k), problems)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{where}: {value!r} is not a finite number")
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    problems.append(f"{where}: {type(value).__name__} values are not allowed ({value!r})")
    return None


def invalid(violations: list[str]) -> SweepConfigError:
    """A :class:`SweepConfigError` found before the daemon was asked."""
    lines = "\n".join(f"  - {v}" for v in violations)
    return SweepConfigError(f"Invalid sweep configuration:\n{lines}",
                            reason="SWEEP_CONFIG_INVALID", code="INVALID_ARGUMENT",
                            metadata={"violations": json.dumps(violations)})


def where(config: Mapping[str, Any], entity: str | None,
          project: str | None) -> tuple[str, str]:
    """The sweep's entity and project (see the module doc).

    :raises UsageError: an invalid name.
    """
    settings = state().settings
    chosen_project = config.get("project") or project or settings.project or default_project(
        _program())
    chosen_entity = config.get("entity") or entity or settings.entity or default_entity()
    if not isinstance(chosen_project, str) or not isinstance(chosen_entity, str):
        raise UsageError("a sweep's project and entity must be strings")
    return _validate_name("entity", chosen_entity), _validate_name("project", chosen_project)


def _program() -> str | None:
    main = sys.modules.get("__main__")
    return getattr(main, "__file__", None) if main is not None else None


def _prior_runs(prior_runs: Sequence[str] | None) -> list[str]:
    if prior_runs is None:
        return []
    if isinstance(prior_runs, str) or not all(isinstance(r, str) for r in prior_runs):
        raise UsageError("prior_runs must be a list of run ids")
    return list(prior_runs)
