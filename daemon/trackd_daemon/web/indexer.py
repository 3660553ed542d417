"""Indexes a run's chart series when it finishes, so that its first chart is quick.

The store's series index follows a run's history on demand (a page that shows a running run
keeps it current). A run nobody watched would be indexed the first time someone opens it: a
pass over all its rows. This task notices runs that stopped running (it looks every
:data:`POLL_SECONDS`) and indexes them in the background instead, after their last row, so that
it never competes with ingestion while the run logs; nor, for up to :data:`DEFER_SECONDS`, with
the ingestion of the runs still logging (eight processes that log 20,000 rows each finish a few
seconds apart: indexing the first ones while the others logged cost them a third of the
daemon's time).
"""

from __future__ import annotations

import logging

import anyio

from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RUNNING

log = logging.getLogger("trackd.daemon.web")

POLL_SECONDS = 5.0
#: How long a finished run waits at most for the other runs to stop running before it is
#: indexed anyway (a daemon whose runs follow one another, a sweep's, always has one running).
DEFER_SECONDS = 60.0


async def index_finished_runs(store: MetadataStore, poll: float = POLL_SECONDS,
                              defer: float = DEFER_SECONDS) -> None:
    """Run until cancelled."""
    running: set[int] = set()
    # Finished runs not indexed yet, and when they were seen finished: at most the runs that
    # finish within ``defer`` seconds.
    waiting: dict[int, float] = {}
    while True:
        try:
            now = {r.pk for r in await store.list_runs_in_state(RUNNING)}
            seen = anyio.current_time()
            for pk in running - now:
                waiting.setdefault(pk, seen)
            for pk in sorted(waiting):
                if pk in now:  # resumed: indexed once it stops again
                    del waiting[pk]
                elif not now or seen - waiting[pk] >= defer:
                    del waiting[pk]
                    await store.history_keys(pk)  # brings the run's series index up to date
            running = now
        except Exception:
            log.exception("indexing finished runs for charts failed; trying again later")
        await anyio.sleep(poll)
