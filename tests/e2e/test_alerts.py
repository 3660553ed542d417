"""run.alert(): stored, rate limited per title, delivered to loopback webhooks with retries."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import trackd
from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd import Api


class Receiver:
    """A loopback webhook receiver (started later than the daemon, to test retries)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.posts: list[tuple[str, dict]] = []
        self.server: HTTPServer | None = None

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def alert_daemon(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    trackd.teardown()
    receiver = Receiver()
    dirs = DaemonDirs.make()
    dirs.env["TRACKD_ALERT_WEBHOOK"] = f"http://127.0.0.1:{receiver.port}/hook"
    dirs.env["TRACKD_ALERT_SLACK_WEBHOOK"] = f"http://127.0.0.1:{receiver.port}/slack"
    for k, v in dirs.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    daemon = DaemonProcess(dirs)
    daemon.start()
    yield daemon, receiver
    trackd.teardown()
    daemon.stop()
    receiver.stop()
    dirs.cleanup()


def test_alerts_are_retried_until_the_receiver_is_up_and_rate_limited(alert_daemon):
    daemon, receiver = alert_daemon
    run = trackd.init(project="alerts", id="alerty1")
    run.alert("loss diverged", "loss is NaN at step 10", level=trackd.AlertLevel.ERROR)
    run.alert("loss diverged", "again, within the minute")  # suppressed: same title
    run.alert("slow", "epoch took 3 h", level="warn", wait_duration=0)
    run.alert("slow", "another slow epoch", level="WARN", wait_duration=0)  # 0: not limited
    run.summary.keys()  # everything is in the store now
    wait_for(lambda: "failed (attempt 1/" in daemon.log_text())  # the receiver is down
    receiver.start()
    wait_for(lambda: len(receiver.posts) == 6, timeout=30)  # 3 alerts x 2 sinks
    hooks = [body for path, body in receiver.posts if path == "/hook"]
    slack = [body for path, body in receiver.posts if path == "/slack"]
    assert [(b["title"], b["level"]) for b in hooks] == [
        ("loss diverged", "ERROR"), ("slow", "WARN"), ("slow", "WARN")]
    assert hooks[0]["run"] == run.path and hooks[0]["text"] == "loss is NaN at step 10"
    assert slack[0]["text"].startswith("*[ERROR] loss diverged*")
    run.finish()
    stored = Api().alerts(f"{run.entity}/alerts/alerty1")
    assert len(stored) == 4
    suppressed = [a for a in stored if a["suppressed"]]
    assert [a["text"] for a in suppressed] == ["again, within the minute"]
    assert all(a["delivered_at"] > 0 for a in stored if not a["suppressed"])


def test_alert_arguments(alert_daemon):
    run = trackd.init(project="alerts")
    with pytest.raises(ValueError, match="INFO, WARN or ERROR"):
        run.alert("t", "x", level="LOUD")
    with pytest.raises(TypeError):
        run.alert("t", "x", wait_duration="soon")  # type: ignore[arg-type]
    import datetime

    run.alert("t", "x", wait_duration=datetime.timedelta(minutes=5))
    run.finish()
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "alerts", "ls", "alerts"],
                         capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=False)
    assert out.returncode == 0 and "t" in out.stdout and "INFO" in out.stdout, out.stderr
