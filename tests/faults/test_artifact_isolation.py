"""Artifacts between users on one daemon (shared socket, as a system-wide install): versions
belong to their creator, the daemon opens no path of another user than its own (they upload
the bytes), bytes are usable only by those who uploaded them or may read a version holding
them.

Clients act as other uids through ``artifacts_as_user.py`` (needs root; skipped elsewhere).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess

AS_USER = Path(__file__).with_name("artifacts_as_user.py")
ALICE, BOB = 61011, 61012

pytestmark = needs_root


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[DaemonProcess, Path]]:
    with shared_daemon({ALICE: ALICE, BOB: BOB}, home_mode=0o700) as found:
        yield found


def as_user(shared: tuple[DaemonProcess, Path], uid: int,
            *calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return run_as(AS_USER, uid, uid, json.dumps(calls),  # type: ignore[no-any-return]
                  env=client_env(shared[0]))


def log(project: str, name: str, **entry: Any) -> tuple[str, dict[str, Any]]:
    return ("LogArtifact", {"entity": "team", "project": project, "name": name,
                            "type": "dataset", "entries": [{"path": "f", **entry}]})


def owned_file(homes: Path, uid: int, data: bytes) -> Path:
    p = homes / str(uid) / "secret.bin"
    p.write_bytes(data)
    os.chown(p, uid, uid)
    os.chmod(p, 0o600)
    return p


def test_versions_paths_and_bytes_stay_with_their_owner(shared: tuple[DaemonProcess, Path]) -> None:
    _, homes = shared
    secret = os.urandom(500).hex()
    path = owned_file(homes, ALICE, secret.encode())
    md5 = base64.b64encode(hashlib.md5(secret.encode()).digest()).decode()
    refused, up = as_user(shared, ALICE, log("alice", "a-data", local_path=str(path)),
                          ("UploadFile", {"bytes": secret}))
    assert refused["reason"] == "ARTIFACT_PATH_UNREADABLE", refused  # her own file too
    (logged,) = as_user(shared, ALICE, log("alice", "a-data", blob_key=up["ok"]["blob_key"]))
    assert "ok" in logged, logged
    version_id = logged["ok"]["artifact"]["id"]
    watched = as_user(shared, ALICE, ("WatchArtifact", {"id": version_id}))
    assert watched[0]["ok"]["done"], watched

    results = as_user(
        shared, BOB,
        ("GetArtifact", {"path": "team/alice/a-data:latest"}),
        ("GetManifest", {"id": version_id}),
        ("ReadArtifactFile", {"id": version_id, "path": "f"}),
        log("bob", "steal", local_path=str(path)),
        log("bob", "guess", digest=md5, size=len(secret)),
        log("alice", "a-data", digest=md5, size=len(secret)),
        ("CollectGarbage", {}),
        ("DeleteArtifact", {"id": version_id, "delete_aliases": True}),
    )
    codes = [(r.get("code"), r.get("reason")) for r in results]
    assert codes == [
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "ARTIFACT_PATH_UNREADABLE"),
        ("FAILED_PRECONDITION", "BLOB_NOT_FOUND"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
    ], results
    assert str(path) in results[3]["message"] and "UploadFile" in results[3]["message"]


def test_uploaded_bytes_serve_their_uploader(shared: tuple[DaemonProcess, Path]) -> None:
    up, = as_user(shared, BOB, ("UploadFile", {"bytes": "bob's own bytes"}))
    key = up["ok"]["blob_key"]
    logged, got = as_user(
        shared, BOB, log("bob", "mine", blob_key=key),
        ("GetArtifact", {"path": "team/bob/mine:latest"}))
    assert logged["ok"]["artifact"]["state"] == "ARTIFACT_STATE_COMMITTED", logged
    assert got["ok"]["artifact"]["id"] == logged["ok"]["artifact"]["id"]
    version_id = logged["ok"]["artifact"]["id"]
    files, = as_user(shared, BOB, ("LocateArtifactFiles", {"id": version_id}))
    assert files["ok"]["files"][0]["path"] == "f"
    assert "blob_path" not in files["ok"]["files"][0]  # the daemon's files are not his to read
    stolen, = as_user(shared, ALICE, log("alice", "copy", blob_key=key))
    assert stolen["reason"] == "BLOB_NOT_FOUND", stolen


def test_no_other_users_path_is_opened_even_one_they_may_read(
        shared: tuple[DaemonProcess, Path]) -> None:
    """A check that the caller may read a path, then an open by name, loses to a symlink
    swapped in between: the daemon opens no path of another user; the SDK uploads instead."""
    _, homes = shared
    path = owned_file(homes, BOB, b"bob's file")
    path.chmod(0o644)
    logged, ref = as_user(shared, BOB, log("bob", "own-file", local_path=str(path)),
                          ("ResolveReference", {"uri": f"file://{path}", "checksum": True}))
    assert logged["reason"] == "ARTIFACT_PATH_UNREADABLE", logged
    assert ref["reason"] == "ARTIFACT_PATH_UNREADABLE", ref


def test_only_the_daemons_own_user_may_announce_staging_copies(
        shared: tuple[DaemonProcess, Path]) -> None:
    _, homes = shared
    path = owned_file(homes, BOB, b"bob's staging copy")
    path.chmod(0o400)
    hint, logged = as_user(shared, BOB, ("PrepareStagedFiles", {"local_paths": [str(path)]}),
                           log("bob", "announced", local_path=str(path), staged=True))
    assert hint["ok"].get("accepted", 0) == 0, hint  # not taken in hand
    assert logged["reason"] == "ARTIFACT_PATH_UNREADABLE", logged  # not even copied
    assert path.stat().st_nlink == 1
