"""``trackd ui``: print (and open) the dashboard's URL, starting a daemon when none runs.

A daemon started here keeps running until ``trackd daemon stop`` (as ``trackd daemon start``
does), so the dashboard stays up after the command returns.
"""

from __future__ import annotations

import argparse
import os
import sys

from trackd.errors import Error

ADDRESS_ENV = "TRACKD_ADDRESS"


def _target(path: str | None, entity: str) -> list[str]:
    """Path segments of the page to open: ``[ENTITY/]PROJECT[/RUN_ID]`` or the projects."""
    if not path:
        return []
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) == 1:
        return [entity, parts[0]]
    if len(parts) == 2:
        return parts
    if len(parts) == 3:
        return [parts[0], parts[1], "runs", parts[2]]
    raise Error(f"{path!r}: expected [ENTITY/]PROJECT[/RUN_ID]")


def ui(args: argparse.Namespace) -> int:
    from trackd._connection import drop_connection, get_connection
    from trackd._daemon import find_or_start, reachable, start_daemon
    from trackd._dashboard import dashboard, link
    from trackd._init import default_entity
    from trackd._shared.paths import default_address

    explicit = os.environ.get(ADDRESS_ENV)
    address = explicit or default_address(os.environ)
    if reachable(address):
        handle = find_or_start(explicit, 0.0, start=False)
    elif explicit and explicit != default_address(os.environ):
        raise Error(f"no trackd daemon answers at {explicit} (from {ADDRESS_ENV})")
    else:
        handle = start_daemon(args.timeout, idle_timeout=0.0)
        if handle.pid is not None:
            print(f"started the trackd daemon (pid {handle.pid}) at {handle.address}",
                  file=sys.stderr)
    try:
        conn = get_connection(handle.address)
        if dashboard(conn) is None:
            raise Error(f"the trackd daemon at {handle.address} serves no dashboard (it was "
                        "started with TRACKD_UI=0, or see its log for why the dashboard could "
                        "not start)")
        entity = args.entity or os.environ.get("TRACKD_ENTITY") or os.environ.get(
            "WANDB_ENTITY") or default_entity()
        url = link(conn, *_target(args.path, entity))
    finally:
        drop_connection()
    assert url is not None
    print(url)
    if not args.no_browser:
        import webbrowser

        try:
            webbrowser.open(url)
        except webbrowser.Error:
            pass  # no browser here: the URL is printed
    return 0

