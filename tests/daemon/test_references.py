"""Reference resolution without the servers (the servers are in tests/e2e)."""

from __future__ import annotations

import sys

import pytest

from trackd_daemon.artifacts import references
from trackd_daemon.errors import FailedPreconditionError


def test_s3_references_without_boto3_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(FailedPreconditionError, match=r"pip install 'trackd\[s3\]'"):
        references._s3("s3://bucket/key", "", True, 10)
