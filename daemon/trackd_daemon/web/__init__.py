"""The local dashboard the daemon serves over HTTP: projects, runs tables, run pages with
charts, comparisons, live updates, and the JSON API they use (``/api/v1``).

``server`` binds and serves; ``connections`` bounds connections and their idle time,
``security`` sets the security headers and checks Host, origin and body deadline, ``auth``
checks logins (the token, sessions kept by ``sessions``, tickets); ``scope`` decides what a
request may see and edit; ``api`` and ``live`` are the JSON and event-stream endpoints
(``sweeps_api`` the sweeps' JSON and controls, over ``sweep_view``; ``artifacts`` the
artifacts' (API, pages, views and lineage graph); ``edit_api`` renaming, tagging, moving and
deleting runs), ``run_files`` the Files and Logs tabs, serving what users logged through
``user_content``; ``pages`` the HTML, ``runs_table`` and
``charts`` the pure logic behind them, ``assets`` the static files.
"""

from __future__ import annotations

import logging

from trackd_daemon.access import AccessPolicy
from trackd_daemon.blobs import BlobStore
from trackd_daemon.config import DaemonConfig
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.web.edit_api import RunEdits
from trackd_daemon.web.server import WebServer, start_web
from trackd_daemon.web.sweeps_api import SweepControls

log = logging.getLogger("trackd.daemon.web")


async def start_dashboard(cfg: DaemonConfig, store: MetadataStore,
                          blobs: BlobStore | None = None,
                          sweeps: SweepControls | None = None,
                          editor: RunEdits | None = None,
                          policy: AccessPolicy | None = None) -> WebServer | None:
    """Serve the dashboard unless it is turned off; a dashboard that cannot start is logged
    and left out (the daemon serves runs without it). ``sweeps``: the daemon's sweep
    controller (``actors/sweeps.py``), which the sweep page's pause, resume, stop and cancel
    act through; ``editor``: the daemon's run editor (``run_editing.py``), which the
    dashboard renames, tags, moves and deletes runs through; ``policy``: the access policy
    that decides what a user's session sees (``scope.py``)."""
    if not cfg.ui:
        return None
    try:
        return await start_web(cfg, store, blobs, sweeps, editor, policy)
    except Exception:
        log.exception("the dashboard could not start (host %s, port %s); serving without it",
                      cfg.ui_host, cfg.ui_port)
        return None


__all__ = ["WebServer", "start_dashboard", "start_web"]
