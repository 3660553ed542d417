"""Settings.http_proxy / https_proxy: the daemon posts a run's alert webhooks and HEADs its
http references through them, the SDK downloads http references through them; without them
nothing goes through the proxy. A loopback forwarding proxy records what it forwarded."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess, wait_for

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
             "all_proxy", "no_proxy", "WANDB_HTTP_PROXY", "WANDB_HTTPS_PROXY")
BODY = b"0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Origin:
    """The server behind the proxy: a webhook (POST /hook) and a file (GET/HEAD /data/...)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                origin.requests.append(("POST", self.path))
                length = int(self.headers["Content-Length"])
                origin.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _file(self, body: bool) -> None:
                origin.requests.append((self.command, self.path))
                self.send_response(200)
                self.send_header("ETag", f'"{self.path.strip("/").replace("/", "-")}"')
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                if body:
                    self.wfile.write(BODY)

            def do_GET(self) -> None:  # noqa: N802
                self._file(True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._file(False)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ForwardingProxy:
    """An HTTP forward proxy (absolute-URI requests): forwards each request to its origin and
    records (method, URL, Proxy-Authorization)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.seen: list[tuple[str, str, str | None]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-authorization", "proxy-connection",
                                                "connection", "host")}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                try:
                    conn.request(self.command, target.path or "/", body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = _forward  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, creds: str = "") -> str:
        return f"http://{creds + '@' if creds else ''}127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def origin(monkeypatch):  # type: ignore[no-untyped-def]
    for k in PROXY_ENV:  # only the settings (or what a test sets) name a proxy
        monkeypatch.delenv(k, raising=False)
    o = Origin()
    yield o
    o.close()


def test_webhooks_of_a_run_go_through_its_proxy_even_after_a_restart(origin, monkeypatch,
                                                                    tmp_path):
    trackd.teardown()
    monkeypatch.chdir(tmp_path)
    proxy = ForwardingProxy()  # not listening yet: the first deliveries fail
    dirs = DaemonDirs.make()
    dirs.env["TRACKD_ALERT_WEBHOOK"] = f"{origin.url}/hook"
    for k, v in dirs.env.items():
        monkeypatch.setenv(k, v)
    daemon = DaemonProcess(dirs)
    daemon.start()
    try:
        # Without the setting the webhook is posted directly.
        with trackd.init(project="px", id="direct") as run:
            run.alert("direct", "no proxy")
            wait_for(lambda: [p["title"] for p in origin.posts] == ["direct"])
        settings = trackd.Settings(http_proxy=proxy.url("ann:s3cret"))
        with trackd.init(project="px", id="proxied", settings=settings) as run:
            run.alert("via proxy", "through the run's proxy")
            wait_for(lambda: "failed (attempt 1/" in daemon.log_text())  # the proxy is down
        # The run has ended; a restarted daemon still posts its alert through its proxy.
        daemon.stop()
        proxy.start()
        daemon.start()
        wait_for(lambda: [p["title"] for p in origin.posts] == ["direct", "via proxy"],
                 timeout=60)
        auth = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        assert proxy.seen == [("POST", f"{origin.url}/hook", auth)]
        assert "s3cret" not in daemon.log_text()
    finally:
        trackd.teardown()
        daemon.stop()
        proxy.close()
        dirs.cleanup()


def _log_reference(url: str, name: str) -> str:
    """Log an artifact referencing ``url``; its name for Api().artifact()."""
    with trackd.init(project="px-refs") as run:
        art = trackd.Artifact(name, "dataset")
        art.add_reference(url)
        run.log_artifact(art).wait()
    return f"px-refs/{name}:v0"


def test_http_references_are_resolved_and_downloaded_through_the_proxy(origin, art_sdk,
                                                                       monkeypatch):
    proxy = ForwardingProxy()
    proxy.start()
    try:
        # Each phase its own URL (and ETag): nothing comes from the download cache.
        url = f"{origin.url}/data/a/file.bin"
        trackd.setup(trackd.Settings(http_proxy=proxy.url()))
        name = _log_reference(url, "via-proxy")
        trackd.Api().artifact(name).download(str(art_sdk / "via-proxy"))
        assert (art_sdk / "via-proxy" / "file.bin").read_bytes() == BODY
        assert [(m, u) for m, u, _ in proxy.seen] == [("HEAD", url), ("GET", url)]
        trackd.teardown()

        # Without the setting: straight to the origin.
        url = f"{origin.url}/data/b/file.bin"
        seen = len(origin.requests)
        name = _log_reference(url, "direct")
        trackd.Api().artifact(name).download(str(art_sdk / "direct"))
        assert (art_sdk / "direct" / "file.bin").read_bytes() == BODY
        assert origin.requests[seen:] == [("HEAD", "/data/b/file.bin"),
                                          ("GET", "/data/b/file.bin")]
        assert len(proxy.seen) == 2
        trackd.teardown()

        # Where no setting names one, the standard environment's proxy is used.
        url = f"{origin.url}/data/c/file.bin"
        name = _log_reference(url, "by-env")
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        trackd.Api().artifact(name).download(str(art_sdk / "env"))
        assert (art_sdk / "env" / "file.bin").read_bytes() == BODY
        assert proxy.seen[2:] == [("GET", url, None)]
    finally:
        proxy.close()


def test_a_bad_proxy_setting_is_refused_without_its_password():
    with pytest.raises(trackd.errors.UsageError, match="http_proxy") as e:
        trackd.Settings(http_proxy="ftp://ann:s3cret@proxy.example")
    assert "s3cret" not in str(e.value)
