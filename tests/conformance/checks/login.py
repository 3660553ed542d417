"""2.5 ``login``: the seed's return value and errors, for trackd's credentials (a daemon's TCP
listener and its token), against a real daemon with a TCP listener."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import trackd
from tests.conformance.registry import check
from tests.faults.test_tcp_auth import _tcp_address
from tests.helpers import DaemonDirs, DaemonProcess


@check("wandb.login", "wandb.login.anonymous", "wandb.login.key", "wandb.login.host",
       "wandb.login.verify", "wandb.login.relogin", "wandb.login.force", "wandb.login.timeout",
       "wandb.login.referrer")
def _(ctx):  # type: ignore[no-untyped-def]
    config = ctx.tmp / "config"
    ctx.monkeypatch.setenv("TRACKD_CONFIG_DIR", str(config))
    # The own daemon's socket needs no key: True at once (YOLOv5's import-time call).
    assert trackd.login(timeout=30) is True
    assert trackd.login(anonymous="allow", referrer="models") is True
    with pytest.raises(trackd.UsageError, match="anonymous"):
        trackd.login(anonymous="sometimes")
    assert not config.exists()

    dirs = DaemonDirs.make()
    dirs.env["TRACKD_TCP_ADDRESS"] = "127.0.0.1:0"
    daemon = DaemonProcess(dirs)
    daemon.start()
    try:
        host = f"http://{_tcp_address(daemon)}"
        token = (Path(dirs.env["TRACKD_STATE_DIR"]) / "token").read_text().strip()
        # A wrong key: AuthenticationError with verify=True, and nothing stored.
        with pytest.raises(trackd.errors.AuthenticationError, match="refused the key"):
            trackd.login(key="not-the-token", host=host, verify=True)
        assert not (config / "login.json").exists()
        # The right key, verified: True, stored owner-only for later processes.
        assert trackd.login(key=token, host=host, verify=True) is True
        path = config / "login.json"
        assert json.loads(path.read_text()) == {"host": host, "key": token}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # relogin/force ask for the key again: no terminal here, so UsageError.
        for flag in ("relogin", "force"):
            with pytest.raises(trackd.UsageError, match="no terminal"):
                trackd.login(host=host, timeout=5, **{flag: True})
    finally:
        daemon.stop()
        dirs.cleanup()
