"""What a run prints when it starts (the header, through :mod:`trackd._base.messages`) and when
it finishes (the footer, :mod:`trackd._base.footer`, with what :mod:`trackd._run.footer_data`
reads back from the daemon)."""

from __future__ import annotations

from typing import Any

from trackd._base.footer import print_footer
from trackd._base.messages import INFO, enabled, header
from trackd._base.terminal import visible
from trackd._run.footer_data import FooterData
from trackd._version import __version__


def run_header(run: Any) -> None:
    """The header of a run that just started (unless silent, quiet or show_info=False); the
    run's connection log notes where it was created."""
    conn = getattr(run._backend, "_conn", None)
    if run._logs is not None:
        where = f"daemon {conn.address}" if conn is not None else run._mode
        run._logs.event(f"run {run.id}: created ({where}{', resumed' if run.resumed else ''})")
    if not enabled(run._settings, INFO):
        return
    header(run._settings, name=visible(run.name or run.id), path=visible(run.path),
           sync_dir=str(run._sync_dir), offline=run._mode == "offline", version=__version__,
           project_url=run.project_url, run_url=run.url)


def run_footer(run: Any, backend: Any, done: Any, quiet: bool) -> None:
    """The closing summary of a finished run (unless silent or show_info=False; ``quiet``
    or the quiet setting: its first line only)."""
    settings = run._settings
    if settings.get("silent") or not settings.get("show_info"):
        return
    quiet = quiet or bool(settings.get("quiet"))
    offline = backend.sender.went_offline or run._mode == "offline"
    data = FooterData()
    if not quiet and not offline:
        try:
            data = backend.footer_data(done.summary)
        except Exception:  # noqa: BLE001 - the footer never fails a finish
            data = FooterData()
    artifacts = run.__dict__.get("_artifacts_stored", 0)
    print_footer(name=run.name, path=run.path, state=done.state, rows=done.rows,
                 summary=done.summary, history=data.history, quiet=quiet,
                 files=len(run._saved_names) if data.files is None else data.files,
                 artifacts=artifacts if data.files is None else len(data.logged),
                 media=run._media.stored if run._media is not None else 0,
                 url=None if offline else run.url, logged=data.logged, used=data.used,
                 offline_dir=str(run._sync_dir) if offline else None)
