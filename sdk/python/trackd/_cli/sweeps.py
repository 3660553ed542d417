"""``trackd sweep`` and ``trackd agent``: create, list, show and steer sweeps; run an agent.

    trackd sweep CONFIG.yaml [--project P] [--entity E] [--name N]
    trackd sweep --stop | --cancel | --pause | --resume SWEEP_ID
    trackd sweep ls [[ENTITY/]PROJECT] [--json] [--limit N]
    trackd sweep show SWEEP_ID
    trackd agent SWEEP_ID [--count N] [--project P] [--entity E]

``--stop`` finishes the sweep (no new runs; runs in flight go on), ``--cancel`` also stops the
runs in flight. Like the other commands these start a daemon when none is running, and
``trackd.teardown()`` at the end has one they started stop once idle for its linger time
(``TRACKD_LINGER``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from collections import Counter

import yaml

from trackd._api.api import Api
from trackd._base.terminal import visible
from trackd._cli.output import add_list_options, limited, print_json_rows, print_table
from trackd._cli.session import sdk_session
from trackd._transport.sweep_client import STATE_NAMES, SweepClient, config_of, parse_path
from trackd.errors import UsageError

STATES = ("pending", "running", "finished", "failed", "crashed", "killed", "preempted")


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "sweep", help="create, list, show, pause, resume or stop sweeps",
        usage="trackd sweep CONFIG.yaml [--project P] [--entity E] [--name N]\n"
              "       trackd sweep --stop | --cancel | --pause | --resume SWEEP_ID\n"
              "       trackd sweep ls [[ENTITY/]PROJECT] [--entity E] [--json] [--limit N]\n"
              "       trackd sweep show SWEEP_ID",
        description="Create a hyperparameter sweep from a YAML configuration (W&B's sweep "
        "configuration) and print the command that runs an agent on it; or change a sweep's "
        "state (--stop: no new runs, runs in flight go on; --cancel: also stop the runs in "
        "flight; --pause; --resume); or list sweeps (ls) or show one (show). SWEEP_ID is ID, "
        "PROJECT/ID or ENTITY/PROJECT/ID.")
    p.add_argument("words", nargs="+", metavar="CONFIG.yaml|SWEEP_ID|ls|show")
    p.add_argument("--project", help="the sweep's project (instead of the configuration's)")
    p.add_argument("--entity", help="the sweep's entity (instead of the configuration's)")
    p.add_argument("--name", help="the sweep's name (instead of the configuration's)")
    add_list_options(p, default_limit=None)  # sweep ls only
    state = p.add_mutually_exclusive_group()
    for flag, what in (("stop", "finish the sweep: no new runs, runs in flight go on"),
                       ("cancel", "cancel the sweep: no new runs, runs in flight are stopped"),
                       ("pause", "pause the sweep: agents wait"),
                       ("resume", "resume a paused sweep")):
        state.add_argument(f"--{flag}", dest="action", action="store_const", const=flag,
                           help=what)
    p.set_defaults(func=sweep_command)

    p = commands.add_parser(
        "agent", help="run a sweep's runs",
        description="Run runs of a sweep, one at a time, until it gives no more (or --count "
        "runs): each is the sweep's program/command as a child process, with the run's "
        "parameters as arguments. Ctrl-C stops the run in flight (SIGTERM, then SIGKILL after "
        "$TRACKD_AGENT_KILL_DELAY seconds, default 30) and the agent.")
    p.add_argument("sweep_id", metavar="SWEEP_ID", help="ID, PROJECT/ID or ENTITY/PROJECT/ID")
    p.add_argument("--count", type=int, metavar="N", help="run at most N runs")
    p.add_argument("--project", help="the sweep's project (for a bare ID)")
    p.add_argument("--entity", help="the sweep's entity (for a bare ID)")
    p.set_defaults(func=agent_command)


def sweep_command(args: argparse.Namespace) -> int:
    words = list(args.words)
    if (args.json or args.limit is not None) and words[0] != "ls":
        raise UsageError("--json and --limit go with trackd sweep ls")
    if args.action:
        if len(words) != 1:
            raise UsageError(f"trackd sweep --{args.action} takes one SWEEP_ID")
        return _set_state(args.action, words[0], args)
    if words[0] == "ls":
        if len(words) > 2:
            raise UsageError("trackd sweep ls takes at most one [ENTITY/]PROJECT")
        return _ls(words[1] if len(words) == 2 else None, args)
    if words[0] == "show":
        if len(words) != 2:
            raise UsageError("trackd sweep show takes one SWEEP_ID")
        return _show(words[1], args)
    if len(words) != 1:
        raise UsageError("trackd sweep takes one CONFIG.yaml (or ls, show, --stop...)")
    return _create(words[0], args)


def _create(path: str, args: argparse.Namespace) -> int:
    # loaded by the commands that use it: PyYAML
    from trackd.sweeps.sweep import load_config, sweep

    print(f"trackd: Creating sweep from: {visible(path)}", file=sys.stderr)
    config = load_config(path)
    # What the command line says wins over the file.
    for key in ("name", "project", "entity"):
        if getattr(args, key):
            config[key] = getattr(args, key)
    with sdk_session():
        sweep(config)
    return 0


def _set_state(action: str, sweep_id: str, args: argparse.Namespace) -> int:
    with sdk_session():
        found = SweepClient().set_state(parse_path(sweep_id, args.entity, args.project), action)
    path = "/".join((found.ref.entity, found.ref.project, found.ref.sweep_id))
    print(visible(f"sweep {path} is {STATE_NAMES.get(found.state, 'unknown')}"))
    return 0


def _ls(where: str | None, args: argparse.Namespace) -> int:
    parts = [p for p in (where or "").split("/") if p]
    if len(parts) > 2:
        raise UsageError(f"invalid project path {where!r}: expected [ENTITY/]PROJECT")
    entity = args.entity
    if len(parts) == 2:
        entity, project = parts
    else:
        project = parts[0] if parts else ""
        entity = entity or (Api().default_entity if project else "")
    with sdk_session():
        found = limited(SweepClient().list(entity or "", project), args.limit)
    if args.json:
        print_json_rows([{"id": s.ref.sweep_id, "entity": s.ref.entity,
                          "project": s.ref.project, "name": s.name,
                          "state": STATE_NAMES.get(s.state, "unknown"),
                          "method": config_of(s).get("method"), "run_count": s.run_count,
                          "created_at": _when(s.created_at) if s.created_at else None}
                         for s in found])
        return 0
    if not found:
        print(f"no sweeps in {visible(where or 'any project')}", file=sys.stderr)
        return 0
    rows = []
    for s in found:
        config = config_of(s)
        rows.append([s.ref.sweep_id, s.name, STATE_NAMES.get(s.state, "unknown"),
                     str(config.get("method", "")), f"{s.ref.entity}/{s.ref.project}",
                     str(s.run_count), _when(s.created_at)])
    print_table(["ID", "NAME", "STATE", "METHOD", "PROJECT", "RUNS", "CREATED"], rows,
                right={5})
    return 0


def _show(sweep_id: str, args: argparse.Namespace) -> int:
    with sdk_session():
        found = SweepClient().get(parse_path(sweep_id, args.entity, args.project))
    config = config_of(found)
    metric = config.get("metric") or {}
    runs = list(found.runs)
    best = next((r for r in runs if r.run_id == found.best_run_id), None)
    counts = Counter(r.state for r in runs)
    fields = [
        ("sweep", "/".join((found.ref.entity, found.ref.project, found.ref.sweep_id))),
        ("name", found.name),
        ("state", STATE_NAMES.get(found.state, "unknown")),
        ("method", str(config.get("method", ""))),
        ("metric", f"{metric.get('name')} ({metric.get('goal', 'minimize')})"
         if metric.get("name") else ""),
        ("created", _when(found.created_at)),
        ("runs", str(found.run_count) + (f" of {found.grid_size} (grid)"
                                         if found.grid_size else "")),
        ("by state", ", ".join(f"{s} {counts[s]}" for s in STATES if counts[s])),
        ("best run", f"{best.run_id} ({metric.get('name')}={best.metric:g})"
         if best is not None and best.has_metric else ""),
    ]
    width = max(len(name) for name, _ in fields) + 1
    for name, value in fields:
        print(f"{name + ':':<{width}} {visible(value or '-')}")
    if runs:
        print("runs:")
        print_table(["RUN", "STATE", "METRIC", "STOPPED EARLY", "PARAMETERS"],
                    [[r.run_id, r.state, f"{r.metric:g}" if r.has_metric else "",
                      "yes" if r.stopped_early else "", r.params_json] for r in runs],
                    right={2}, indent="  ")
    print("config:")
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False).rstrip()
    for line in text.splitlines():
        print("  " + visible(line))
    return 0


def agent_command(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: PyYAML
    from trackd.sweeps._proposal import AgentInterrupted
    from trackd.sweeps.agent import Agent

    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    with sdk_session():
        try:
            Agent(args.sweep_id, None, args.entity, args.project, args.count).run()
        except AgentInterrupted:
            print("trackd: agent stopped", file=sys.stderr)
            return 130
    return 0


def _when(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"
