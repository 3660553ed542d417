"""Files handed to a shared daemon open (``rpc/handoff.py``): another user's descriptors are
stored as that user's uploads, and no descriptor gives the daemon more than its sender could
read — not one open for writing only, not an O_PATH descriptor of a file the sender may not
read, not a device.

Clients act as other uids (needs root; skipped elsewhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess
from trackd_daemon.rpc.handoff import PER_USER

HANDOFF = Path(__file__).with_name("handoff_as_user.py")
ARTIFACTS = Path(__file__).with_name("artifacts_as_user.py")
ALICE, BOB = 61041, 61042

pytestmark = needs_root


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[DaemonProcess, Path]]:
    with shared_daemon({}) as (d, files):
        yield d, files


def hand_over(shared: tuple[DaemonProcess, Path], uid: int, *cases: dict[str, Any],
              ) -> list[Any]:
    sock = Path(shared[0].dirs.runtime) / "trackd-handoff.sock"
    return run_as(HANDOFF, uid, sock, json.dumps(cases))  # type: ignore[no-any-return]


def artifact_calls(shared: tuple[DaemonProcess, Path], uid: int,
                   *calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return run_as(ARTIFACTS, uid, uid, json.dumps(calls),  # type: ignore[no-any-return]
                  env=client_env(shared[0]))


def made(files: Path, name: str, data: bytes, uid: int, mode: int) -> Path:
    p = files / name
    p.write_bytes(data)
    os.chown(p, uid, uid)
    os.chmod(p, mode)
    return p


def stored(d: DaemonProcess) -> list[bytes]:
    root = Path(d.dirs.env["TRACKD_ROOT"]) / "blobs"
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]


def test_a_handed_over_file_is_stored_as_its_senders_upload(
        shared: tuple[DaemonProcess, Path]) -> None:
    d, files = shared
    data = os.urandom(3 << 20)
    mine = made(files, "alice.bin", data, ALICE, 0o600)
    (answer,) = hand_over(shared, ALICE, {"files": [["read", str(mine)]]})
    stored_as = answer["results"][0]["stored"]
    assert int(stored_as["size"]) == len(data)
    assert data in stored(d)
    key = stored_as["blob_key"]
    def log(project: str) -> tuple[str, dict[str, Any]]:
        return ("LogArtifact", {"entity": "team", "project": project, "name": "a",
                                "type": "dataset", "entries": [{"path": "f", "blob_key": key}]})

    (logged,) = artifact_calls(shared, ALICE, log("alice"))
    assert logged["ok"]["artifact"]["state"] == "ARTIFACT_STATE_COMMITTED", logged
    (stolen,) = artifact_calls(shared, BOB, log("bob"))  # his own hand-overs only, not hers
    assert stolen["reason"] == "BLOB_NOT_FOUND", stolen


def test_no_descriptor_gives_more_than_its_sender_may_read(
        shared: tuple[DaemonProcess, Path]) -> None:
    d, files = shared
    secret = b"root-only " + os.urandom(16).hex().encode()
    unreadable = made(files, "secret", secret, 0, 0o600)  # O_PATH needs no read permission
    writable = made(files, "drop-box", secret, 0, 0o622)  # others may write, not read
    answers = hand_over(
        shared, BOB,
        {"files": [["path", str(unreadable)]]},
        {"files": [["write", str(writable)]]},
        {"files": [["dev", "/dev/zero"]]},
        {"files": [["read", str(files)]]},  # a directory
    )
    errors = [a["results"][0]["error"] for a in answers]
    assert "not open for reading" in errors[0], errors
    assert "not open for reading" in errors[1], errors
    assert "not a regular file" in errors[2], errors
    assert "not a regular file" in errors[3], errors
    assert not any(secret in blob for blob in stored(d))


def test_malformed_requests_are_refused_and_the_daemon_goes_on(
        shared: tuple[DaemonProcess, Path]) -> None:
    d, files = shared
    ok_file = made(files, "bob.txt", b"bob", BOB, 0o600)
    answers = hand_over(
        shared, BOB,
        {"files": [["read", str(ok_file)]], "extra_fds": 1},  # a descriptor too many
        {"raw": "not a protobuf \xff", "files": []},
        {"files": [["read", str(ok_file)]] * 2},  # the same file twice: fine
        {"hold": PER_USER + 1},  # one connection more than a user may hold
    )
    assert "2 descriptors" in answers[0]["error"], answers[0]
    assert answers[1]["error"], answers[1]
    assert [r["stored"]["size"] for r in answers[2]["results"]] == ["3", "3"], answers[2]
    assert f"holds {PER_USER} hand-over connections" in answers[3][0]["error"], answers[3]
    assert d.proc is not None and d.proc.poll() is None
    (again,) = hand_over(shared, BOB, {"files": [["read", str(ok_file)]]})
    assert again["results"][0]["stored"]["size"] == "3"
