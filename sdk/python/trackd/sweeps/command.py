"""The command line of a sweep run: the sweep's ``command`` with W&B's macros filled in.

A ``command`` entry that is exactly one of these macros is replaced:

``${env}``
    ``/usr/bin/env`` (so that the interpreter is looked up in ``PATH``).
``${interpreter}``
    The agent's own Python (``sys.executable``; W&B writes ``python``, which may be another
    one than the agent's).
``${program}``
    The sweep's ``program``.
``${args}``
    One ``--name=value`` per parameter (a nested group's members as ``--group.name=value``).
``${args_no_hyphens}``
    The same, ``name=value``.
``${args_no_boolean_flags}``
    As ``${args}``, but a boolean parameter is ``--name`` when true and left out when false.
``${args_json}``
    One argument: the parameters as a JSON object (nested as ``run.config`` holds them).
``${args_json_file}``
    The path of a JSON file holding that object (``config-<run_id>.json``).

Values are written as Python prints them (``True``, ``None``, ``[1, 2]``), as W&B's agent
does. Any other entry is kept as it is. Without a ``command`` the sweep runs
``${env} ${interpreter} ${program} ${args}``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trackd.errors import UsageError
from trackd.sweeps._params import flat_items

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
ENV = "/usr/bin/env"
MACROS = ("${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}",
          "${args_no_boolean_flags}", "${args_json}", "${args_json_file}")


def _text(value: Any) -> str:
    return str(value)


def args(params: Mapping[str, Any]) -> list[str]:
    """``${args}``: ``--name=value`` per parameter."""
    return [f"--{name}={_text(v)}" for name, v in flat_items(params)]


def args_no_hyphens(params: Mapping[str, Any]) -> list[str]:
    """``${args_no_hyphens}``: ``name=value`` per parameter."""
    return [f"{name}={_text(v)}" for name, v in flat_items(params)]


def args_no_boolean_flags(params: Mapping[str, Any]) -> list[str]:
    """``${args_no_boolean_flags}``: booleans as bare flags (true) or nothing (false)."""
    out = []
    for name, v in flat_items(params):
        if isinstance(v, bool):
            if v:
                out.append(f"--{name}")
        else:
            out.append(f"--{name}={_text(v)}")
    return out


def args_json(params: Mapping[str, Any]) -> str:
    """``${args_json}``: the parameters as one JSON object."""
    return json.dumps(dict(params))


def render(command: Sequence[str] | None, program: str | None, params: Mapping[str, Any],
           json_file: Callable[[], str], interpreter: str | None = None) -> list[str]:
    """The argument list of one run. ``json_file`` writes the ``${args_json_file}`` file and
    returns its path (called only when the command uses it).

    :raises UsageError: the command needs ``${program}`` and the sweep has none, or is empty.
    """
    entries = list(command) if command else list(DEFAULT_COMMAND)
    if not all(isinstance(e, str) for e in entries):
        raise UsageError(f"a sweep's command must be a list of strings, got {command!r}")
    out: list[str] = []
    for entry in entries:
        if entry == "${env}":
            if sys.platform != "win32":
                out.append(ENV)
        elif entry == "${interpreter}":
            out.append(interpreter or sys.executable or "python")
        elif entry == "${program}":
            if not program:
                raise UsageError("the sweep's command uses ${program} but the sweep has no "
                                 "program: set `program` in its configuration")
            out.append(program)
        elif entry == "${args}":
            out += args(params)
        elif entry == "${args_no_hyphens}":
            out += args_no_hyphens(params)
        elif entry == "${args_no_boolean_flags}":
            out += args_no_boolean_flags(params)
        elif entry == "${args_json}":
            out.append(args_json(params))
        elif entry == "${args_json_file}":
            out.append(json_file())
        else:
            out.append(entry)
    if not out:
        raise UsageError("the sweep's command is empty")
    return out
