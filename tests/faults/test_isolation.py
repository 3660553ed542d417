"""Isolation between users on one daemon: peer credentials, run ownership, the team policy,
owner-only files, and the TCP listener's token and TLS.

The daemon serves a shared socket (mode 0666, as a system-wide install does); clients act as
other uids through ``as_user.py`` (uids 61001-61003, with no passwd entries: to the kernel, and
so to SO_PEERCRED, a uid is a number). That needs root; elsewhere these tests skip.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess

AS_USER = Path(__file__).with_name("as_user.py")
ALICE, BOB, CAROL = 61001, 61002, 61003
TEAM_GID = 61100  # Carol's primary group
POLICY = f"""
[[grant]]
projects = ["team/shared"]
groups = [{TEAM_GID}]
access = "read"

[[grant]]
projects = ["team/rw*"]
users = [{BOB}]
access = "write"
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    policy = tmp_path_factory.mktemp("policy") / "policy.toml"
    policy.write_text(POLICY)
    with shared_daemon({ALICE: ALICE, BOB: BOB, CAROL: TEAM_GID},
                       {"TRACKD_POLICY": str(policy)}) as found:
        yield found


def as_user(shared: tuple[DaemonProcess, Path], uid: int, action: str,
            **kwargs: Any) -> dict[str, Any]:
    d, homes = shared
    gid = TEAM_GID if uid == CAROL else uid
    return run_as(AS_USER, uid, gid, action, json.dumps(kwargs),  # type: ignore[no-any-return]
                  env=client_env(d, homes / str(uid)), cwd=homes)


def ok(result: dict[str, Any]) -> Any:
    assert "ok" in result, result
    return result["ok"]


def denied(result: dict[str, Any], mode: str) -> None:
    assert result.get("code") == "PERMISSION_DENIED", result
    assert f"may not {mode} run" in result["message"], result


@needs_root
def test_another_user_can_neither_read_nor_write_a_run(shared: tuple[DaemonProcess, Path]) -> None:
    ok(as_user(shared, ALICE, "create", entity="team", project="private", run_id="a1", rows=5))
    assert ok(as_user(shared, ALICE, "list", project="team/private")) == ["a1"]

    assert ok(as_user(shared, BOB, "list", project="team/private")) == []
    denied(as_user(shared, BOB, "history", path="team/private/a1"), "read")
    denied(as_user(shared, BOB, "resume", entity="team", project="private", run_id="a1"), "write")
    denied(as_user(shared, BOB, "stream", entity="team", project="private", run_id="a1"), "write")
    taken = as_user(shared, BOB, "create", entity="team", project="private", run_id="a1", rows=1)
    assert taken["code"] == "ALREADY_EXISTS", taken

    # Nothing Alice logged was touched.
    assert ok(as_user(shared, ALICE, "history", path="team/private/a1")) == 5


@needs_root
def test_the_team_policy_grants_read_or_write(shared: tuple[DaemonProcess, Path]) -> None:
    ok(as_user(shared, ALICE, "create", entity="team", project="shared", run_id="s1", rows=3))
    ok(as_user(shared, ALICE, "create", entity="team", project="rw-1", run_id="w1", rows=3))

    # Carol's group may read team/shared, not write it, and sees nothing else.
    assert ok(as_user(shared, CAROL, "list", project="team/shared")) == ["s1"]
    assert ok(as_user(shared, CAROL, "history", path="team/shared/s1")) == 3
    denied(as_user(shared, CAROL, "resume", entity="team", project="shared", run_id="s1"), "write")
    denied(as_user(shared, CAROL, "history", path="team/rw-1/w1"), "read")

    # Bob may write team/rw*: he continues Alice's run, and she sees his row.
    ok(as_user(shared, BOB, "resume", entity="team", project="rw-1", run_id="w1"))
    assert ok(as_user(shared, ALICE, "history", path="team/rw-1/w1")) == 4
    denied(as_user(shared, BOB, "history", path="team/shared/s1"), "read")


@needs_root
def test_editing_a_run_needs_write_access(shared: tuple[DaemonProcess, Path]) -> None:
    ok(as_user(shared, ALICE, "create", entity="team", project="shared", run_id="e1", rows=2))
    ok(as_user(shared, ALICE, "create", entity="team", project="rw-2", run_id="e2", rows=2))
    # Carol may read team/shared, so she finds the run, but may not change it.
    for change in ("rename", "move", "delete"):
        denied(as_user(shared, CAROL, "edit", path="team/shared/e1", change=change), "write")
    denied(as_user(shared, BOB, "edit", path="team/shared/e1", change="delete"), "read")
    assert ok(as_user(shared, ALICE, "history", path="team/shared/e1")) == 2  # still there
    # Bob may write team/rw*: he renames and deletes Alice's run there.
    ok(as_user(shared, BOB, "edit", path="team/rw-2/e2", change="rename"))
    ok(as_user(shared, BOB, "edit", path="team/rw-2/e2", change="delete"))
    gone = as_user(shared, ALICE, "history", path="team/rw-2/e2")
    assert gone.get("code") == "NOT_FOUND", gone
    # Alice moves her own run.
    assert ok(as_user(shared, ALICE, "edit", path="team/shared/e1", change="move")) == [
        "team", "elsewhere", "e1"]


