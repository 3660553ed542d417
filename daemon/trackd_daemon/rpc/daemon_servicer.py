"""DaemonService: information about the daemon, shutting it down, a new dashboard token, and
dashboard logins for the machine's users."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

import anyio.to_thread
import grpc

from trackd._shared.ui_auth import TOKEN_FILE, rotate_files
from trackd._version import __version__
from trackd.v1 import daemon_service_pb2 as pb
from trackd_daemon.actors.base import Actor
from trackd_daemon.actors.registry import RunRegistry
from trackd_daemon.config import DaemonConfig
from trackd_daemon.errors import FailedPreconditionError, PermissionDeniedError
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.store import display_url


class DaemonServicer:
    #: The web dashboard's base URL and the file holding its token ("" when it is off); set
    #: by the composition root once the dashboard serves. Only the daemon's user can read the
    #: token file, so giving its path to any caller gives the token to no one else.
    dashboard: tuple[str, str] = ("", "")
    #: The socket taking open files from other users (``rpc/handoff.py``; "" when the daemon's
    #: socket is not shared); set by the composition root once it listens.
    handoff_socket: str = ""
    #: Whether someone is using the dashboard: then a daemon is not idle (``if_idle``).
    dashboard_busy: Callable[[], bool] = staticmethod(lambda: False)
    #: Whether sweep agents are using the daemon (between runs, or waiting for one): then it
    #: is not idle either; set by the composition root.
    sweeps_busy: Callable[[], bool] = staticmethod(lambda: False)
    #: Replaces the serving dashboard's token, ending its sessions (how many it ended); set
    #: by the composition root once the dashboard serves.
    rotate_dashboard_token: Callable[[], Awaitable[int]] | None = None
    #: A dashboard login URL with a fresh ticket for a uid (None: full access); set by the
    #: composition root once the dashboard serves.
    dashboard_ticket: Callable[[int | None], str] | None = None
    #: Keeps the daemon up for this many seconds after its last client, then stops it (the
    #: heartbeat's idle timeout); set by the composition root.
    linger: Callable[[float], Awaitable[None]] | None = None

    def __init__(
        self,
        cfg: DaemonConfig,
        registry: RunRegistry,
        actors: list[Actor[object]],
        addresses: list[str],
        stop: Callable[[], None],
        guard: Guard,
    ) -> None:
        self._cfg = cfg
        self._registry = registry
        self._actors = actors
        self._addresses = addresses
        self._stop = stop
        self._guard = guard
        self._started = time.monotonic()

    async def GetDaemonInfo(
        self, request: pb.GetDaemonInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDaemonInfoResponse:
        stats = [a.statistics() for a in self._actors] + self._registry.session_stats()
        return pb.GetDaemonInfoResponse(
            version=__version__,
            pid=os.getpid(),
            store_url=display_url(self._cfg.store_url),  # never the database's password
            uptime_seconds=time.monotonic() - self._started,
            runs_in_flight=self._registry.runs_in_flight,
            addresses=self._addresses,
            queues=[
                pb.QueueStats(name=s.name, used=s.used, capacity=s.capacity,
                              waiting_senders=s.waiting_senders)
                for s in stats
            ],
            root=str(self._cfg.root),
            log_file=str(self._cfg.log_file),
            dashboard_url=self.dashboard[0],
            dashboard_token_file=self.dashboard[1],
            reads_caller_paths=self._guard.policy.trusted(self._guard.caller(context)),
            handoff_socket=self.handoff_socket,
        )

    def _require_admin(self, context: grpc.aio.ServicerContext, what: str) -> None:
        """:raises PermissionDeniedError: the caller is neither the daemon's user nor root."""
        caller = self._guard.caller(context)
        if not self._guard.policy.may_administer(caller):
            raise PermissionDeniedError(
                f"uid {caller.uid} may not {what}: only its own user "
                f"(uid {self._guard.policy.daemon_uid}) and root may", uid=str(caller.uid))

    async def RotateDashboardToken(
        self, request: pb.RotateDashboardTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateDashboardTokenResponse:
        self._require_admin(context, "rotate the daemon's dashboard token")
        token_file = self._cfg.state_dir / TOKEN_FILE
        try:
            if self.rotate_dashboard_token is not None:
                ended = await self.rotate_dashboard_token()
            else:  # no dashboard serves: its files alone hold the token and the sessions
                await anyio.to_thread.run_sync(rotate_files, self._cfg.state_dir)
                ended = 0
        except OSError as exc:
            raise FailedPreconditionError(
                f"cannot write the dashboard token file {token_file}: {exc}") from None
        return pb.RotateDashboardTokenResponse(dashboard_token_file=str(token_file),
                                               sessions_ended=ended)

    async def DashboardTicket(
        self, request: pb.DashboardTicketRequest, context: grpc.aio.ServicerContext
    ) -> pb.DashboardTicketResponse:
        if self.dashboard_ticket is None:
            raise FailedPreconditionError("this daemon serves no dashboard (TRACKD_UI=0, or it "
                                          "could not start: see the daemon's log)")
        caller = self._guard.caller(context)
        full = self._guard.policy.trusted(caller)
        url = self.dashboard_ticket(None if full else caller.uid)
        return pb.DashboardTicketResponse(url=url, full_access=full)

    async def Shutdown(
        self, request: pb.ShutdownRequest, context: grpc.aio.ServicerContext
    ) -> pb.ShutdownResponse:
        self._require_admin(context, "stop the daemon")
        busy = self._registry.runs_in_flight
        if request.if_idle and self._cfg.linger_seconds > 0 and self.linger is not None:
            # The links the caller printed keep opening: stop once idle that long instead.
            await self.linger(self._cfg.linger_seconds)
            return pb.ShutdownResponse(stopping=False, runs_in_flight=busy)
        if request.if_idle and (busy or self.dashboard_busy() or self.sweeps_busy()):
            return pb.ShutdownResponse(stopping=False, runs_in_flight=busy)
        self._stop()
        return pb.ShutdownResponse(stopping=True, runs_in_flight=busy)
