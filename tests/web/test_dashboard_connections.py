"""The dashboard's connections (issue 14, finding 4): half-sent requests and silent connections
are closed after the request timeout, authenticated streams are not; another local user
holding or opening a thousand idle connections leaves the owner's dashboard and runs working;
the daemon raises its open-files limit at start."""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackd
from tests import helpers
from tests.helpers import DaemonProcess
from tests.web.dash import Dashboard
from trackd_daemon.web.connections import MAX_CONNECTIONS

TIMEOUT = 2.0  # TRACKD_UI_REQUEST_TIMEOUT of these tests' daemons


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    """A daemon whose dashboard times requests out after TIMEOUT seconds."""
    with helpers.own_daemon(monkeypatch, {"TRACKD_UI_REQUEST_TIMEOUT": str(TIMEOUT)}) as d:
        yield d


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the peer closes ``sock`` (reading and dropping what it sends), or None
    when it is still open after ``seconds``."""
    start = time.monotonic()
    poller = select.poll()  # not select(): the test process may hold more than 1024 descriptors
    poller.register(sock, select.POLLIN)
    while (left := start + seconds - time.monotonic()) > 0:
        if not poller.poll(left * 1000):
            continue
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except ConnectionResetError:
            return time.monotonic() - start
    return None


def test_half_sent_requests_and_silent_connections_are_closed(quick: DaemonProcess) -> None:
    dash = Dashboard.of(quick)
    host = f"127.0.0.1:{dash.port}"
    address = ("127.0.0.1", dash.port)
    body_head = (f"POST {{path}} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
                 f"Authorization: Bearer {dash.token}\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1000\r\n\r\n{{\"half\": ")
    sends: dict[str, bytes] = {
        "silent": b"",
        "half headers": f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode(),
        "half body, logged in": body_head.format(path="/api/v1/projects").encode(),
        "half body, login form": body_head.format(path="/login").replace(
            f"Authorization: Bearer {dash.token}\r\n", "").encode(),
        "idle after a request": (f"GET /api/v1/projects HTTP/1.1\r\nHost: {host}\r\n"
                                 f"Authorization: Bearer {dash.token}\r\n\r\n").encode(),
    }
    socks = {}
    for name, data in sends.items():
        socks[name] = socket.create_connection(address)
        socks[name].sendall(data)
    trickle = socket.create_connection(address)  # slowloris: a header byte every 0.3 s
    stop = threading.Event()

    def drip() -> None:
        with_header = f"GET / HTTP/1.1\r\nHost: {host}\r\nX-A: ".encode()
        trickle.sendall(with_header)
        while not stop.wait(0.3):
            try:
                trickle.sendall(b"a")
            except OSError:
                return

    threading.Thread(target=drip, daemon=True).start()
    socks["trickled headers"] = trickle
    # Closed within the timeout, plus what aiohttp takes to drop a body it did not read (at
    # most the timeout again), plus the sweep's second and some slack.
    bound = 2 * TIMEOUT + 3
    try:
        took = {name: closed_within(s, bound + 1) for name, s in socks.items()}
    finally:
        stop.set()
        for s in socks.values():
            s.close()
    assert all(t is not None and t <= bound for t in took.values()), took


def test_an_authenticated_live_stream_outlives_the_timeout(quick: DaemonProcess) -> None:
    dash = Dashboard.of(quick)
    run = trackd.init(project="live-stream")
    run.log({"loss": 1.0})
    try:
        s = socket.create_connection(("127.0.0.1", dash.port))
        s.sendall((f"GET /api/v1/runs/{run.entity}/live-stream/{run.id}/events HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{dash.port}\r\nAuthorization: Bearer {dash.token}\r\n\r\n")
                  .encode())
        assert closed_within(s, 3 * TIMEOUT + 2) is None  # still streaming
        s.close()
    finally:
        run.finish()


def _owner_get(dash: Dashboard) -> float:
    start = time.monotonic()
    req = urllib.request.Request(dash.base + "api/v1/projects",
                                 headers={"Authorization": f"Bearer {dash.token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    return time.monotonic() - start


def _daemon_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_the_owner_is_served_while_another_user_opens_a_thousand_idle_connections(
        own_daemon: DaemonProcess) -> None:
    # A common soft limit on open files (the daemon raises its soft limit to the hard one at
    # start; here the hard one is 1,024 too).
    resource.prlimit(own_daemon.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))  # the attacker's own sockets
    dash = Dashboard.of(own_daemon)
    before = _daemon_fds(own_daemon.pid)
    held: list[socket.socket] = []
    refused = 0
    done = threading.Event()

    def attack() -> None:
        nonlocal refused
        for _ in range(1000):
            try:
                held.append(socket.create_connection(("127.0.0.1", dash.port), timeout=2))
            except OSError:
                refused += 1
        done.set()

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    owner: list[float] = []
    try:
        while not done.is_set():
            owner.append(_owner_get(dash))
        attacker.join()
        fds = _daemon_fds(own_daemon.pid)
        # The attacker holds what is left of a thousand connections: the owner's requests
        # and runs go on.
        owner.extend(_owner_get(dash) for _ in range(20))
        run = trackd.init(project="under-siege")
        run.log({"loss": 0.5})
        run.finish()
        assert trackd.Api().run(f"{run.entity}/under-siege/{run.id}").history_rows == 1
    finally:
        for s in held:
            s.close()
    assert len(owner) > 20 and max(owner) < 5.0, owner
    assert fds <= before + MAX_CONNECTIONS + 16, (before, fds)
    assert "closed to make room" in own_daemon.log_text()


def test_the_daemon_raises_its_open_files_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 512:
        pytest.skip(f"the hard limit on open files ({hard}) leaves nothing to raise")

    # In the daemon's process only: the test's own may hold more.
    with helpers.own_daemon(monkeypatch, rlimits={resource.RLIMIT_NOFILE: (512, hard)}) as d:
        limits = Path(f"/proc/{d.pid}/limits").read_text()
        line = next(ln for ln in limits.splitlines() if ln.startswith("Max open files"))
        assert line.split()[3] == str(hard), line
        assert f"open files limit raised from 512 to {hard}" in d.log_text()
