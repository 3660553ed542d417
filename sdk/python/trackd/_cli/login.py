"""``trackd login [--host H] [--relogin] [--verify] [KEY]`` and ``trackd logout``: the daemon
this user's runs go to over TCP and its token, stored owner-only (see ``trackd.login``)."""

from __future__ import annotations

import argparse
import sys

import trackd


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = commands.add_parser(
        "login", help="store the daemon to use over TCP and its token",
        description="Store the daemon later runs of this user go to (--host: its TCP listener, "
        "https://host:port, or http://host:port on loopback) and its token (KEY: the daemon's "
        "<state dir>/token file), in an owner-only file of your config directory. Without KEY "
        "the token is asked for, hidden, when one is needed. A daemon on this machine's own "
        "socket needs none.")
    p.add_argument("key", nargs="?", metavar="KEY", help="the daemon's token")
    p.add_argument("--host", metavar="H", help="the daemon's address (https://host:port)")
    p.add_argument("--relogin", action="store_true", help="ask for the token again")
    p.add_argument("--verify", action="store_true",
                   help="ask the daemon whether it takes the token (fails when it does not)")
    p.set_defaults(func=login)
    p = commands.add_parser("logout", help="forget the stored daemon and token",
                            description="Remove what \"trackd login\" stored.")
    p.set_defaults(func=logout)


def login(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd._init.login import login as do_login

    try:
        ok = do_login(key=args.key, host=args.host, relogin=args.relogin or None,
                      verify=args.verify)
    finally:
        trackd.teardown()
    if args.verify and ok:
        print("trackd: the daemon accepted the token", file=sys.stderr)
    return 0 if ok else 1


def logout(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd._init.login import logout as do_logout

    path = do_logout()
    print(f"trackd: removed {path}" if path else "trackd: not logged in (nothing stored)",
          file=sys.stderr)
    return 0
