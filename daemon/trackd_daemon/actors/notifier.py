"""NotifierActor: delivers alerts to the notification sinks the user configured.

Sinks are HTTP webhooks: generic ones get the alert as JSON (``TRACKD_ALERT_WEBHOOK``), Slack
incoming webhooks get a Slack message (``TRACKD_ALERT_SLACK_WEBHOOK``); each variable may list
several URLs separated by commas. Alerts are read from the store (every alert is stored
first), so nothing is lost when a sink is down or the daemon restarts: each undelivered alert is
posted with retries and backoff, and tried again every ``RETRY_PERIOD`` seconds until every sink
took it. Training never waits for any of this.

Each alert is posted through the proxy its run's settings name (``http_proxy`` for http://
sinks, ``https_proxy`` for https:// ones; kept with the run, so a retry after the run ended
uses it too), else as the daemon's environment says (``HTTP_PROXY``, ``HTTPS_PROXY``,
``NO_PROXY``). A proxy's credentials never reach the log.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import anyio

from trackd._shared import proxies
from trackd_daemon.actors.base import Actor
from trackd_daemon.http_proxies import request_kwargs
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import AlertInfo

log = logging.getLogger("trackd.daemon.notifier")

#: Attempts per alert and sink in one delivery round, with backoff between them.
ATTEMPTS = 5
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0
#: Seconds between delivery rounds while some alert is still pending.
RETRY_PERIOD = 30.0
#: Seconds one POST may take.
POST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Poke:
    """New alerts are in the store."""


@dataclass(frozen=True)
class Sink:
    """A webhook: ``kind`` is "json" or "slack"."""

    kind: str
    url: str


def payload(sink: Sink, alert: AlertInfo) -> dict[str, object]:
    """What a sink receives for an alert."""
    run = str(alert.run)
    if sink.kind == "slack":
        return {"text": f"*[{alert.level}] {alert.title}*\n{alert.text}\nrun `{run}` "
                        f"({alert.run_name})"}
    return {"title": alert.title, "text": alert.text, "level": alert.level, "run": run,
            "run_name": alert.run_name, "timestamp": alert.timestamp}


class NotifierActor(Actor[Poke]):
    #: Pokes carry no data and one round serves them all: a few slots are enough.
    mailbox_size = 16
    name = "notifier"

    def __init__(self, store: MetadataStore, sinks: list[Sink]) -> None:
        super().__init__()
        self._store = store
        self._sinks = sinks

    def poke(self) -> None:
        """Ask for a delivery round (never waits; a full mailbox already has one queued)."""
        try:
            self.tell_nowait(Poke())
        except anyio.WouldBlock:
            pass

    async def loop(self) -> None:
        if not self._sinks:
            async for _ in self._recv:  # alerts are only stored
                pass
            return
        import aiohttp

        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT), trust_env=True
        ) as http:
            pending = True  # alerts left undelivered by an earlier daemon
            while True:
                if pending:
                    pending = await self._deliver_all(http)
                with anyio.move_on_after(RETRY_PERIOD if pending else None):
                    try:
                        await self._recv.receive()
                    except (anyio.EndOfStream, anyio.ClosedResourceError):
                        return
                    self.drain_nowait(self.mailbox_size)
                pending = True

    async def _deliver_all(self, http: object) -> bool:
        """One round; True when some alert is still undelivered."""
        left = False
        for alert in await self._store.pending_alerts():
            ok = True
            for sink in self._sinks:
                ok = await self._post(http, sink, alert) and ok
            if ok:
                await self._store.mark_alert_delivered(alert.id, time.time())
            else:
                left = True
        return left

    async def _post(self, http: object, sink: Sink, alert: AlertInfo) -> bool:
        import aiohttp

        body = json.dumps(payload(sink, alert), allow_nan=False, default=str)
        via = request_kwargs(sink.url, alert.http_proxy, alert.https_proxy)
        delay = BACKOFF_FIRST
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with http.post(  # type: ignore[attr-defined]
                    sink.url, data=body, headers={"Content-Type": "application/json"}, **via
                ) as resp:
                    if resp.status < 300:
                        return True
                    problem = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                problem = proxies.scrub(f"{type(exc).__name__}: {exc}", alert.http_proxy,
                                        alert.https_proxy)
            log.warning("alert %r to %s failed (attempt %d/%d): %s", alert.title, sink.url,
                        attempt, ATTEMPTS, problem)
            if attempt < ATTEMPTS:
                await anyio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
        return False


def sinks_from(generic: tuple[str, ...], slack: tuple[str, ...]) -> list[Sink]:
    return [Sink("json", u) for u in generic] + [Sink("slack", u) for u in slack]
