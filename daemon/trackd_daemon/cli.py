"""``trackd daemon run`` (and ``python -m trackd_daemon``): run the daemon in the foreground."""

from __future__ import annotations

import argparse

from trackd_daemon.config import DaemonConfig
from trackd_daemon.store import display_url

DESCRIPTION = """\
Run the trackd daemon in the foreground until Ctrl-C or SIGTERM (then it drains
and stops). Settings not given here come from the TRACKD_* environment
variables (see the settings reference)."""

EXAMPLES = """\
examples:
  trackd daemon run
  trackd daemon run --root /srv/trackd --tcp 127.0.0.1:8471
  trackd daemon run --store postgresql://trackd@db/trackd --ui-host 0.0.0.0"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackd daemon run", description=DESCRIPTION,
                                     epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", metavar="DIR",
                        help="data root (default: $TRACKD_ROOT or ~/.local/share/trackd)")
    parser.add_argument("--store", dest="store_url", metavar="URL",
                        help="store URL (default: sqlite in the root)")
    parser.add_argument("--tcp", dest="tcp_address", metavar="HOST:PORT",
                        help="also listen on this loopback host:port")
    parser.add_argument("--idle-timeout", type=float, dest="idle_timeout_seconds", metavar="S",
                        help="stop after this many idle seconds (0: never)")
    parser.add_argument("--crash-grace", type=float, dest="crash_grace_seconds", metavar="S",
                        help="seconds before a run whose client vanished is marked crashed")
    parser.add_argument("--ui-host", dest="ui_host", metavar="HOST",
                        help="serve the dashboard on this address (default 127.0.0.1; "
                        "another address makes it reachable from other machines)")
    parser.add_argument("--ui-port", type=int, dest="ui_port", metavar="PORT",
                        help="the dashboard's port, or a free one when taken (default: the "
                        "port it used last, first 8470 + uid %% 100 or the next free one)")
    parser.add_argument("--no-ui", dest="ui", action="store_const", const=False,
                        help="serve no dashboard")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.store_url and display_url(args.store_url) != args.store_url:
        # A command line is readable by every process of the machine (ps, /proc/PID/cmdline).
        parser.error("--store holds a password, which every process could read on the command "
                     "line: give the URL in TRACKD_STORE_URL (the service's environment file) or "
                     "the password in a PostgreSQL password file (PGPASSFILE)")
    from pathlib import Path

    from trackd_daemon.app import run

    overrides = {k: v for k, v in vars(args).items() if k != "ready_fd" and v is not None}
    if "root" in overrides:
        overrides["root"] = Path(overrides["root"])
        if "store_url" not in overrides:
            overrides["store_url"] = f"sqlite:///{overrides['root'] / 'trackd.db'}"
    cfg = DaemonConfig.from_env(**overrides)
    return run(cfg, foreground=args.ready_fd is None, ready_fd=args.ready_fd)
