"""``trackd daemon run|start|stop|status``.

``status`` and ``stop`` talk to the daemon that ``TRACKD_ADDRESS`` names, else to the one on
this user's default socket, and never start one. ``start`` starts one on the default socket
with no idle timeout, so it keeps running until ``trackd daemon stop``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trackd._base.terminal import visible
from trackd._cli.output import print_table
from trackd._shared.processes import alive
from trackd.errors import DaemonUnavailableError, Error

ADDRESS_ENV = "TRACKD_ADDRESS"


def run(argv: list[str]) -> int:
    """``trackd daemon run``: the daemon in the foreground (its own argument parser)."""
    try:
        from trackd_daemon.cli import main as daemon_main
    except ImportError as exc:
        raise Error(f"the trackd daemon cannot be imported here ({exc})") from None
    return int(daemon_main(argv))


def start(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd._shared.paths import default_address
    from trackd._transport.daemon import reachable, start_daemon

    address = default_address(os.environ)
    explicit = os.environ.get(ADDRESS_ENV)
    if explicit and explicit != address:
        print(f"note: {ADDRESS_ENV}={explicit} is set: programs in this environment use that "
              "daemon, not this one", file=sys.stderr)
    if reachable(address):
        print(f"a trackd daemon is already running at {address}")
        return 0
    handle = start_daemon(args.timeout, idle_timeout=args.idle_timeout)
    if handle.pid is None:  # another process started one first
        print(f"a trackd daemon is already running at {handle.address}")
    else:
        print(f"started the trackd daemon (pid {handle.pid}) at {handle.address}")
    return 0


def stop(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: protobuf messages
    from trackd._transport.daemon import reachable
    from trackd.v1 import daemon_service_pb2 as pb

    try:
        address = _running_daemon()
    except DaemonUnavailableError as exc:
        print(f"{exc.message}: nothing to stop")
        return 0
    with _connected(address) as conn:
        info = conn.unary(conn.daemon.GetDaemonInfo, pb.GetDaemonInfoRequest(), timeout=10)
        conn.unary(conn.daemon.Shutdown, pb.ShutdownRequest(if_idle=False), timeout=10)
    deadline = time.monotonic() + args.timeout
    while reachable(address, timeout=0.5):
        if time.monotonic() > deadline:
            raise Error(f"the trackd daemon (pid {info.pid}) still answers at {address} after "
                        f"{args.timeout:g}s")
        time.sleep(0.05)
    # It no longer takes calls; wait for the drain to finish (the process to exit) so that a
    # daemon started right after this finds the lock free. Only a local daemon's pid means
    # anything here.
    if address.startswith("unix:"):
        while alive(int(info.pid)):
            if time.monotonic() > deadline:
                print(f"trackd: the daemon (pid {info.pid}) stopped serving but is still "
                      "draining", file=sys.stderr)
                break
            time.sleep(0.05)
    print(f"stopped the trackd daemon (pid {info.pid}) at {address}")
    if info.runs_in_flight:
        print(f"{info.runs_in_flight} run(s) were in flight: they stay 'running' and resume "
              "when their processes reconnect to a new daemon")
    return 0


def status(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: protobuf messages
    from trackd.v1 import daemon_service_pb2 as pb

    address = _running_daemon()
    with _connected(address) as conn:
        info = conn.unary(conn.daemon.GetDaemonInfo, pb.GetDaemonInfoRequest(), timeout=10)
    fields = [
        ("pid", str(info.pid)),
        ("version", info.version),
        ("address", address),
        ("listening on", ", ".join(info.addresses) or "-"),
        ("dashboard", info.dashboard_url or "off"),
        ("store", info.store_url or "-"),
        ("data root", info.root or "-"),
        ("log file", info.log_file or "-"),
        ("uptime", format_duration(info.uptime_seconds)),
        ("runs in flight", str(info.runs_in_flight)),
    ]
    width = max(len(name) for name, _ in fields) + 1
    for name, value in fields:  # what a daemon answers is printed escaped, as user data is
        print(f"{name + ':':<{width}} {visible(value)}")
    if info.queues:
        print("queues:")
        print_table(
            ["NAME", "USED", "CAPACITY", "WAITING"],
            [[q.name, str(q.used), str(q.capacity), str(q.waiting_senders)] for q in info.queues],
            right={1, 2, 3}, indent="  ",
        )
    return 0


def format_duration(seconds: float) -> str:
    """``3d 04h 05m 06s``, leaving out leading zero units (``42s``, ``5m 06s``)."""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m {s:02d}s"
    if hours:
        return f"{hours}h {minutes:02d}m {s:02d}s"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


def _running_daemon() -> str:
    """The address of the running daemon (never starts one).

    :raises DaemonUnavailableError: none answers.
    """
    # loaded by the commands that use it
    from trackd._transport.daemon import find_or_start

    return find_or_start(os.environ.get(ADDRESS_ENV), 0.0, start=False).address


@contextmanager
def _connected(address: str) -> Iterator[Any]:
    """This process's connection to ``address``, closed (with its thread) afterwards."""
    # loaded by the commands that use it: gRPC
    from trackd._transport.connection import drop_connection, get_connection

    try:
        yield get_connection(address)
    finally:
        drop_connection()
