"""Fixtures of the end-to-end tests. ``sweep_sdk``: the sweep SDK tests' daemon, with no agent
variables left over from the environment and agents that report every half second."""

from __future__ import annotations

import pytest


@pytest.fixture
def sweep_sdk(clean_sdk, monkeypatch):  # type: ignore[no-untyped-def]
    for prefix in ("TRACKD_", "WANDB_"):
        for name in ("SWEEP_ID", "SWEEP_PARAM_PATH", "RUN_ID", "PROJECT", "ENTITY"):
            monkeypatch.delenv(prefix + name, raising=False)
    monkeypatch.setenv("TRACKD_AGENT_REPORT_INTERVAL", "0.5")
    return clean_sdk
