"""Identity across machines: two daemons (two machines) on one PostgreSQL database, each
serving a shared socket to several local users, one team policy. A run records the user name
and the machine it was made on; the other daemon decides on that name (uids differ between
machines), grants by group name, and shows user and host in ``Api()`` and the dashboard.

Clients act as local users through ``tests/faults/as_user.py`` (dropping from root to a uid), so
these tests need root. The users are the system's own: ``nobody`` (group ``nogroup``) and the
first ordinary account; the test skips where either is missing.
"""

from __future__ import annotations

import grp
import json
import pwd
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.team_users import AS_USER, POLICY, account
from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server
from tests.web.dash import Dashboard

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240), needs_root]

@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


@dataclass
class Machine:
    daemon: DaemonProcess
    homes: Path

    def act(self, user: pwd.struct_passwd, action: str, **kwargs: Any) -> Any:
        out = run_as(AS_USER, user.pw_uid, user.pw_gid, action, json.dumps(kwargs),
                     env=client_env(self.daemon, self.homes / str(user.pw_uid)), cwd=self.homes)
        return out


def ok(result: dict[str, Any]) -> Any:
    assert "ok" in result, result
    return result["ok"]


@pytest.fixture
def team(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[tuple[Machine, Machine, str]]:
    """Machines A and B: daemons on one database, one policy; and the database's URL."""
    members = account("nobody"), account()
    nogroup = grp.getgrgid(members[0].pw_gid).gr_name
    if nogroup != "nogroup" or members[1].pw_gid == members[0].pw_gid:
        pytest.skip("nobody's group is not nogroup, or the ordinary account shares it")
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    url = postgres_server.create_database("identity")
    env = {"TRACKD_STORE_URL": url, "TRACKD_BLOB_URL": f"file://{blobs}",
           "TRACKD_POLICY": str(policy)}
    users = {m.pw_uid: m.pw_gid for m in members}
    with ExitStack() as stack:
        a, b = (Machine(*stack.enter_context(shared_daemon(users, env))) for _ in range(2))
        yield a, b, url


def _set_owner(url: str, run_id: str, **columns: Any) -> None:
    """Stand in for the other machine's user database: give a run another recorded owner."""
    import psycopg

    sets = ", ".join(f"{k} = %s" for k in columns)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE runs SET {sets} WHERE run_id = %s", (*columns.values(), run_id))


def test_a_run_made_on_one_machine_is_shown_on_another_to_whom_the_policy_allows(
        team: tuple[Machine, Machine, str]) -> None:
    a, b, _ = team
    nobody, member = account("nobody"), account()
    here = socket.gethostname()
    ok(a.act(member, "create", entity="team", project="shared-1", run_id="s1", rows=3))
    ok(a.act(member, "create", entity="team", project="private", run_id="p1", rows=2))

    # On machine B: nobody's group (nogroup) may read team/shared*, nothing else.
    assert ok(b.act(nobody, "who", project="team/shared-1")) == {"s1": [member.pw_name, here]}
    assert ok(b.act(nobody, "history", path="team/shared-1/s1")) == 3
    assert ok(b.act(nobody, "list", project="team/private")) == []
    denied = b.act(nobody, "history", path="team/private/p1")
    assert denied.get("code") == "PERMISSION_DENIED", denied
    assert f"belongs to {member.pw_name}" in denied["message"]
    # Its maker sees both on B, under the name and machine it recorded.
    assert ok(b.act(member, "who", project="team/private")) == {"p1": [member.pw_name, here]}

    # B's dashboard (its daemon's own user) shows user and host in the run JSON and table.
    dash = Dashboard.of(b.daemon)
    dash.login()
    listed = dash.json("/api/v1/projects/team/shared-1/runs")["runs"]
    assert [(r["id"], r["user"], r["host"]) for r in listed] == [("s1", member.pw_name, here)]
    detail = dash.json("/api/v1/runs/team/shared-1/s1")
    assert (detail["user"], detail["host"]) == (member.pw_name, here)


def test_ownership_across_machines_follows_the_recorded_name_not_the_uid(
        team: tuple[Machine, Machine, str]) -> None:
    a, b, url = team
    nobody, member = account("nobody"), account()
    ok(a.act(member, "create", entity="team", project="private", run_id="mine", rows=2))
    ok(a.act(nobody, "create", entity="team", project="private", run_id="theirs", rows=2))
    # Machine A's uids are not B's: "mine" was made by the member under another uid there,
    # "theirs" by nobody under the uid the member has here.
    _set_owner(url, "mine", owner_uid=4242)
    _set_owner(url, "theirs", owner_uid=member.pw_uid)

    assert sorted(ok(b.act(member, "list", project="team/private"))) == ["mine"]
    assert ok(b.act(member, "history", path="team/private/mine")) == 2
    # Editing needs write access: the member's by name, not by uid.
    assert ok(b.act(member, "edit", path="team/private/mine", change="rename")) == [
        "team", "private", "mine"]
    refused = b.act(member, "edit", path="team/private/theirs", change="rename")
    assert refused.get("code") == "PERMISSION_DENIED", refused
    assert sorted(ok(b.act(nobody, "list", project="team/private"))) == ["theirs"]


def test_artifacts_across_machines_belong_to_the_recorded_name(
        team: tuple[Machine, Machine, str]) -> None:
    a, b, url = team
    nobody, member = account("nobody"), account()
    ok(a.act(member, "log_text", entity="team", project="private", run_id="m1", name="mine",
             text="member's"))
    ok(a.act(nobody, "log_text", entity="team", project="private", run_id="n1", name="theirs",
             text="nobody's"))
    ok(a.act(member, "log_text", entity="team", project="shared-2", run_id="m2", name="open",
             text="for the group"))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:  # A's uids are not B's (see above)
        for table in ("artifact_versions", "artifact_collections"):
            conn.execute(f"UPDATE {table} SET owner_uid = 4242 WHERE owner_name = %s",
                         (member.pw_name,))
            conn.execute(f"UPDATE {table} SET owner_uid = %s WHERE owner_name = %s",
                         (member.pw_uid, nobody.pw_name))
        conn.execute("UPDATE runs SET owner_uid = 4242 WHERE owner_name = %s", (member.pw_name,))
        conn.execute("UPDATE runs SET owner_uid = %s WHERE owner_name = %s",
                     (member.pw_uid, nobody.pw_name))

    assert ok(b.act(member, "read_text", name="team/private/mine:latest")) == "member's"
    refused = b.act(member, "read_text", name="team/private/theirs:latest")
    assert refused.get("code") == "PERMISSION_DENIED", refused
    assert ok(b.act(nobody, "read_text", name="team/private/theirs:latest")) == "nobody's"
    assert ok(b.act(nobody, "read_text", name="team/shared-2/open:latest")) == "for the group"
    refused = b.act(nobody, "read_text", name="team/private/mine:latest")
    assert refused.get("code") == "PERMISSION_DENIED", refused
