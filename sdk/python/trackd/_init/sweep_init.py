"""``trackd.init()`` inside a sweep run: what the sweep agent set decides the run.

An agent sets, for each run it starts, ``TRACKD_SWEEP_ID``/``WANDB_SWEEP_ID``,
``..._RUN_ID``, ``..._SWEEP_PARAM_PATH`` (a YAML file of ``{name: {value: v}}``),
``..._PROJECT`` and ``..._ENTITY`` (``TRACKD_*`` wins, as everywhere). They are read when
``init()`` is called — not only when the process's settings were first made: a function agent
sets them in its own process between runs. As W&B does:

- the run gets the sweep's id (``run.sweep_id``; the daemon links the run to the sweep), the
  run id the agent was given, and the sweep's project and entity; ``project``, ``entity`` and
  ``id`` given to ``init()`` are ignored with a warning;
- ``run.config`` holds the parameters, locked by ``"sweep"``: a value ``init(config=...)``
  gave for one of them is replaced (with a warning), and a later
  ``run.config.update(...)`` of one is ignored with W&B's warning.

A sweep id given in the settings (``Settings(sweep_id=...)``) links the run the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackd._base import messages
from trackd._base.api_name import api_name
from trackd._base.terminal import visible
from trackd._settings import Settings
from trackd._shared.values import values_equal


@dataclass(frozen=True)
class SweepRun:
    """What the agent decided for this run (None where it said nothing)."""

    sweep_id: str
    param_path: str | None
    run_id: str | None
    project: str | None
    entity: str | None


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(f"TRACKD_{name}") or env.get(f"WANDB_{name}") or None


def sweep_run(settings: Settings, env: Mapping[str, str] | None = None) -> SweepRun | None:
    """The sweep this run belongs to, or None (see the module doc)."""
    env = os.environ if env is None else env
    sweep_id = _env(env, "SWEEP_ID") or settings.sweep_id
    if not sweep_id:
        return None
    from_env = _env(env, "SWEEP_ID") is not None
    return SweepRun(
        sweep_id=sweep_id,
        param_path=_env(env, "SWEEP_PARAM_PATH") or settings.sweep_param_path,
        # The agent's run id, project and entity only come with the agent's sweep id.
        run_id=_env(env, "RUN_ID") if from_env else None,
        project=_env(env, "PROJECT") if from_env else None,
        entity=_env(env, "ENTITY") if from_env else None,
    )


def apply(settings: Settings, sweep: SweepRun, given: Mapping[str, Any]) -> Settings:
    """``settings`` with the sweep's id, run id, project and entity; ``given`` holds what
    init() was given explicitly (``project``, ``entity``, ``run_id``): a value that the sweep
    overrides is ignored with W&B's warning."""
    decided = {"project": sweep.project, "entity": sweep.entity, "run_id": sweep.run_id}
    for field, arg in (("project", "project"), ("entity", "entity"), ("run_id", "id")):
        value = given.get(field)
        if value is not None and decided[field] and value != decided[field]:
            messages.warn(settings, visible(
                f"Ignored {api_name()}.init() arg {arg} when running a sweep."), stacklevel=4)
    changes: dict[str, Any] = {k: v for k, v in decided.items() if v}
    changes["sweep_id"] = sweep.sweep_id
    if sweep.param_path:
        changes["sweep_param_path"] = sweep.param_path
    return settings.merged(changes)


def parameters(settings: Settings, sweep: SweepRun) -> dict[str, Any]:
    """The run's parameters from the agent's file ({} without one; an unreadable file is
    said and gives none)."""
    if not sweep.param_path:
        return {}
    try:
        return read_yaml(sweep.param_path)
    except (OSError, ValueError) as exc:
        messages.warning(settings, visible(
            f"cannot read the sweep parameters of this run from {sweep.param_path!r}: {exc}"))
        return {}


def override_config(settings: Settings, config: dict[str, Any],
                    params: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (init's) without the keys the sweep decides; a different value given for
    one is said once (the sweep's value wins, locked)."""
    kept = dict(config)
    for key, value in params.items():
        if key in kept:
            if not values_equal(kept[key], value):
                messages.warn(settings, visible(
                    f"Config item '{key}' was locked by 'sweep' (ignored update)."),
                    stacklevel=4)
            del kept[key]
    return kept


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters of an agent's file (``{name: {value: v}}``, see
    :mod:`trackd.sweeps._params`) as ``{name: v}``; a key that is not ``{value: v}`` is taken
    as it is.

    :raises OSError: the file cannot be read.
    :raises ValueError: it is not YAML holding a mapping.
    """
    import yaml  # loaded by a sweep's run only (importing trackd stays light)

    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{os.fspath(path)!r} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{os.fspath(path)!r} does not hold a mapping")
    data.pop("wandb_version", None)
    data.pop("_wandb", None)
    return {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in data.items()}
