"""The dashboard of any machine shows the team's runs to the users allowed to see them: two
daemons (two machines) on one PostgreSQL database, one team policy. A user of machine B logs
in to B's dashboard with `trackd ui` (a ticket bound to their uid, asked of B's daemon over its
socket) and sees what the policy lets them read, decided by user name as on a team store,
whichever machine the run was made on.

Clients act as local users through ``tests/faults/as_user.py`` (root drops to their uid); the
users are ``nobody`` (group ``nogroup``) and the first ordinary account; the test skips where
either is missing.
"""

from __future__ import annotations

import grp
import json
import pwd
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
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


def act(machine: tuple[DaemonProcess, Path], user: pwd.struct_passwd, action: str,
        **kwargs: Any) -> Any:
    d, homes = machine
    out = run_as(AS_USER, user.pw_uid, user.pw_gid, action, json.dumps(kwargs),
                 env=client_env(d, homes / str(user.pw_uid)), cwd=homes)
    assert "ok" in out, out
    return out["ok"]


def login(machine: tuple[DaemonProcess, Path], user: pwd.struct_passwd) -> Dashboard:
    """A browser logged in to the machine's dashboard with the URL `trackd ui` gave ``user``."""
    url = act(machine, user, "ui_url", path="")
    split = urlsplit(url)
    dash = Dashboard(f"{split.scheme}://{split.netloc}/", token="")
    status, _, body = dash.open(url)
    assert status == 200 and dash.session(), (status, body[:300])
    return dash


def projects(dash: Dashboard) -> set[str]:
    status, _, body = dash.request("/api/v1/projects", token=None)
    assert status == 200, body[:300]
    return {p["project"] for p in json.loads(body)["projects"]}


def test_each_user_sees_the_teams_runs_the_policy_allows_on_another_machine(
        postgres_server: PostgresServer, tmp_path: Path) -> None:
    nobody, member = account("nobody"), account()
    if grp.getgrgid(nobody.pw_gid).gr_name != "nogroup" or member.pw_gid == nobody.pw_gid:
        pytest.skip("nobody's group is not nogroup, or the ordinary account shares it")
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    url = postgres_server.create_database("dashboard_users")
    env = {"TRACKD_STORE_URL": url, "TRACKD_BLOB_URL": f"file://{blobs}",
           "TRACKD_POLICY": str(policy)}
    users = {m.pw_uid: m.pw_gid for m in (nobody, member)}
    with ExitStack() as stack:
        a, b = (stack.enter_context(shared_daemon(users, env)) for _ in range(2))
        act(a, member, "create", entity="team", project="shared-1", run_id="s1", rows=3)
        act(a, member, "create", entity="team", project="private", run_id="p1", rows=2)
        # Machine A gave the runs a uid B does not know: B decides by the recorded name.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE runs SET owner_uid = 4242 WHERE owner_name = %s",
                         (member.pw_name,))

        seen = login(b, nobody)  # the group's grant: the shared project only
        assert projects(seen) == {"shared-1"}
        status, _, body = seen.request("/api/v1/runs/team/shared-1/s1", token=None)
        assert status == 200 and json.loads(body)["user"] == member.pw_name, body[:300]
        for path in ("/api/v1/runs/team/private/p1", "/team/private/runs/p1"):
            assert seen.request(path, token=None)[0] == 404, path

        own = login(b, member)  # their own runs, by name, made on the other machine
        assert projects(own) == {"shared-1", "private"}
        status, body = own.post_json("/api/v1/runs/team/private/p1/update", {"name": "kept"},
                                     token=None, headers={"Origin": own.base.rstrip("/")})
        assert status == 200 and body["name"] == "kept", (status, body)
        status, body = seen.post_json("/api/v1/runs/team/shared-1/s1/update", {"name": "no"},
                                      token=None, headers={"Origin": seen.base.rstrip("/")})
        assert status == 403, (status, body)
