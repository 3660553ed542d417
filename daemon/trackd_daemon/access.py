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

A team store (PostgreSQL, shared by the daemons of several machines) holds runs made on other
machines, whose uids mean nothing here. There a run's owner is the user *name* it records
(``owner_name``, resolved on the machine that made it), the caller's is its name on this
machine, and grants compare user and group names (groups resolved here, on the machine that
decides); names a grant gives need no account on this machine. A run without a recorded name
(made before runs recorded one) is still decided by uid. A single machine's store decides by
uid, as it always has.
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
    ``key`` has ``entity`` and ``project``; an ``owner_name`` attribute, where it has one, is
    the owner's user name where it ran (:func:`owner_name`)."""

    @property
    def key(self) -> Any: ...

    @property
    def owner_uid(self) -> int: ...


def owner_name(thing: Owned) -> str:
    """The user name ``thing`` records its owner by ("" when it records none)."""
    return str(getattr(thing, "owner_name", ""))


@dataclass(frozen=True)
class Caller:
    """The user behind a request."""

    uid: int
    gid: int = -1
    pid: int = 0
    #: Supplementary groups (from the user database; empty when the uid has no entry).
    groups: frozenset[int] = frozenset()
    #: The uid's user name here ("" when it has no entry).
    name: str = ""
    #: The names of ``gid`` and ``groups`` here (looked up with them).
    group_names: frozenset[str] = frozenset()

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


def groups_of(uid: int, gid: int) -> frozenset[int]:
    """The supplementary groups of ``uid`` (blocking: it may ask NSS; call from a thread)."""
    try:
        name = pwd.getpwuid(uid).pw_name
        return frozenset(os.getgrouplist(name, gid))
    except (KeyError, OSError):
        return frozenset()


def user_name(uid: int) -> str:
    """The login name of ``uid`` here ("" when it has none; blocking: it may ask NSS)."""
    try:
        return pwd.getpwuid(uid).pw_name if uid >= 0 else ""
    except KeyError:
        return ""


def identify(uid: int, gid: int, pid: int = 0, with_groups: bool = True) -> Caller:
    """The caller ``uid``/``gid`` with its name and (``with_groups``) its groups and their
    names looked up here (blocking: NSS; call from a thread)."""
    groups = groups_of(uid, gid) if with_groups else frozenset()
    names = set()
    for g in ({gid, *groups} if with_groups else ()):
        try:
            names.add(grp.getgrgid(g).gr_name)
        except (KeyError, OverflowError):
            pass
    return Caller(uid, gid, pid, groups, user_name(uid), frozenset(names))


@dataclass(frozen=True)
class Grant:
    """One ``[[grant]]`` of the policy."""

    projects: tuple[str, ...]
    uids: frozenset[int] = frozenset()
    gids: frozenset[int] = frozenset()
    access: Mode = "read"
    #: The users and groups by name (those given as ids, named as they are here): what a
    #: team store decides on.
    user_names: frozenset[str] = frozenset()
    group_names: frozenset[str] = frozenset()

    def names(self, caller: Caller, by_name: bool) -> bool:
        """Whether the grant names ``caller`` (by name in a team store, when it has one)."""
        if by_name and caller.name:
            return caller.name in self.user_names or bool(self.group_names & caller.group_names)
        return caller.uid in self.uids or any(caller.in_group(g) for g in self.gids)

    def covers(self, caller: Caller, run: Owned, by_name: bool = False) -> bool:
        if not self.names(caller, by_name):
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
    #: A team store: owners and grants are compared by name (see the module doc).
    by_name: bool = False

    @classmethod
    def load(cls, path: Path | None, daemon_uid: int | None = None,
             by_name: bool = False) -> AccessPolicy:
        """Read the policy file (a missing file means no grants). ``by_name``: the store is a
        team's (see the module doc); a grant may then name users and groups unknown here.

        :raises PolicyError: the file is not valid TOML or an entry is malformed.
        """
        uid = os.getuid() if daemon_uid is None else daemon_uid
        if path is None or not path.exists():
            return cls(uid, by_name=by_name)
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
            users = entry.get("users", [])
            groups = entry.get("groups", [])
            uids = frozenset(_ids(users, _uid, where, "users", by_name))
            gids = frozenset(_ids(groups, _gid, where, "groups", by_name))
            user_names = frozenset(_names(users, _uname))
            group_names = frozenset(_names(groups, _gname))
            if not users and not groups:
                raise PolicyError(f"{where}: name at least one of 'users' or 'groups'")
            grants.append(Grant(tuple(projects), uids, gids, access, user_names, group_names))
        return cls(uid, tuple(grants), by_name)

    @property
    def needs_groups(self) -> bool:
        """Whether any grant names groups (then callers' supplementary groups are looked up)."""
        return any(g.gids or g.group_names for g in self.grants)

    def owns(self, caller: Caller, thing: Owned) -> bool:
        """Whether ``caller`` made ``thing``: by recorded name in a team store, else by uid."""
        name = owner_name(thing)
        if self.by_name and name and caller.name:
            return name == caller.name
        return thing.owner_uid == caller.uid and thing.owner_uid >= 0

    def allows(self, caller: Caller, run: Owned, mode: Mode) -> bool:
        if caller.uid in (ROOT_UID, self.daemon_uid):
            return True
        if self.owns(caller, run):
            return True
        return any(g.covers(caller, run, self.by_name) and (mode == "read" or g.access == "write")
                   for g in self.grants)

    def require(self, caller: Caller, run: Owned, mode: Mode, noun: str = "run") -> None:
        """:raises PermissionDeniedError: ``caller`` may not ``mode`` the run (or the artifact
        ``noun`` names)."""
        if not self.allows(caller, run, mode):
            who = f"{caller.name} (uid {caller.uid})" if caller.name else f"uid {caller.uid}"
            name = owner_name(run)
            owner = (f"{name} (uid {run.owner_uid} where it was made)" if name
                     else f"uid {run.owner_uid}")
            raise PermissionDeniedError(
                f"{who} may not {mode} {noun} {run.key}: it belongs to {owner} and no team "
                f"policy grants {mode} access",
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


def _ids(values: object, resolve: object, where: str, what: str,
         unknown_ok: bool = False) -> Iterable[int]:
    """The ids of ``values`` (names resolved here; in a team store, ``unknown_ok``, a name
    with no entry here is one of another machine's and has no id here)."""
    if not isinstance(values, list):
        raise PolicyError(f"{where}: '{what}' must be a list")
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            yield v
        elif isinstance(v, str) and v:
            try:
                yield resolve(v)  # type: ignore[operator]
            except KeyError:
                if not unknown_ok:
                    raise PolicyError(f"{where}: unknown {what[:-1]} {v!r}") from None
        else:
            raise PolicyError(f"{where}: {what} entries are names or ids, not {v!r}")


def _names(values: list[object], name_of: object) -> Iterable[str]:
    """The names of ``values`` (already checked by :func:`_ids`): ids named as they are here
    (one with no entry here has no name)."""
    for v in values:
        if isinstance(v, str):
            yield v
        else:
            try:
                yield name_of(v)  # type: ignore[operator]
            except (KeyError, OverflowError):
                pass


def _uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def _gid(name: str) -> int:
    return grp.getgrnam(name).gr_gid


def _uname(uid: int) -> str:
    return pwd.getpwuid(uid).pw_name


def _gname(gid: int) -> str:
    return grp.getgrgid(gid).gr_name
