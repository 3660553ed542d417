"""ArtifactService.ResolveReference against real servers on loopback: file://, an HTTP server
(aiohttp), an S3-compatible server (moto's server mode); gs:// and Azure are refused (the SDK
resolves those itself: test_artifact_references_cloud.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.e2e.test_artifact_rpc import Client, reason
from tests.helpers import DaemonProcess
from trackd.v1 import artifact_pb2 as apb
from trackd.v1 import artifact_service_pb2 as pb


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[Client]:
    c = Client(daemon)
    yield c
    c.close()


def resolve(client: Client, uri: str, **kw: Any) -> pb.ResolveReferenceResponse:
    kw.setdefault("checksum", True)
    return client.art.ResolveReference(pb.ResolveReferenceRequest(uri=uri, **kw))


def test_file_references(client: Client, tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes(b"aaa")
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"bb")
    one = resolve(client, f"file://{tmp_path}/d/a.txt").entries
    assert [(e.path, e.digest, e.size, e.ref) for e in one] == [
        ("a.txt", md5_b64(b"aaa"), 3, f"file://{tmp_path}/d/a.txt")]
    unchecked = resolve(client, f"file://{tmp_path}/d/a.txt", checksum=False).entries
    assert unchecked[0].digest == md5_b64(f"file://{tmp_path}/d/a.txt".encode())
    tree = resolve(client, f"file://{tmp_path}/d", name="data").entries
    assert [(e.path, e.size) for e in tree] == [("data/a.txt", 3), ("data/sub/b.txt", 2)]
    assert tree[1].ref == f"file://{tmp_path}/d/sub/b.txt"
    with pytest.raises(grpc.RpcError) as err:
        resolve(client, f"file://{tmp_path}/d", max_objects=1)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_objects" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        resolve(client, f"file://{tmp_path}/missing")
    assert reason(err.value) == "REFERENCE_FAILED"
    version = client.log("refs", "files", list(tree))
    assert version.artifact.state == apb.ARTIFACT_STATE_COMMITTED
    assert version.artifact.size == 5


@pytest.fixture
def http_server() -> Iterator[str]:
    from aiohttp import web

    async def with_etag(_: web.Request) -> web.Response:
        return web.Response(body=b"0123456789", headers={"ETag": '"abc123"'})

    async def plain(_: web.Request) -> web.Response:
        return web.Response(body=b"xyz")

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/data/file.bin", with_etag)
    app.router.add_get("/plain", plain)
    app.router.add_get("/missing", missing)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_http_references_use_etag_and_content_length(client: Client, http_server: str) -> None:
    (e,) = resolve(client, f"{http_server}/data/file.bin").entries
    assert (e.path, e.digest, e.size, e.ref) == ("file.bin", "abc123", 10,
                                                 f"{http_server}/data/file.bin")
    assert json.loads(e.extra_json) == {"etag": '"abc123"'}
    (p,) = resolve(client, f"{http_server}/plain", name="p.txt").entries
    assert (p.path, p.digest, p.size) == ("p.txt", f"{http_server}/plain", 3)
    with pytest.raises(grpc.RpcError) as err:
        resolve(client, f"{http_server}/missing")
    assert reason(err.value) == "REFERENCE_FAILED" and "404" in err.value.details()
    # Without checksum nothing is asked (even of a URL that would fail): the URI is the digest.
    (u,) = resolve(client, f"{http_server}/missing", checksum=False).entries
    assert (u.path, u.digest, u.size, u.ref) == ("missing", f"{http_server}/missing", -1,
                                                 f"{http_server}/missing")


def test_unsupported_and_unknown_schemes(client: Client) -> None:
    for uri, missing in (("gs://bucket/key", "google-cloud-storage"),
                         ("https://acct.blob.core.windows.net/c/b", "azure-storage-blob")):
        with pytest.raises(grpc.RpcError) as err:
            resolve(client, uri)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert reason(err.value) == "REFERENCE_NOT_SUPPORTED"
        assert missing in err.value.details() and "the SDK resolves them" in err.value.details()
    other = resolve(client, "ftp://host/dir/x.csv")
    assert [(e.path, e.digest, e.size) for e in other.entries] == [
        ("x.csv", "ftp://host/dir/x.csv", -1)]
    assert "cannot be checksummed" in other.warnings[0]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3-compatible server on loopback, and the environment the daemon reads it from."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("s3")
    client.create_bucket(Bucket="bkt")
    client.put_bucket_versioning(Bucket="bkt", VersioningConfiguration={"Status": "Enabled"})
    for key, body in (("models/a.bin", b"A" * 10), ("models/sub/b.bin", b"B" * 20),
                      ("single.txt", b"one")):
        client.put_object(Bucket="bkt", Key=key, Body=body)
    yield client
    server.stop()


def test_s3_references(s3: Any, own_daemon: DaemonProcess) -> None:
    client = Client(own_daemon)
    try:
        head = s3.head_object(Bucket="bkt", Key="single.txt")
        (one,) = resolve(client, "s3://bkt/single.txt").entries
        assert (one.path, one.digest, one.size, one.ref) == (
            "single.txt", head["ETag"].strip('"'), 3, "s3://bkt/single.txt")
        assert json.loads(one.extra_json) == {"etag": head["ETag"].strip('"'),
                                              "versionID": head["VersionId"]}
        pinned = resolve(client, f"s3://bkt/single.txt?versionId={head['VersionId']}").entries
        assert pinned[0].digest == one.digest
        prefix = resolve(client, "s3://bkt/models", name="m").entries
        assert [(e.path, e.size, e.ref) for e in prefix] == [
            ("m/a.bin", 10, "s3://bkt/models/a.bin"), ("m/sub/b.bin", 20, "s3://bkt/models/sub/b.bin")]
        with pytest.raises(grpc.RpcError) as err:
            resolve(client, "s3://bkt/models", max_objects=1)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        (unchecked,) = resolve(client, "s3://bkt/models", checksum=False).entries
        assert (unchecked.path, unchecked.digest, unchecked.size) == ("models", "s3://bkt/models",
                                                                      -1)
        with pytest.raises(grpc.RpcError) as err:
            resolve(client, "s3://bkt/nothing-here")
        assert reason(err.value) == "REFERENCE_FAILED"
        logged = client.log("refs", "s3-model", list(prefix), type="model")
        assert logged.artifact.state == apb.ARTIFACT_STATE_COMMITTED
    finally:
        client.close()
