"""Files the daemon reads for a caller: may that caller read them?

The daemon may run as another user than its callers (a shared socket). It reads a path for a
caller only when the caller could read it itself: by the mode bits of the file and of every
directory on the way (search permission), for the caller's uid, gid and supplementary groups.
The daemon's own user and root are not checked (they read what the daemon reads anyway).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trackd_daemon.access import Caller, groups_of
from trackd_daemon.errors import PathUnreadableError


def _allowed(caller: Caller, groups: frozenset[int], st: os.stat_result, bits: int) -> bool:
    """``bits`` is a user-class mask (S_IRUSR or S_IXUSR); the group and other classes are
    the same bit shifted right by 3 and 6."""
    if st.st_uid == caller.uid:
        return bool(st.st_mode & bits)
    if st.st_gid == caller.gid or st.st_gid in groups:
        return bool(st.st_mode & (bits >> 3))
    return bool(st.st_mode & (bits >> 6))


class ReadCheck:
    """Checks paths for one caller (blocking: run in a worker thread); caches directories."""

    def __init__(self, caller: Caller, trusted: bool) -> None:
        self._caller = caller
        self._trusted = trusted
        self._groups = caller.groups if trusted or caller.groups else groups_of(caller.uid,
                                                                                caller.gid)
        self._dirs: dict[str, bool] = {}

    def _searchable(self, directory: Path) -> bool:
        key = str(directory)
        if key not in self._dirs:
            parent = directory.parent
            ok = parent == directory or self._searchable(parent)
            if ok:
                try:
                    ok = _allowed(self._caller, self._groups, os.stat(directory), stat.S_IXUSR)
                except OSError:
                    ok = False
            self._dirs[key] = ok
        return self._dirs[key]

    def stat(self, path: str, what: str) -> os.stat_result:
        """The stat of a regular file the caller may read (symlinks followed; the link's own
        directories and its target's must both be searchable).

        :raises PathUnreadableError: the caller may not read it.
        :raises FileNotFoundError: it does not exist.
        """
        st = os.stat(path)
        if self._trusted:
            return st
        real = os.path.realpath(path)
        if not (self._searchable(Path(path).parent) and self._searchable(Path(real).parent)
                and _allowed(self._caller, self._groups, st, stat.S_IRUSR)):
            raise PathUnreadableError(
                f"{what}: uid {self._caller.uid} may not read {path}; upload its bytes "
                "(ArtifactService.UploadFile) instead", path=path)
        return st

    def check_dir(self, path: str, what: str) -> None:
        """:raises PathUnreadableError: the caller may not list and search the directory."""
        if self._trusted:
            return
        st = os.stat(path)
        if not (self._searchable(Path(path).parent)
                and _allowed(self._caller, self._groups, st, stat.S_IRUSR)
                and _allowed(self._caller, self._groups, st, stat.S_IXUSR)):
            raise PathUnreadableError(f"{what}: uid {self._caller.uid} may not read {path}",
                                      path=path)