@needs_root
def test_projects_list_only_what_the_caller_may_read(shared: tuple[DaemonProcess, Path]) -> None:
    ok(as_user(shared, ALICE, "create", entity="team", project="shared", run_id="ps1", rows=1))
    ok(as_user(shared, ALICE, "create", entity="team", project="hidden-p", run_id="h1", rows=1))
    ok(as_user(shared, CAROL, "create", entity="team", project="hidden-p", run_id="h2", rows=1))
    alice = ok(as_user(shared, ALICE, "projects", entity="team"))
    assert alice["hidden-p"] == 1 and alice["shared"] >= 1
    # Carol's group may read team/shared; of team/hidden-p she sees her own run only.
    carol = ok(as_user(shared, CAROL, "projects", entity="team"))
    assert carol["hidden-p"] == 1 and carol["shared"] == alice["shared"]
    # Bob has no grant on either and no run in them: neither is listed.
    bob = ok(as_user(shared, BOB, "projects", entity="team"))
    assert "shared" not in bob and "hidden-p" not in bob


@needs_root
def test_the_daemons_own_user_sees_every_run_and_only_it_may_stop_the_daemon(
        shared: tuple[DaemonProcess, Path]) -> None:
    ok(as_user(shared, BOB, "create", entity="team", project="bob", run_id="b1", rows=2))
    refused = as_user(shared, BOB, "shutdown")
    assert refused["code"] == "PERMISSION_DENIED" and "may not stop the daemon" in refused["message"]

    d, _ = shared
    channel = grpc.insecure_channel(f"unix:{d.dirs.socket}")
    from trackd._transport.connection import make_stub
    from trackd.v1 import query_service_pb2

    stub = make_stub(channel, query_service_pb2, "QueryService")
    runs = stub.ListRuns(query_service_pb2.ListRunsRequest(entity="team", project="bob"), timeout=10)
    assert [r.ref.run_id for r in runs.runs] == ["b1"]
    channel.close()
    assert d.proc is not None and d.proc.poll() is None  # Bob's Shutdown did not stop it


@needs_root
def test_files_are_owner_only_and_the_shared_socket_is_reachable(
        shared: tuple[DaemonProcess, Path]) -> None:
    d, _ = shared
    ok(as_user(shared, ALICE, "create", entity="team", project="perm", run_id="p1", rows=1))
    for top in (d.dirs.env["TRACKD_ROOT"], d.dirs.env["TRACKD_STATE_DIR"]):
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [*dirnames, *filenames]:
                mode = stat.S_IMODE(os.lstat(os.path.join(dirpath, name)).st_mode)
                assert mode & 0o077 == 0, f"{dirpath}/{name} is {oct(mode)}"
    assert stat.S_IMODE(d.dirs.socket.stat().st_mode) == 0o666
    private = d.dirs.runtime / "private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    # Others may traverse the runtime directory to the socket, but not list it.
    assert stat.S_IMODE(d.dirs.runtime.stat().st_mode) & 0o007 == 0o001


def test_a_user_whose_paths_the_daemon_does_not_open_keeps_every_policy(
        shared: tuple[DaemonProcess, Path]) -> None:
    """The daemon opens no other user's path (see test_path_swap.py): the SDK hands the files
    over open and keeps the policies itself: a live file is stored at once, after a change and at
    finish; an end file at finish; a directory and a file:// reference are logged as usual."""
    import base64
    import hashlib

    out = ok(as_user(shared, BOB, "keep_files", entity="bob", project="kept", run_id="k1"))
    files = out["files"]
    assert files["now.txt"] == ["now"]
    assert files["live.txt"] == ["live 1", "live 2", "live 3"]
    assert files["end.txt"] == ["end final"]
    assert out["stored_text"] == {"a.txt": "alpha", "b.txt": "beta"}
    # The bytes went over as open files (the daemon's hand-over socket), not streamed.
    assert {"now.txt", "live.txt", "end.txt"} <= set(out["handed_over"]), out
    _, homes = shared
    md5 = base64.b64encode(hashlib.md5(b"alpha").digest()).decode()
    assert out["refs"]["a.txt"] == [f"file://{homes / str(BOB) / 'data' / 'a.txt'}", md5, 5]
