"""The dashboard's port: the user's own, remembered in the state directory, the next free one
when taken; a configured port is tried first and not remembered. And the linger setting."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from trackd_daemon.config import DaemonConfig
from trackd_daemon.web.port import (
    PORT_FILE,
    SCAN,
    bind_first,
    candidates,
    preferred_port,
    remember_port,
    remembered_port,
)


def test_preferred_port_is_per_user_and_stable() -> None:
    assert preferred_port(1000) == 8470 and preferred_port(0) == 8470
    assert preferred_port(1001) == 8471 == preferred_port(1101)
    assert preferred_port() == preferred_port()


def test_the_remembered_port_comes_first(tmp_path: Path) -> None:
    first = preferred_port()
    assert candidates(None, tmp_path) == [*range(first, first + SCAN), 0]
    remember_port(tmp_path, 9123)
    assert remembered_port(tmp_path) == 9123
    assert candidates(None, tmp_path)[:2] == [9123, first] and candidates(None, tmp_path)[-1] == 0
    remember_port(tmp_path, first + 2)  # in the scanned range: tried once, first
    ports = candidates(None, tmp_path)
    assert ports[0] == first + 2 and ports.count(first + 2) == 1


@pytest.mark.parametrize("text", ["", "nope", "0", "70000", "-5"])
def test_an_unusable_port_file_is_ignored(tmp_path: Path, text: str) -> None:
    (tmp_path / PORT_FILE).write_text(text)
    assert remembered_port(tmp_path) is None
    assert candidates(None, tmp_path)[0] == preferred_port()


def test_configured_ports(tmp_path: Path) -> None:
    remember_port(tmp_path, 9123)
    assert candidates(0, tmp_path) == [0]
    assert candidates(8600, tmp_path) == [8600, 0]


def test_bind_first_skips_taken_ports() -> None:
    taken = bind_first("127.0.0.1", [0])
    try:
        port = taken.getsockname()[1]
        got = bind_first("127.0.0.1", [port, 0])
        assert got.getsockname()[1] not in (port, 0)
        got.close()
        with pytest.raises(OSError, match="all taken"):
            bind_first("127.0.0.1", [port])
    finally:
        taken.close()
    again = bind_first("127.0.0.1", [port])  # free again: the same port
    assert again.getsockname()[1] == port and again.type == socket.SOCK_STREAM
    again.close()


def test_config_port_and_linger(tmp_path: Path) -> None:
    env = {"TRACKD_ROOT": str(tmp_path)}
    cfg = DaemonConfig.from_env(env)
    assert cfg.ui_port is None and cfg.linger_seconds == 600.0
    cfg = DaemonConfig.from_env({**env, "TRACKD_UI_PORT": "0", "TRACKD_LINGER": "30"})
    assert cfg.ui_port == 0 and cfg.linger_seconds == 30.0
    with pytest.raises(SystemExit, match="TRACKD_LINGER"):
        DaemonConfig.from_env({**env, "TRACKD_LINGER": "soon"})
