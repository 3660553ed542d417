"""Indexes a run's chart series when it finishes, so that its first chart is quick.

The store's series index follows a run's history on demand (a page that shows a running run
keeps it current). A run nobody watched would be indexed the first time someone opens it: a
pass over all its rows. This task notices runs that stopped running (it looks every
:data:`POLL_SECONDS`) and indexes them in the background instead, after their last row, so that
it never competes with ingestion while the run logs.
"""

from __future__ import annotations

import logging

import anyio

from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RUNNING

log = logging.getLogger("trackd.daemon.web")

POLL_SECONDS = 5.0


async def index_finished_runs(store: MetadataStore, poll: float = POLL_SECONDS) -> None:
    """Run until cancelled."""
    running: set[int] = set()
    while True:
        try:
            now = {r.pk for r in await store.list_runs_in_state(RUNNING)}
            for pk in sorted(running - now):
                await store.history_keys(pk)  # brings the run's series index up to date
            running = now
        except Exception:
            log.exception("indexing finished runs for charts failed; trying again later")
        await anyio.sleep(poll)
