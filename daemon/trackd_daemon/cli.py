"""``trackd daemon run`` (and ``python -m trackd_daemon``): run the daemon in the foreground."""

from __future__ import annotations

import argparse

from trackd_daemon.config import DaemonConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trackd daemon run", description=__doc__)
    parser.add_argument("--root", help="data root (default: $TRACKD_ROOT or ~/.local/share/trackd)")
    parser.add_argument("--store", dest="store_url", help="store URL (default: sqlite in the root)")
    parser.add_argument("--tcp", dest="tcp_address", help="also listen on this loopback host:port")
    parser.add_argument("--idle-timeout", type=float, dest="idle_timeout_seconds",
                        help="stop after this many idle seconds (0: never)")
    parser.add_argument("--crash-grace", type=float, dest="crash_grace_seconds",
                        help="seconds before a run whose client vanished is marked crashed")
    parser.add_argument("--ui-host", dest="ui_host",
                        help="serve the dashboard on this address (default 127.0.0.1; "
                        "another address makes it reachable from other machines)")
    parser.add_argument("--ui-port", type=int, dest="ui_port",
                        help="the dashboard's port, or a free one when taken (default: the "
                        "port it used last, first 8470 + uid %% 100 or the next free one)")
    parser.add_argument("--no-ui", dest="ui", action="store_const", const=False,
                        help="serve no dashboard")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from pathlib import Path

    from trackd_daemon.app import run  # the whole daemon: loaded once the arguments parse

    overrides = {k: v for k, v in vars(args).items() if k != "ready_fd" and v is not None}
    if "root" in overrides:
        overrides["root"] = Path(overrides["root"])
        if "store_url" not in overrides:
            overrides["store_url"] = f"sqlite:///{overrides['root'] / 'trackd.db'}"
    cfg = DaemonConfig.from_env(**overrides)
    return run(cfg, foreground=args.ready_fd is None, ready_fd=args.ready_fd)
