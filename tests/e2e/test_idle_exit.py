"""A daemon with an idle timeout (as ``trackd.setup()`` starts them) stops once nothing has used
it for that long: never while a run is live or a client is reading, and only after the run is
finished."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import trackd
from tests.helpers import DaemonProcess, own_daemon, wait_for
from trackd import Api

IDLE = 2.0


@pytest.fixture
def idle_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[DaemonProcess]:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    with own_daemon(monkeypatch, {"TRACKD_IDLE_TIMEOUT": str(IDLE)}) as d:
        yield d


def test_a_live_run_keeps_an_idle_daemon_up_and_it_stops_after_the_finish(idle_daemon):
    run = trackd.init(project="idle", id="live1")
    for i in range(3):
        run.log({"i": i})
        time.sleep(IDLE)  # three idle timeouts pass while the run is live
    assert idle_daemon.proc.poll() is None, idle_daemon.log_text()[-2000:]
    run.finish()
    api = Api()
    for _ in range(3):  # no run is live, but reads keep coming: the daemon stays
        rows = [r["i"] for r in api.run(f"{run.entity}/idle/live1").scan_history()]
        assert rows == [0, 1, 2]
        time.sleep(IDLE * 0.6)
    assert idle_daemon.proc.poll() is None, idle_daemon.log_text()[-2000:]
    trackd.teardown()  # the SDK's connection closes: nothing uses the daemon any more
    wait_for(lambda: idle_daemon.proc.poll() is not None, timeout=IDLE * 10)
    assert idle_daemon.proc.returncode == 0
    assert "idle for" in idle_daemon.log_text()
