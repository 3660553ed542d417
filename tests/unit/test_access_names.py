"""The access policy in a team store decides by user and group names; on one machine by uid."""

from __future__ import annotations

import grp
import pwd
from pathlib import Path

import pytest

from trackd_daemon.access import AccessPolicy, Caller, PolicyError, identify
from trackd_daemon.store.models import RunInfo, RunKey


def _run(owner_uid: int, owner_name: str, project: str = "vision") -> RunInfo:
    return RunInfo(pk=1, key=RunKey("team", project, "r"), name="", notes="", tags=[], group="",
                   job_type="", state="running", exit_code=0, created_at=0, updated_at=0,
                   finished_at=0, config={}, summary={}, metrics=[], history_rows=0,
                   last_step=-1, host="node-a", program="", start_time=0, sweep_id="",
                   request_id="", ingested_seq=0, owner_uid=owner_uid, owner_name=owner_name)


def _policy(tmp_path: Path, text: str, by_name: bool) -> AccessPolicy:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return AccessPolicy.load(path, daemon_uid=999_999, by_name=by_name)


def test_a_team_store_compares_recorded_names_a_single_machine_uids(tmp_path: Path) -> None:
    ann = Caller(1001, 1001, name="ann")
    made_elsewhere = _run(4242, "ann")  # ann's uid on the machine it was made on
    same_uid_other_name = _run(1001, "bob")
    team, single = _policy(tmp_path, "", True), _policy(tmp_path, "", False)
    assert team.allows(ann, made_elsewhere, "write")
    assert not team.allows(ann, same_uid_other_name, "read")
    assert not single.allows(ann, made_elsewhere, "read")
    assert single.allows(ann, same_uid_other_name, "write")
    # A run without a recorded name is decided by uid in both.
    assert team.allows(ann, _run(1001, ""), "write") and not team.allows(ann, _run(7, ""), "read")


def test_team_grants_name_users_and_groups_of_other_machines(tmp_path: Path) -> None:
    text = """
[[grant]]
projects = ["vision"]
users = ["someone-only-on-the-cluster"]
groups = ["ml-team-elsewhere"]
access = "write"
"""
    with pytest.raises(PolicyError, match="unknown user"):
        _policy(tmp_path, text, False)  # one machine: every name must resolve here
    team = _policy(tmp_path, text, True)
    assert team.needs_groups
    run = _run(4242, "carol")
    assert team.allows(Caller(5, 5, name="someone-only-on-the-cluster"), run, "write")
    member = Caller(6, 6, name="dave", group_names=frozenset({"ml-team-elsewhere"}))
    assert team.allows(member, run, "write")
    assert not team.allows(Caller(7, 7, name="eve", group_names=frozenset({"x"})), run, "read")
    assert not team.allows(member, _run(4242, "carol", project="other"), "read")


def test_ids_in_a_grant_are_named_as_they_are_here(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    team = _policy(tmp_path, f"""
[[grant]]
projects = ["vision"]
users = [{nobody.pw_uid}]
access = "read"

[[grant]]
projects = ["audio"]
groups = [{nobody.pw_gid}]
access = "read"
""", True)
    caller = identify(nobody.pw_uid, nobody.pw_gid)
    assert caller.name == "nobody" and group in caller.group_names
    assert team.allows(caller, _run(4242, "carol"), "read")
    assert team.allows(caller, _run(4242, "carol", project="audio"), "read")
    assert not team.allows(caller, _run(4242, "carol"), "write")
