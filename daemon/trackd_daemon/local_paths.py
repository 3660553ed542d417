"""Files the daemon opens by path: only for its own user and root.

A caller may name a local file instead of sending its bytes (a saved run file, an artifact
entry, a ``file://`` reference). The daemon opens such a path only when the caller is the
daemon's own user or root, who can read whatever the daemon can read anyway: for them, nothing
crosses a boundary between users.

Anyone else's paths are refused before the daemon touches them (not even a ``stat``), and the
client gives the file itself instead: open, over the hand-over socket (``rpc/handoff.py``:
the daemon reads what the client opened, so only what the client could read), or its bytes
(``ArtifactService.UploadFile``). ``GetDaemonInfo`` tells a client in advance
(``reads_caller_paths``, ``handoff_socket``). Checking whether another user may read a path and then
opening it by name cannot be made safe: between the check and the open, the caller can swap a
symlink (or a directory on the way) from a file of their own to one that only the daemon may
read, and the daemon would copy that file into a run the caller reads back. The same holds for
paths read later on the caller's behalf (a live file's next version, end files at finish, an
artifact version resumed by a restarted daemon): they are read only for the same two users.
"""

from __future__ import annotations

import os

from trackd_daemon.access import ROOT_UID, Caller
from trackd_daemon.errors import PathUnreadableError


class LocalPaths:
    """The stat of a path a caller names, for a caller whose paths the daemon opens (blocking:
    run in a worker thread)."""

    def __init__(self, caller: Caller, trusted: bool) -> None:
        self._caller = caller
        self._trusted = trusted

    @property
    def opens_paths(self) -> bool:
        """Whether the daemon opens this caller's paths at all."""
        return self._trusted

    def require(self, path: str, what: str) -> None:
        """:raises PathUnreadableError: the daemon does not open paths for this caller."""
        if not self._trusted:
            raise refused(self._caller.uid, path, what)

    def stat(self, path: str, what: str) -> os.stat_result:
        """The stat of ``path`` (symlinks followed).

        :raises PathUnreadableError: the daemon does not open paths for this caller.
        :raises FileNotFoundError: there is no such file.
        """
        self.require(path, what)
        return os.stat(path)


def trusted_uid(uid: int) -> bool:
    """Whether ``uid`` is the daemon's own user or root (for paths read later on a recorded
    user's behalf, when no caller is at hand)."""
    return uid in (ROOT_UID, os.getuid())


def refused(uid: int, path: str, what: str) -> PathUnreadableError:
    """The error for a path of a caller whose paths the daemon does not open."""
    return PathUnreadableError(
        f"{what}: {path} is not opened: the daemon opens files by path only for its own user "
        f"and root, not for uid {uid}; hand the file over open (GetDaemonInfo.handoff_socket)"
        " or send its bytes (ArtifactService.UploadFile)",
        path=path)
