"""``trackd ui``: print (and open) a URL that logs a browser in to the dashboard, starting a
daemon when none runs; ``--rotate-token`` first replaces the dashboard's token.

The URL carries a single-use ticket valid for 15 minutes (``trackd._shared.ui_auth``), never
the token. A daemon started here keeps running until ``trackd daemon stop`` (as ``trackd daemon
start`` does), so the dashboard stays up after the command returns.
"""

from __future__ import annotations

import argparse
import os
import sys

from trackd._base.names import default_entity
from trackd._shared.ui_auth import rotate_files
from trackd._transport.dashboard import _cache, dashboard, link
from trackd.errors import CommError, Error

ADDRESS_ENV = "TRACKD_ADDRESS"


def _target(path: str | None, entity: str) -> list[str]:
    """Path segments of the page to open: ``PROJECT``, ``PROJECT/RUN_ID`` (the entity given),
    ``ENTITY/PROJECT/RUN_ID``, or the projects when no path is given."""
    if not path:
        return []
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) == 1:
        return [entity, parts[0]]
    if len(parts) == 2:
        return [entity, parts[0], "runs", parts[1]]
    if len(parts) == 3:
        return [parts[0], parts[1], "runs", parts[2]]
    raise Error(f"{path!r}: expected PROJECT, PROJECT/RUN_ID or ENTITY/PROJECT/RUN_ID")


def _rotate(conn: object) -> None:
    """Ask a running daemon for a new dashboard token.

    :raises Error: the daemon refused (another user's daemon) or could not write it.
    """
    # loaded by the commands that use it: protobuf messages
    from trackd.v1 import daemon_service_pb2 as pb

    try:
        done = conn.unary(conn.daemon.RotateDashboardToken,  # type: ignore[attr-defined]
                          pb.RotateDashboardTokenRequest(), timeout=30)
    except CommError as exc:
        raise Error(f"the dashboard token was not rotated: {exc}") from None
    print(f"rotated the dashboard token ({done.dashboard_token_file}); "
          f"{done.sessions_ended} browser session(s) ended", file=sys.stderr)


def ui(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: gRPC
    from trackd._shared.paths import default_address, default_paths
    from trackd._transport.connection import drop_connection, get_connection
    from trackd._transport.daemon import find_or_start, reachable, start_daemon

    explicit = os.environ.get(ADDRESS_ENV)
    address = explicit or default_address(os.environ)
    running = reachable(address)
    if running:
        handle = find_or_start(explicit, 0.0, start=False)
    elif explicit and explicit != default_address(os.environ):
        raise Error(f"no trackd daemon answers at {explicit} (from {ADDRESS_ENV})")
    else:
        if args.rotate_token:  # no daemon runs: its files are all there is to change
            state_dir = default_paths(os.environ)[1]
            try:
                rotate_files(state_dir)
            except OSError as exc:
                raise Error(f"the dashboard token was not rotated: {exc}") from None
            print(f"rotated the dashboard token ({state_dir}/ui-token); the daemon was not "
                  "running", file=sys.stderr)
        handle = start_daemon(args.timeout, idle_timeout=0.0)
        if handle.pid is not None:
            print(f"started the trackd daemon (pid {handle.pid}) at {handle.address}",
                  file=sys.stderr)
    try:
        conn = get_connection(handle.address)
        if running and args.rotate_token:
            _rotate(conn)
        _cache.clear()  # the token may be new
        if dashboard(conn) is None:
            raise Error(f"the trackd daemon at {handle.address} serves no dashboard (it was "
                        "started with TRACKD_UI=0, or see its log for why the dashboard could "
                        "not start)")
        entity = args.entity or os.environ.get("TRACKD_ENTITY") or os.environ.get(
            "WANDB_ENTITY") or default_entity()
        url = link(conn, *_target(args.path, entity), login=True)
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

