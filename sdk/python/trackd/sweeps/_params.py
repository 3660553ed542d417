"""A proposed run's parameters on disk and in the environment, as W&B's agents leave them.

For each run an agent writes ``<dir>/sweep-<sweep_id>/config-<run_id>.yaml`` (every
parameter as ``{name: {value: v}}``, the format of a run's ``config.yaml``) and points
``WANDB_SWEEP_PARAM_PATH`` / ``TRACKD_SWEEP_PARAM_PATH`` at it; ``trackd.init()`` in the run
reads it back (:mod:`trackd._init.sweep_init`). ``${args_json_file}`` gets ``config-<run_id>.json``
beside it. Both prefixes of every variable are set: ``TRACKD_*`` wins over ``WANDB_*`` in
trackd's settings, so a stale ``TRACKD_*`` value in the agent's environment must not survive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

#: Both prefixes of the variables an agent sets for its runs.
PREFIXES = ("TRACKD_", "WANDB_")


def sweep_dir(root: str | os.PathLike[str], sweep_id: str) -> Path:
    """Where an agent keeps the parameter files of ``sweep_id``'s runs: ``<root>/wandb/
    sweep-<sweep_id>`` (``root``: the ``dir`` setting, else the working directory)."""
    return Path(os.path.abspath(root)) / "wandb" / f"sweep-{sweep_id}"


def write_yaml(directory: Path, run_id: str, params: Mapping[str, Any]) -> Path:
    """Write ``config-<run_id>.yaml`` (``{name: {value: v}}``) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"config-{run_id}.yaml"
    text = yaml.safe_dump({k: {"value": v} for k, v in params.items()}, sort_keys=False)
    _write(path, text)
    return path


def write_json(directory: Path, run_id: str, params: Mapping[str, Any]) -> Path:
    """Write ``config-<run_id>.json`` (the parameters as one JSON object) for
    ``${args_json_file}`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"config-{run_id}.json"
    _write(path, json.dumps(dict(params)))
    return path


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_env(sweep_id: str, run_id: str, param_path: Path, entity: str,
            project: str) -> dict[str, str]:
    """The environment of one run of an agent (both prefixes of each name)."""
    values = {"SWEEP_ID": sweep_id, "RUN_ID": run_id, "SWEEP_PARAM_PATH": str(param_path),
              "ENTITY": entity, "PROJECT": project}
    return {prefix + name: value for name, value in values.items() if value
            for prefix in PREFIXES}


def flat_items(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of every parameter; a nested group's members as ``group.name``."""
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flat_items(value, name + ".")
        else:
            yield name, value
