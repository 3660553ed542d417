"""Who is calling: the servicers' one question about the connection a request came on.

- A call relayed from the shared socket carries the peer credentials read at accept time
  (``peer_proxy.PeerTable``). A relayed peer missing from the table is refused, never guessed.
- A call on the daemon's private socket comes from the daemon's own user (or root): the socket
  and its directory are owner-only, so the kernel has already checked.
- A call on the TCP listener has passed the bearer-token check (``tcp_auth``) and acts as the
  daemon's own user.
"""

from __future__ import annotations

import os

import grpc

from trackd_daemon.access import AccessPolicy, Caller, Mode, identify
from trackd_daemon.errors import UnauthenticatedError
from trackd_daemon.rpc.peer_proxy import PeerTable
from trackd_daemon.store.models import RunInfo


class Guard:
    """Resolves callers and applies the access policy."""

    def __init__(self, policy: AccessPolicy, peers: PeerTable | None = None,
                 relay_prefix: str = "") -> None:
        self.policy = policy
        self._peers = peers
        self._relay_prefix = f"unix:{relay_prefix}" if relay_prefix else ""
        # At startup, before serving: the one lookup of the daemon's own name.
        self._owner = identify(os.getuid(), os.getgid(), os.getpid(), policy.needs_groups)

    def caller(self, context: grpc.aio.ServicerContext) -> Caller:
        """The caller of the request ``context`` belongs to.

        :raises UnauthenticatedError: a relayed connection whose credentials are gone.
        """
        if self._peers is None:
            return self._owner
        peer = context.peer()
        found = self._peers.lookup(peer)
        if found is not None:
            return found
        if self._relay_prefix and peer.startswith(self._relay_prefix):
            raise UnauthenticatedError("the connection's peer credentials are unknown; reconnect")
        return self._owner

    def require(self, context: grpc.aio.ServicerContext, run: RunInfo, mode: Mode) -> Caller:
        """The caller, once it is known to be allowed to ``mode`` the run.

        :raises PermissionDeniedError: it is not.
        """
        who = self.caller(context)
        self.policy.require(who, run, mode)
        return who

    def visible(self, context: grpc.aio.ServicerContext, runs: list[RunInfo]) -> list[RunInfo]:
        return self.policy.visible(self.caller(context), runs)
