"""Links to the daemon's web dashboard: ``run.url``, ``run.project_url``, ``run.sweep_url``,
``run.to_html()`` and ``run.display()``.

The daemon says where its dashboard is (``GetDaemonInfo``: base URL and token file). As W&B's
``run.url``, the URLs are stable and carry no credential: a browser logged in to the dashboard
opens them, any other gets the login page. The links that log a browser in — what ``trackd ui``
opens, and a notebook view's iframe — carry a single-use ticket instead, minted from the token
in that file (``trackd._shared.ui_auth``), which only the daemon's user can read. Another user
of the machine (a system-wide daemon) asks the daemon over its socket for a ticket bound to
their uid (``DashboardTicket``): its session sees what the team policy lets them see. A daemon
too old to mint one gives the plain URL. Offline and disabled runs, and a daemon whose
dashboard is off, have no URLs (None), as W&B's offline runs have none.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from trackd._base import messages
from trackd._shared.ui_auth import TICKET_PARAM, mint_ticket
from trackd._transport.setup import current_settings
from trackd.errors import CommError

#: How long what a daemon said about its dashboard is reused.
CACHE_SECONDS = 30.0

_cache: dict[str, tuple[float, tuple[str, str] | None]] = {}


def dashboard(conn: Any) -> tuple[str, str] | None:
    """(base URL, token) of the dashboard of the daemon ``conn`` talks to, or None when it
    serves none (or cannot be asked)."""
    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import daemon_service_pb2 as pb

    hit = _cache.get(conn.address)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    try:
        info = conn.unary(conn.daemon.GetDaemonInfo, pb.GetDaemonInfoRequest(), timeout=10)
    except (CommError, TimeoutError):
        return None
    found: tuple[str, str] | None = None
    if info.dashboard_url:
        try:
            with open(info.dashboard_token_file) as f:
                token = f.read().strip()
        except OSError:
            token = ""  # another user's daemon: the page will ask for the token
        found = (info.dashboard_url, token)
    _cache[conn.address] = (time.monotonic(), found)
    return found


def forget() -> None:
    """Drop what daemons said about their dashboards (``Api().flush()``)."""
    _cache.clear()


def user_ticket(conn: Any) -> str | None:
    """A ticket the daemon mints for this process's user (bound to its uid unless it is the
    daemon's user or root); None when the daemon has no dashboard or cannot mint one."""
    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import daemon_service_pb2 as pb

    try:
        got = conn.unary(conn.daemon.DashboardTicket, pb.DashboardTicketRequest(), timeout=10)
    except (CommError, TimeoutError):
        return None
    found = parse_qs(urlsplit(got.url).query).get(TICKET_PARAM)
    return found[0] if found else None


def link(conn: Any, *parts: str, login: bool = False, embedded: bool = False) -> str | None:
    """The dashboard URL of ``parts`` (path segments); None without a dashboard. ``login``: a
    URL that logs a browser in (a fresh ticket: minted here when this user can read the token,
    else asked of the daemon for this user);
    ``embedded``: the page as a notebook view (``jupyter=true``)."""
    if conn is None:
        return None
    found = dashboard(conn)
    if found is None:
        return None
    base, token = found
    url = base + "/".join(quote(p, safe="") for p in parts)
    query = ["jupyter=true"] if embedded else []
    ticket = (mint_ticket(token) if token else user_ticket(conn)) if login else None
    if ticket:
        query.append(f"{TICKET_PARAM}={ticket}")
    return url + ("?" + "&".join(query) if query else "")


def run_links(run: Any, what: str, login: bool = False, embedded: bool = False) -> str | None:
    """``run.url`` (what="run"), ``run.project_url`` ("project") or ``run.sweep_url``
    ("sweep") of a :class:`trackd.Run` (``login``, ``embedded``: as :func:`link`)."""
    backend = run._backend
    if backend is None or run.offline or getattr(backend.sender, "went_offline", False):
        return None
    conn = getattr(backend, "_conn", None)
    if what == "run":
        parts = [run.entity, run.project, "runs", run.id]
    elif what == "project":
        parts = [run.entity, run.project]
    elif run.sweep_id:
        parts = [run.entity, run.project, "sweeps", run.sweep_id]
    else:
        return None
    return link(conn, *parts, login=login, embedded=embedded)


def iframe(src: str | None, height: int, hidden: bool, label: str) -> str:
    """HTML showing a dashboard page (a notebook view's URL) in an iframe (inside a closed
    <details> when hidden)."""
    if src is None:
        return (f"<p>{html.escape(label)} has no dashboard page (offline, disabled, or the "
                "daemon's dashboard is off).</p>")
    frame = (f'<iframe src="{html.escape(src)}" style="border:none;width:100%;'
             f'height:{int(height)}px;" title="{html.escape(label)}"></iframe>')
    if hidden:
        return f"<details><summary>{html.escape(label)}</summary>{frame}</details>"
    return frame


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()  # type: ignore[attr-defined]
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def display(page: str) -> bool:
    """Show ``page`` (HTML) in the notebook; False outside one."""
    if not in_notebook():
        return False
    from IPython.display import HTML
    from IPython.display import display as show

    show(HTML(page))
    return True


class RunLinks:
    """The dashboard side of :class:`trackd.Run` (its base class): URLs and notebook views."""

    _backend: Any
    offline: bool
    entity: str
    project: str
    id: str
    path: str
    sweep_id: str | None

    @property
    def url(self) -> str | None:
        """The run's page in the daemon's dashboard (None offline or disabled): a stable URL
        with no credential in it; a browser logged in to the dashboard (``trackd ui``) opens
        it."""
        return run_links(self, "run")

    @property
    def project_url(self) -> str | None:
        """The project's runs table in the dashboard (None offline or disabled)."""
        return run_links(self, "project")

    @property
    def sweep_url(self) -> str | None:
        """The sweep's runs in the dashboard (None without a sweep, offline or disabled)."""
        return run_links(self, "sweep")

    def to_html(self, height: int = 420, hidden: bool = False) -> str:
        """HTML with an iframe showing the run's dashboard page (for Jupyter). Its URL holds a
        single-use login ticket, valid for 15 minutes, never the token: a notebook saved with
        this output gives no one access (the view shows the login page once the ticket is
        spent; call it again for a fresh one)."""
        return iframe(run_links(self, "run", login=True, embedded=True), height, hidden,
                      f"trackd run {self.path}")

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        """Show the run's page in Jupyter; False when not in a notebook."""
        return display(self.to_html(height, hidden))

    def get_url(self) -> str | None:
        """Deprecated: use ``run.url``."""
        _deprecated("run.get_url()", "run.url")
        return self.url

    def get_project_url(self) -> str | None:
        """Deprecated: use ``run.project_url``."""
        _deprecated("run.get_project_url()", "run.project_url")
        return self.project_url

    def get_sweep_url(self) -> str | None:
        """Deprecated: use ``run.sweep_url``."""
        _deprecated("run.get_sweep_url()", "run.sweep_url")
        return self.sweep_url


def _deprecated(old: str, new: str) -> None:
    messages.warn(current_settings(),
        f"{old} is deprecated and will be removed; use {new}", DeprecationWarning,
        stacklevel=3)
