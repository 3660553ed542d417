"""The history actor while the store cannot take its rounds (a team database that is away):
it keeps taking messages into a bounded backlog, warns once, retries, and stores every row
once, in order, when the store is back."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from trackd._shared.history import RunHistory
from trackd_daemon.actors import history as history_mod
from trackd_daemon.actors.history import Barrier, HistoryActor, Ingest
from trackd_daemon.errors import StoreUnavailableError
from trackd_daemon.records import History
from trackd_daemon.session import RunSession
from trackd_daemon.store.models import RunChanges, RunInfo, RunKey

pytestmark = pytest.mark.anyio


class AwayStore:
    """Only what the history actor calls: ``apply``, failing while ``away``."""

    def __init__(self) -> None:
        self.away = True
        self.tries = 0
        self.rows: list[tuple[int, int]] = []  # (run pk, step) in the order stored

    async def apply(self, changes: list[RunChanges]) -> None:
        self.tries += 1
        await anyio.sleep(0.01)
        if self.away:
            raise StoreUnavailableError("the test store cannot be reached")
        for ch in changes:
            self.rows.extend((ch.pk, step) for step, _ in ch.rows)


def _session(pk: int) -> RunSession:
    key = RunKey("e", "p", f"r{pk}")
    info = RunInfo(pk, key, "n", "", [], "", "", "running", 0, 0.0, 0.0, 0.0, {}, {}, [], 0,
                   -1, "h", "", 0.0, "", "", 0)
    return RunSession(key, pk, wal=Any, history=RunHistory(), info=info)  # type: ignore[arg-type]


def _batch(first_seq: int, n: int) -> list[History]:
    return [History(first_seq + i, {"x": float(first_seq + i)}, None, None, 0.0)
            for i in range(n)]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_mod, "SLOW_STORE_SECONDS", 0.05)
    monkeypatch.setattr(history_mod, "RETRY_FIRST", 0.02)
    monkeypatch.setattr(history_mod, "RETRY_MAX", 0.05)


async def test_messages_are_taken_while_the_store_is_away_and_stored_once_when_back(
        caplog: pytest.LogCaptureFixture) -> None:
    store = AwayStore()
    actor = HistoryActor(store)  # type: ignore[arg-type]
    runs = [_session(1), _session(2)]
    batches = 3 * HistoryActor.mailbox_size  # more than the mailbox holds
    caplog.set_level(logging.WARNING, "trackd.daemon.history")
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        with anyio.fail_after(10):  # never held up by the store being away
            for b in range(batches):
                s = runs[b % 2]
                await actor.tell(Ingest(s, _batch(b // 2 * 10 + 1, 10)))
        await anyio.sleep(0.3)
        assert store.rows == [] and store.tries > 1  # retried with backoff, nothing stored
        store.away = False
        with anyio.fail_after(10):
            await actor.ask(lambda r: Barrier(r))
        actor.close()
    for s in runs:
        steps = [step for pk, step in store.rows if pk == s.pk]
        # Each record is a committed row: steps 0.. in order, each once.
        assert steps == list(range(batches // 2 * 10))
        assert s.ingested_seq == batches // 2 * 10
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("records are still accepted" in m for m in warnings) == 1, warnings
    assert sum("the store is back after" in m for m in warnings) == 1, warnings


async def test_the_backlog_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_mod, "BACKLOG_RECORDS", 50)
    store = AwayStore()
    actor = HistoryActor(store)  # type: ignore[arg-type]
    s = _session(1)
    sent = 0
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        with anyio.move_on_after(1.0):  # tells block once the backlog and the mailbox are full
            while True:
                await actor.tell(Ingest(s, _batch(sent * 10 + 1, 10)))
                sent += 1
        # The round in flight (up to ROUND_LIMIT messages, taken before the store failed),
        # then 50 records (5 messages) of backlog, then the mailbox.
        assert sent <= history_mod.ROUND_LIMIT + 5 + HistoryActor.mailbox_size
        assert sent >= 5 + HistoryActor.mailbox_size
        store.away = False
        with anyio.fail_after(10):
            await actor.ask(lambda r: Barrier(r))
        actor.close()
    assert [step for _, step in store.rows] == list(range(sent * 10))


async def test_bytes_decoded_for_the_actor_are_bounded_until_stored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams reserve a request's bytes before decoding it (``room``); the reservation comes
    back when the Ingest carrying it is stored, or at once (``give_back``) when none does. A
    request larger than the whole bound goes alone."""
    monkeypatch.setattr(history_mod, "INFLIGHT_BYTES", 1000)
    store = AwayStore()
    actor = HistoryActor(store)  # type: ignore[arg-type]
    s = _session(1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        await actor.room(600)
        await actor.tell(Ingest(s, _batch(1, 10), size=600))
        await actor.room(300)  # 900 of 1000: room
        actor.give_back(300)  # that request held nothing new
        with anyio.move_on_after(0.3) as waited:  # 600 + 500 > 1000: waits for the store
            await actor.room(500)
        assert waited.cancelled_caught
        store.away = False  # the first Ingest is stored, its 600 bytes come back
        with anyio.fail_after(5):
            await actor.room(500)
            actor.give_back(500)
            await actor.room(5000)  # larger than the bound, alone
        with anyio.move_on_after(0.2) as waited:
            await actor.room(1)
        assert waited.cancelled_caught
        actor.give_back(5000)
        with anyio.fail_after(5):
            await actor.room(1)
        actor.close()
    assert [step for _, step in store.rows] == list(range(10))
