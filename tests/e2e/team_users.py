"""What the team-identity tests share: the helper that acts as another user, the team policy
(the group ``nogroup`` may read the ``shared*`` projects) and the accounts they act as."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest

AS_USER = Path(__file__).parents[1] / "faults" / "as_user.py"
#: The grant: the team group may read the "shared*" projects.
POLICY = """
[[grant]]
projects = ["team/shared*"]
groups = ["nogroup"]
access = "read"
"""


def account(name: str | None = None) -> pwd.struct_passwd:
    """The account ``name``, or an ordinary user's (uid 1000 up); skips when there is none."""
    try:
        if name is not None:
            return pwd.getpwnam(name)
        return next(p for p in pwd.getpwall() if 1000 <= p.pw_uid < 60000)
    except (KeyError, StopIteration):
        pytest.skip(f"no {name or 'ordinary'} account on this machine")
