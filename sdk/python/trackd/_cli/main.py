"""The ``trackd`` console script: argument parsing and error handling.

Exit status: 0 on success, 1 when a command fails (the message goes to stderr as
``trackd: <message>``), 2 for usage errors (argparse), 130 after Ctrl-C.

Nothing here imports grpc or the daemon: each command imports what it needs when it runs.
Error messages are escaped for the terminal like everything else printed: they often quote
user data (a run path, a key, a file name), sometimes as the daemon wrote it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import trackd
from trackd._base.terminal import visible
from trackd._cli import artifacts, compat, daemon, help_text, login, run_edits, runs, sweeps, ui
from trackd._cli.output import add_list_options, print_json_rows, print_table
from trackd._settings import explain, setting_layers
from trackd._version import __version__
from trackd.errors import Error

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The full command tree (``trackd daemon run`` is delegated before parsing)."""
    parser = argparse.ArgumentParser(
        prog="trackd", description="Self-hosted experiment tracking: the daemon and your runs.",
    )
    parser.add_argument("--version", action="version", version=f"trackd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    d = commands.add_parser("daemon", help="run, start, stop or inspect the daemon",
                            description="Run, start, stop or inspect this user's daemon.")
    actions = d.add_subparsers(dest="action", metavar="ACTION", required=True)
    # Only listed here for the help text: main() hands "daemon run ..." to the daemon's own CLI.
    actions.add_parser("run", add_help=False,
                       help="run the daemon in the foreground (trackd daemon run --help)")
    p = actions.add_parser("start", help="start a detached daemon unless one is running",
                           description="Start a detached daemon on the default socket unless one "
                           "answers there already. It keeps running until \"trackd daemon stop\" "
                           "(or until --idle-timeout seconds without runs or clients).")
    p.add_argument("--idle-timeout", type=float, default=0.0, metavar="S",
                   help="stop after S idle seconds (default 0: never)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for it to serve (default 30)")
    p.set_defaults(func=daemon.start)
    p = actions.add_parser("stop", help="stop the running daemon",
                           description="Ask the running daemon to drain and stop, and wait "
                           "until it does. Runs still in flight resume when a daemon starts again.")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for it to stop (default 30)")
    p.set_defaults(func=daemon.stop)
    p = actions.add_parser("status", help="show the running daemon's state",
                           description="Show the running daemon's state (exit status 1 when "
                           "none is running). Never starts a daemon.")
    p.set_defaults(func=daemon.status)

    r = commands.add_parser("runs", help="list, read and edit stored runs",
                            description="List, read and edit stored runs.")
    actions = r.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("ls", help="list runs, newest first",
                           description="List runs, newest first: those of ENTITY/PROJECT, of "
                           "PROJECT (default entity), or without a path every run of the entity.")
    p.add_argument("path", nargs="?", metavar="[ENTITY/]PROJECT")
    p.add_argument("--entity", help="entity for a path without one (default: $TRACKD_ENTITY or "
                   "your user name)")
    add_list_options(p, default_limit=None)
    p.set_defaults(func=runs.ls)
    p = actions.add_parser("show", help="show one run",
                           description="Show one run: its metadata, config, summary and metrics.")
    p.add_argument("path", metavar="[[ENTITY/]PROJECT/]RUN_ID")
    p.set_defaults(func=runs.show)
    p = actions.add_parser("stop", help="ask a running run to stop (it ends killed)",
                           description="Ask a running run to stop: its training process is "
                           "interrupted as by Ctrl-C, and the run ends killed.")
    p.add_argument("path", metavar="[[ENTITY/]PROJECT/]RUN_ID")
    p.set_defaults(func=runs.stop)
    p = actions.add_parser("history", help="print a run's history rows",
                           description="Print a run's history rows in step order.")
    p.add_argument("path", metavar="[[ENTITY/]PROJECT/]RUN_ID")
    p.add_argument("--keys", nargs="+", action="extend", default=[], metavar="KEY",
                   help="only rows having all these keys, with only these columns "
                   "(also comma-separated)")
    p.add_argument("--format", choices=("table", "csv", "jsonl"), default="table",
                   help="output format (default: table)")
    p.add_argument("--min-step", type=int, metavar="N", help="first step (inclusive)")
    p.add_argument("--max-step", type=int, metavar="N", help="last step (exclusive)")
    p.set_defaults(func=runs.history)
    run_edits.add_commands(actions)

    artifacts.add_commands(commands)
    login.add_commands(commands)
    compat.add_commands(commands)
    sweeps.add_commands(commands)
    p = commands.add_parser("ui", help="log a browser in to the dashboard",
                            description="Print a URL that logs a browser in to the daemon's web "
                            "dashboard (it carries a one-time ticket, valid for 15 minutes) and "
                            "open it in a browser. Starts a daemon when none is running; that "
                            "one runs until \"trackd daemon stop\".")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="open this project (PROJECT) or run (PROJECT/RUN_ID or "
                   "ENTITY/PROJECT/RUN_ID) instead of the projects list")
    p.add_argument("--entity", help="entity for a path without one (default: $TRACKD_ENTITY "
                   "or your user name)")
    p.add_argument("--no-browser", action="store_true", help="only print the URL")
    p.add_argument("--rotate-token", action="store_true",
                   help="first replace the dashboard's token: every browser logged in before, "
                   "every login link and the old token are refused from then on")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for a daemon to start (default 30)")
    p.set_defaults(func=ui.ui)
    p = commands.add_parser("sync", help="upload offline run directories to the daemon",
                            description="Send runs recorded offline (mode='offline') to the "
                            "daemon.")
    p.add_argument("paths", nargs="+", metavar="RUN_DIR")
    p.set_defaults(func=_sync)
    a = commands.add_parser("alerts", help="list alerts raised by runs",
                            description="List alerts raised with run.alert().")
    acts = a.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = acts.add_parser("ls", help="list alerts, newest first",
                        description="List alerts, newest first, of [ENTITY/]PROJECT[/RUN_ID] "
                        "(default: every project of your entity).")
    p.add_argument("path", nargs="?", metavar="[ENTITY/]PROJECT[/RUN_ID]")
    add_list_options(p, default_limit=100)
    p.set_defaults(func=_alerts)
    p = commands.add_parser("settings", help="show the effective settings and their sources",
                            description="Show the settings a trackd.init() here would start "
                            "from (defaults < settings files < WANDB_* < TRACKD_* environment), "
                            "and where each value came from.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_settings)
    return help_text.finish(parser)


def _alerts(args: argparse.Namespace) -> int:
    import time

    try:
        found = trackd.Api().alerts(args.path, limit=args.limit)
    finally:
        trackd.teardown()
    if args.json:
        print_json_rows(found)
        return 0
    if not found:
        print("no alerts", file=sys.stderr)
        return 0

    def when(ts: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"

    # print_table escapes the cells: a multi-line alert text shows its line breaks as \n.
    print_table(["TIME", "LEVEL", "RUN", "TITLE", "TEXT", "STATUS"],
                [[when(a["timestamp"]), a["level"], a["run"], a["title"], a["text"],
                  "suppressed" if a["suppressed"] else
                  ("delivered " + when(a["delivered_at"])) if a["delivered_at"] else "stored"]
                 for a in found])
    return 0


def _settings(args: argparse.Namespace) -> int:
    import json

    # A token is not printed: only that one is set, and where it came from.
    rows = [(name, "(set, hidden)" if name == "api_key" and value else value, source)
            for name, value, source in explain(setting_layers())]
    if args.json:
        print(json.dumps({name: {"value": value, "source": source}
                          for name, value, source in rows}, indent=2, default=str))
    else:
        print_table(["SETTING", "VALUE", "SOURCE"],
                    [[name, "-" if value is None else str(value), source]
                     for name, value, source in rows])
    return 0


def _sync(args: argparse.Namespace) -> int:
    try:
        # loaded by the commands that use it
        from trackd._init.sync import sync_dirs
    except ModuleNotFoundError as exc:
        if exc.name != "trackd._init.sync":
            raise
        raise Error("sync is not available in this version of trackd") from None

    try:
        return int(sync_dirs(list(args.paths)))
    finally:
        trackd.teardown()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:2] == ["daemon", "run"]:
            return daemon.run(args_list[2:])
        args = build_parser().parse_args(args_list)
        return int(args.func(args) or 0)
    except Error as exc:
        print(f"trackd: {visible(exc.message or str(exc), multiline=True)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``trackd runs history ... | head``): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
