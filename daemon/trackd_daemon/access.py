"""Who may read and write what.

Every request has a :class:`Caller`: the uid, gid and pid the kernel reports for the Unix
socket connection it came on (``SO_PEERCRED``, see ``rpc/peer_proxy.py``), or the daemon's own
user for its private socket and for TCP requests holding the daemon's bearer token.

A run belongs to the uid that created it. Its owner may read and write it; so may the daemon's
own user and root (they can read the store's files anyway). Anyone else needs a grant from the
team policy, a TOML file (``$TRACKD_POLICY``, default ``<state dir>/policy.toml``)::

    [[grant]]
    projects = ["vision/*", "shared-*"]   # fnmatch patterns on "entity/project" or "project"
    users = ["alice", 1002]               # user names or uids
    groups = ["ml-team"]                  # group names or gids (primary or supplementary)
    access = "read"                       # or "write" (which includes read)

A run made before runs had owners (owner -1) is visible to the daemon's user and root only.
"""

from __future__ import annotations

import fnmatch
import grp
import os
import pwd
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from trackd_daemon.errors import PermissionDeniedError
from trackd_daemon.store.models import RunInfo

Mode = Literal["read", "write"]
ROOT_UID = 0


class Owned(Protocol):
    """What the policy decides on: a run, or an artifact collection, version or link. Its
    ``key`` has ``entity`` and ``project``."""

    @property
    def key(self) -> Any: ...

    @property
    def owner_uid(self) -> int: ...


@dataclass(frozen=True)
class Caller:
    """The user behind a request."""

    uid: int
    gid: int = -1
    pid: int = 0
    #: Supplementary groups (from the user database; empty when the uid has no entry).
    groups: frozenset[int] = frozenset()

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


def groups_of(uid: int, gid: int) -> frozenset[int]:
    """The supplementary groups of ``uid`` (blocking: it may ask NSS; call from a thread)."""
    try:
        name = pwd.getpwuid(uid).pw_name
        return frozenset(os.getgrouplist(name, gid))
    except (KeyError, OSError):
        return frozenset()


@dataclass(frozen=True)
class Grant:
    """One ``[[grant]]`` of the policy."""

    projects: tuple[str, ...]
    uids: frozenset[int] = frozenset()
    gids: frozenset[int] = frozenset()
    access: Mode = "read"

    def covers(self, caller: Caller, run: Owned) -> bool:
        if caller.uid not in self.uids and not any(caller.in_group(g) for g in self.gids):
            return False
        full = f"{run.key.entity}/{run.key.project}"
        return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(run.key.project, p)
                   for p in self.projects)


class PolicyError(ValueError):
    """The policy file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class AccessPolicy:
    """Decides whether a caller may read or write a run."""

    #: The daemon's own user; it (and root) may read and write every run.
    daemon_uid: int
    grants: tuple[Grant, ...] = field(default=())

    @classmethod
    def load(cls, path: Path | None, daemon_uid: int | None = None) -> AccessPolicy:
        """Read the policy file (a missing file means no grants).

        :raises PolicyError: the file is not valid TOML or an entry is malformed.
        """
        uid = os.getuid() if daemon_uid is None else daemon_uid
        if path is None or not path.exists():
            return cls(uid)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{path}: {exc}") from None
        grants = []
        for i, entry in enumerate(data.get("grant", [])):
            where = f"{path}: grant #{i + 1}"
            projects = entry.get("projects", [])
            access = entry.get("access", "read")
            if not projects or not all(isinstance(p, str) and p for p in projects):
                raise PolicyError(f"{where}: 'projects' must be a non-empty list of patterns")
            if access not in ("read", "write"):
                raise PolicyError(f"{where}: 'access' must be \"read\" or \"write\", not {access!r}")
            uids = frozenset(_ids(entry.get("users", []), _uid, where, "users"))
            gids = frozenset(_ids(entry.get("groups", []), _gid, where, "groups"))
            if not uids and not gids:
                raise PolicyError(f"{where}: name at least one of 'users' or 'groups'")
            grants.append(Grant(tuple(projects), uids, gids, access))
        return cls(uid, tuple(grants))

    @property
    def needs_groups(self) -> bool:
        """Whether any grant names groups (then callers' supplementary groups are looked up)."""
        return any(g.gids for g in self.grants)

    def allows(self, caller: Caller, run: Owned, mode: Mode) -> bool:
        if caller.uid in (ROOT_UID, self.daemon_uid):
            return True
        if run.owner_uid == caller.uid and run.owner_uid >= 0:
            return True
        return any(g.covers(caller, run) and (mode == "read" or g.access == "write")
                   for g in self.grants)

    def require(self, caller: Caller, run: Owned, mode: Mode, noun: str = "run") -> None:
        """:raises PermissionDeniedError: ``caller`` may not ``mode`` the run (or the artifact
        ``noun`` names)."""
        if not self.allows(caller, run, mode):
            raise PermissionDeniedError(
                f"uid {caller.uid} may not {mode} {noun} {run.key}: it belongs to uid "
                f"{run.owner_uid} and no team policy grants {mode} access",
                **{"run" if noun == "run" else "artifact": str(run.key)}, uid=str(caller.uid))

    def visible(self, caller: Caller, runs: Iterable[RunInfo]) -> list[RunInfo]:
        """The runs ``caller`` may read."""
        return [r for r in runs if self.allows(caller, r, "read")]

    def trusted(self, caller: Caller) -> bool:
        """Whether ``caller`` is the daemon's own user or root: they may read every run, blob
        and file the daemon holds or can read anyway, so the daemon opens their paths
        (``local_paths.py``) and lets them stop it."""
        return caller.uid in (ROOT_UID, self.daemon_uid)

    def may_administer(self, caller: Caller) -> bool:
        """Whether ``caller`` may stop the daemon."""
        return self.trusted(caller)


def _ids(values: object, resolve: object, where: str, what: str) -> Iterable[int]:
    if not isinstance(values, list):
        raise PolicyError(f"{where}: '{what}' must be a list")
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            yield v
        elif isinstance(v, str) and v:
            try:
                yield resolve(v)  # type: ignore[operator]
            except KeyError:
                raise PolicyError(f"{where}: unknown {what[:-1]} {v!r}") from None
        else:
            raise PolicyError(f"{where}: {what} entries are names or ids, not {v!r}")


def _uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def _gid(name: str) -> int:
    return grp.getgrnam(name).gr_gid
