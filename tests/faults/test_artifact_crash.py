"""A daemon SIGKILLed while it stores an artifact leaves no half-committed version, and the
next daemon finishes storing it (resumed from what was recorded)."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
from pathlib import Path

import grpc
import pytest

from tests.e2e.test_artifact_rpc import Client
from tests.helpers import DaemonProcess
from trackd._shared.artifact_rules import manifest_digest
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb

pytestmark = pytest.mark.slow
FILES, SIZE = 160, 1 << 20


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_sigkill_mid_upload_leaves_it_pending_and_the_restart_commits_it(
        own_daemon: DaemonProcess, tmp_path: Path) -> None:
    contents = {}
    entries = []
    for i in range(FILES):
        data = os.urandom(SIZE)
        p = tmp_path / f"f{i:03d}.bin"
        p.write_bytes(data)
        contents[p.name] = data
        entries.append(apb.ManifestEntry(path=p.name, local_path=str(p)))
    os.sync()
    client = Client(own_daemon)
    resp = client.log("crash", "big", entries, aliases=["best"])
    version_id = resp.artifact.id
    killed_at = None
    for msg in client.art.WatchArtifact(pb.WatchArtifactRequest(id=version_id), timeout=120):
        if 3 <= msg.progress.files_done < FILES - 10:
            killed_at = msg.progress.files_done
            own_daemon.kill()
            break
        assert not msg.done, "storing finished before the daemon could be killed"
    client.close()
    assert killed_at is not None

    db = sqlite3.connect(Path(own_daemon.dirs.env["TRACKD_ROOT"]) / "trackd.db")
    state, index = db.execute("SELECT state, version_index FROM artifact_versions WHERE id = ?",
                              (version_id,)).fetchone()
    stored, aliases = db.execute(
        "SELECT (SELECT COUNT(*) FROM artifact_entries WHERE version_id = ?"
        " AND blob_key != ''), (SELECT COUNT(*) FROM artifact_aliases)",
        (version_id, )).fetchone()
    db.close()
    assert (state, index, aliases) == ("PENDING", -1, 0)
    assert stored < FILES

    own_daemon.start()
    client = Client(own_daemon)
    try:
        art, _ = client.wait(version_id)
        assert (art.state, art.version, art.file_count) == (apb.ARTIFACT_STATE_COMMITTED, "v0",
                                                            FILES)
        assert set(art.aliases) == {"best", "latest"}
        assert art.digest == manifest_digest((k, md5_b64(v)) for k, v in contents.items())
        assert {e.path: e.digest for e in client.manifest(art.id)} == {
            k: md5_b64(v) for k, v in contents.items()}
        assert client.read(art.id, "f007.bin") == contents["f007.bin"]
        versions = client.art.ListArtifacts(pb.ListArtifactsRequest(
            entity="ent", project="crash", collection="big")).artifacts
        assert [v.id for v in versions] == [version_id]
        with pytest.raises(grpc.RpcError):
            client.get("big:v1", "crash")
    finally:
        client.close()
    tmp = Path(own_daemon.dirs.env["TRACKD_ROOT"]) / "blobs" / "tmp"
    assert not list(tmp.iterdir())  # the partial write of the killed daemon was removed
