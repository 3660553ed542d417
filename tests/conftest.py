"""Shared fixtures: a real daemon for the session, and per-test clean SDK state."""

from __future__ import annotations

import os

# As in a training script, where trackd sets this before gRPC is first imported: gRPC's own
# fork handlers must stay off so that forked children (which never use the inherited gRPC
# state) start and exit cleanly. Tests import grpc directly, so set it before they do.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import helpers
from tests.helpers import ENV_KEYS, DaemonDirs, DaemonProcess


@pytest.fixture(scope="session")
def daemon() -> Iterator[DaemonProcess]:
    """One daemon for tests that only need a working daemon; its env is set for the session."""
    dirs = DaemonDirs.make()
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(dirs.env)
    d = DaemonProcess(dirs)
    d.start()
    yield d
    import trackd

    trackd.teardown()
    d.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    dirs.cleanup()


@pytest.fixture
def own_daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    """A daemon of this test's own (for tests that kill or restart it)."""
    with helpers.own_daemon(monkeypatch) as d:
        yield d


@pytest.fixture
def clean_sdk(daemon: DaemonProcess, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:  # type: ignore[no-untyped-def]
    """The session daemon, a fresh SDK state, and run directories under tmp_path."""
    import trackd

    monkeypatch.chdir(tmp_path)
    for k, v in daemon.dirs.env.items():
        monkeypatch.setenv(k, v)
    for k in ("WANDB_MODE", "TRACKD_MODE", "WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_ENTITY"):
        monkeypatch.delenv(k, raising=False)
    yield daemon
    trackd.teardown()


@pytest.fixture
def art_sdk(clean_sdk: DaemonProcess, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """``clean_sdk`` plus artifact dirs of the test's own (download cache, staging copies)
    under tmp_path, which it yields."""
    import trackd

    trackd.teardown()
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRACKD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRACKD_ARTIFACT_CACHE_MAX_SIZE", raising=False)
    yield tmp_path
    trackd.teardown()
