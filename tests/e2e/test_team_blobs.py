"""Blobs in a bucket shared by several daemons (``TRACKD_BLOB_URL=s3://...``), against an
S3-compatible server on loopback: an artifact and run files stored by one daemon are read by
another (its own root, state and runtime directories, as on another machine; the metadata in a
database both use), and an upload rides out the bucket going away and coming back."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from blake3 import blake3

import trackd
from tests.e2e.artifact_helpers import project, read_tree, write_tree
from tests.helpers import DaemonDirs, DaemonProcess
from tests.s3_server import S3Server
from tests.web.dash import Dashboard
from trackd import Api, Artifact

#: Above the store's multipart threshold (8 MiB parts): uploaded in parts.
BIG = 20 << 20


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()


def _start(env: dict[str, str]) -> DaemonProcess:
    dirs = DaemonDirs.make()
    dirs.env.update(env)
    d = DaemonProcess(dirs)
    d.start()
    return d


def _point_sdk_at(d: DaemonProcess, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK of this process talks to ``d`` from now on, with a download cache and staging
    directory of that "machine"."""
    trackd.teardown()
    for k, v in d.dirs.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(d.dirs.base / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(d.dirs.base / "data"))
    monkeypatch.chdir(tmp)


@contextmanager
def _team(blob_url: str, s3: S3Server, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[list[DaemonProcess]]:
    """Two daemons on one blob store and one metadata database."""
    for k in ("WANDB_MODE", "TRACKD_MODE", "WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_ENTITY"):
        monkeypatch.delenv(k, raising=False)
    for k, v in s3.env.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "db").mkdir()
    env = {**s3.env, "TRACKD_BLOB_URL": blob_url,
           "TRACKD_STORE_URL": f"sqlite:///{tmp_path / 'db' / 'trackd.db'}",
           "TRACKD_BLOB_RETRY": "120"}
    daemons: list[DaemonProcess] = []
    try:
        daemons.append(_start(env))
        daemons.append(_start(env))
        yield daemons
    finally:
        trackd.teardown()
        for d in daemons:
            d.stop()
            d.dirs.cleanup()


def _bucket_keys(s3: S3Server, bucket: str) -> set[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                  Prefix="team/blake3/")
    return {o["Key"].rsplit("/", 2)[-2] + o["Key"].rsplit("/", 1)[-1]
            for page in pages for o in page.get("Contents", [])}


@dataclass
class Team:
    daemons: list[DaemonProcess]
    stored: Callable[[], set[str]]  # the keys the shared store holds


@pytest.fixture(params=["s3", "file"])
def team(request: pytest.FixtureRequest, s3: S3Server, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    """Two daemons sharing a bucket (``s3://<bucket>/team``) or a directory (``file://``,
    as an NFS mount), and a metadata database."""
    if request.param == "s3":
        bucket = s3.new_bucket()
        url = f"s3://{bucket}/team"

        def stored() -> set[str]:
            return _bucket_keys(s3, bucket)
    else:
        shared = tmp_path / "nfs" / "blobs"
        url = f"file://{shared}"

        def stored() -> set[str]:
            return {p.parent.name + p.name for p in (shared / "blake3").glob("*/*")}
    with _team(url, s3, tmp_path, monkeypatch) as daemons:
        yield Team(daemons, stored)


def test_an_artifact_and_run_files_logged_on_one_machine_are_read_on_another(
        team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = team.daemons
    proj = project()
    files = {"weights/big.bin": os.urandom(BIG), "a.txt": b"alpha\n",
             "sub/b.bin": os.urandom(300_000), "sub/deep/c.json": b'{"c": 1}', "empty": b""}
    write_tree(tmp_path / "src", files)
    notes = os.urandom(50_000)

    _point_sdk_at(first, tmp_path, monkeypatch)
    with trackd.init(project=proj) as run:
        art = Artifact("ds", "dataset")
        art.add_dir(str(tmp_path / "src"))
        run.log_artifact(art)
        art.wait()
        assert art.state == "COMMITTED"
        (Path(run.dir) / "notes.bin").write_bytes(notes)
        logged_by = run.path
    assert {blake3(d).hexdigest() for d in files.values()} | {blake3(notes).hexdigest()} <= (
        team.stored())
    # Nothing of it is on the first machine's disk: the bytes are in the shared store only.
    first_root = Path(first.dirs.env["TRACKD_ROOT"])
    assert not (first_root / "blobs").exists() or not any((first_root / "blobs").rglob("*/*/*"))

    _point_sdk_at(second, tmp_path, monkeypatch)
    with trackd.init(project=proj) as reader:
        used = reader.use_artifact("ds:latest")
        root = used.download(str(tmp_path / "downloaded"))
        used_by = reader.path
    assert read_tree(root) == files
    api = Api()
    assert api.run(logged_by).file("notes.bin").read_bytes() == notes
    version = api.artifact(f"{proj}/ds:v0")
    assert "/".join(version.logged_by().path) == logged_by
    assert ["/".join(r.path) for r in version.used_by()] == [used_by]
    assert version.get_entry("weights/big.bin").size == BIG
    # The second machine's dashboard serves both from the shared store too.
    dash = Dashboard.of(second)
    dash.login()
    status, _, body = dash.request(f"/api/v1/runs/{logged_by}/files/notes.bin", token=None)
    assert (status, body) == (200, notes)
    entity = logged_by.split("/")[0]
    for path in ("weights/big.bin", "sub/b.bin"):
        status, _, body = dash.request(
            f"/api/v1/artifacts/{entity}/{proj}/dataset/ds/v0/files/{path}", token=None)
        assert (status, body) == (200, files[path])


def test_an_upload_waits_out_the_bucket_going_away(
        s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bucket stops answering while an artifact uploads, and answers again (on the same
    port, its objects kept) a few seconds later: the uploads are retried and the version
    commits; its bytes read back whole."""
    bucket = s3.new_bucket()
    with _team(f"s3://{bucket}/team", s3, tmp_path, monkeypatch) as (first, _):
        _outage(s3, bucket, first, tmp_path, monkeypatch)


def _outage(s3: S3Server, bucket: str, first: DaemonProcess, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> None:
    proj = project()
    files = {f"f{i}.bin": os.urandom(200_000 + i) for i in range(40)}
    files["big.bin"] = os.urandom(BIG)
    write_tree(tmp_path / "src", files)
    _point_sdk_at(first, tmp_path, monkeypatch)
    s3.stop()
    back = threading.Timer(4.0, s3.start)
    back.start()
    started = time.monotonic()
    try:
        with trackd.init(project=proj) as run:
            art = Artifact("ds", "dataset")
            art.add_dir(str(tmp_path / "src"))
            run.log_artifact(art)
            art.wait()
    finally:
        back.join()
    assert time.monotonic() - started >= 4.0  # it did wait for the bucket
    assert art.state == "COMMITTED"
    assert "unreachable" in first.log_text()
    assert {blake3(d).hexdigest() for d in files.values()} <= _bucket_keys(s3, bucket)
    root = Api().artifact(f"{proj}/ds:v0").download(str(tmp_path / "back"))
    assert read_tree(root) == files
