"""Shared fixtures of the daemon's tests."""

from __future__ import annotations

import pytest

# The store contract is a plain module imported by each backend's test module: have pytest
# rewrite its asserts too, so that failures show the compared values.
pytest.register_assert_rewrite("tests.daemon.store.contract")


@pytest.fixture
def anyio_backend() -> str:
    """The daemon runs on asyncio (uvloop in production); its async tests do too."""
    return "asyncio"
