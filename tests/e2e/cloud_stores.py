"""Object stores on loopback for reference tests: a small Google Cloud Storage double speaking
the JSON API calls google-cloud-storage makes (object get, list, media download with ranges,
generations), and Azurite (Microsoft's Azure Storage emulator, from npm through ``npx``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest


@dataclass
class GcsObject:
    name: str
    data: bytes
    generation: int

    def resource(self, bucket: str) -> dict[str, Any]:
        return {"kind": "storage#object", "bucket": bucket, "name": self.name,
                "id": f"{bucket}/{self.name}/{self.generation}",
                "generation": str(self.generation), "metageneration": "1",
                "size": str(len(self.data)), "contentType": "application/octet-stream",
                "md5Hash": base64.b64encode(hashlib.md5(self.data).digest()).decode(),
                "etag": f"CN{self.generation}Q=", "updated": "2024-01-01T00:00:00.000Z"}


@dataclass
class FakeGcs:
    """Buckets of objects, each a list of generations (the last is live)."""

    url: str = ""
    buckets: dict[str, dict[str, list[GcsObject]]] = field(default_factory=dict)
    ranged_reads: int = 0
    _next_generation: int = 1000

    def put(self, bucket: str, name: str, data: bytes) -> GcsObject:
        self._next_generation += 1
        obj = GcsObject(name, data, self._next_generation)
        self.buckets.setdefault(bucket, {}).setdefault(name, []).append(obj)
        return obj

    def find(self, bucket: str, name: str, generation: str | None) -> GcsObject | None:
        versions = self.buckets.get(bucket, {}).get(name, [])
        if generation:
            return next((o for o in versions if str(o.generation) == generation), None)
        return versions[-1] if versions else None


def _not_found() -> Any:
    from aiohttp import web

    return web.json_response({"error": {"code": 404, "message": "No such object."}},
                             status=404)


def _gcs_app(store: FakeGcs) -> Any:
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        parts = request.rel_url.raw_path.split("/")
        q = request.query
        # /storage/v1/b/<bucket>/o[/<object>]  and  /download/storage/v1/b/<bucket>/o/<object>
        download = parts[1] == "download"
        if download:
            parts = parts[1:]
        if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 6 or parts[5] != "o":
            return web.json_response({"error": {"code": 400, "message": "unknown"}}, status=400)
        bucket = unquote(parts[4])
        if len(parts) == 6 or parts[6] == "":
            prefix = q.get("prefix", "")
            objects = sorted(store.buckets.get(bucket, {}).items())
            items = [v[-1].resource(bucket) for n, v in objects if n.startswith(prefix)]
            return web.json_response({"kind": "storage#objects", "items": items})
        obj = store.find(bucket, unquote("/".join(parts[6:])), q.get("generation"))
        if obj is None:
            return _not_found()
        if not (download or q.get("alt") == "media"):
            return web.json_response(obj.resource(bucket))
        rng = request.headers.get("Range")
        if rng:
            store.ranged_reads += 1
            start_s, _, end_s = rng.removeprefix("bytes=").partition("-")
            start, end = int(start_s), min(int(end_s), len(obj.data) - 1)
            body = obj.data[start:end + 1]
            return web.Response(body=body, status=206, headers={
                "Content-Range": f"bytes {start}-{end}/{len(obj.data)}",
                "x-goog-generation": str(obj.generation)})
        return web.Response(body=obj.data, headers={"x-goog-generation": str(obj.generation)})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGcs]:
    """The GCS double on loopback; ``STORAGE_EMULATOR_HOST`` points the library at it."""
    pytest.importorskip("google.cloud.storage")
    from aiohttp import web

    from trackd.artifacts.stores import gcs as gcs_store

    store = FakeGcs()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_gcs_app(store))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    store.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", store.url)
    gcs_store._clients.clear()  # a client for this endpoint
    yield store
    gcs_store._clients.clear()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


#: Azurite's well-known development account (documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def azurite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob service on loopback (installed from npm by ``npx`` on first use)."""
    pytest.importorskip("azure.storage.blob")
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx (Node.js) is not installed: Azurite cannot run")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("azurite") / "azurite.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [npx, "--yes", "--package=azurite@3", "azurite-blob", "--blobHost", "127.0.0.1",
         "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "npm_config_yes": "true"})
    deadline = time.monotonic() + 100  # the first run installs Azurite
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.skip("Azurite did not start (npm registry unreachable?)")
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture
def azure_blobs(azurite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh container ``c-<n>`` in Azurite, and the connection string in the environment
    (the account's URI form is ``https://devstoreaccount1.blob.core.windows.net``)."""
    from azure.storage.blob import BlobServiceClient

    conn = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={azurite_url};")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
    service = BlobServiceClient.from_connection_string(conn)
    name = f"c-{os.getpid()}-{time.monotonic_ns()}"
    container = service.create_container(name)
    yield container
    container.delete_container()


def azure_uri(container: Any, path: str = "") -> str:
    return (f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{container.container_name}"
            + (f"/{path}" if path else ""))
