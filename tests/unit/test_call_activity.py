"""CallActivity counts calls while they are served, streams until they end."""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel
import pytest

from trackd_daemon.rpc.activity import CallActivity


@pytest.mark.anyio
async def test_a_unary_call_is_busy_while_served_and_for_a_while_after() -> None:
    calls = CallActivity()
    seen: list[int] = []

    async def handler(request: object, context: object) -> str:
        seen.append(calls.open)
        return "ok"

    assert await calls.unary(handler)(None, None) == "ok"
    assert seen == [1] and calls.open == 0
    assert calls.busy(60.0)
    calls.last_call = time.monotonic() - 61.0
    assert not calls.busy(60.0)


@pytest.mark.anyio
async def test_a_stream_is_counted_until_it_ends_even_when_it_fails() -> None:
    calls = CallActivity()
    calls.last_call = time.monotonic() - 100.0

    async def handler(request: object, context: object):  # type: ignore[no-untyped-def]
        yield 1
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("broken")

    stream = calls.streaming(handler)(None, None)
    assert await stream.__anext__() == 1
    assert calls.open == 1 and calls.busy(1.0)
    with pytest.raises(RuntimeError):
        await stream.__anext__()
    assert calls.open == 0 and calls.busy(1.0)
