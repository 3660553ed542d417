"""Tables and custom charts logged with ``run.log()``: W&B's log modes, its row limit, the
``run_table`` artifact, and the ``_wandb.visualize`` config of a ``trackd.plot`` chart.

``log()`` collects each logged data type as an encoder job (:mod:`trackd.media.pipeline`);
:func:`prepare` then turns the jobs of tables and charts into what is stored, before the row is
queued (so a row over the limit is refused with nothing sent):

- a chart under key ``k`` becomes its table under ``k_table`` and the run's config gets
  ``_wandb.visualize.k`` (W&B's ``Vega2`` panel);
- a table is logged as a snapshot of its rows (``IMMUTABLE``: the first one logged, however
  it changed since; ``MUTABLE``: a new one after each change; ``INCREMENTAL``: the rows added
  since it was last logged, as W&B's ``incremental-table-file``);
- once the encoder has written the table file (and its cells' media) into the run's files, the
  same files are logged as the ``run_table`` artifact ``run-<run id>-<key>`` (for
  ``INCREMENTAL``: ``run-<run id>-incr-<key>``, type ``wandb-run-incremental-table``, one
  entry per increment), an internal artifact the daemon accepts with its reserved type.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from trackd._base import messages
from trackd._run.files import _safe_artifact_name
from trackd.artifacts.artifact import Artifact
from trackd.media.base import MediaOut
from trackd.media.pipeline import Job, RunOut, file_key
from trackd.media.table import Table

RUN_TABLE = "run_table"
INCREMENTAL_TABLE = "wandb-run-incremental-table"
#: Increments of one table shown by W&B's workspace; more are kept but warned about.
MAX_INCREMENTS = 100
TRUNCATED = "Truncating trackd.Table object to {limit} rows."
LIMIT_EXCEEDED = ("Table row limit exceeded: table has {rows} rows, limit is {limit}. To "
                  "increase the maximum number of allowed rows in a trackd.Table, override the "
                  "limit with `trackd.Table.MAX_ROWS = X` and try again.")

#: Artifacts are logged from the encoder's workers: one at a time per process keeps the
#: offline run directory's numbering and a table's increments in order.
_logging = threading.Lock()


def prepare(run: Any, row: dict[str, Any], jobs: list[Job]) -> None:
    """Turn the row's chart and table jobs into what is stored (see the module doc).

    :raises ValueError: a table over ``Table.MAX_ROWS`` rows while the run's settings ask
        for an error (``table_raise_on_max_row_limit_exceeded`` or ``strict``).
    """
    found = []
    for job in jobs:
        table = _table_of(job.media)
        if table is None:
            continue
        chart = job.media if getattr(type(job.media), "_trackd_chart", False) else None
        top = chart is not None and row.get(job.key) is job.slot  # not nested in a dict
        found.append((job, table, chart if top else None,
                      chart._table_key(job.key) if top else job.key))
    for _, table, _, key in found:
        _check_rows(run, table, key)
    for job, table, chart, key in found:
        if chart is not None:
            row[key] = row.pop(job.key)
            _visualize(run, job.key, chart._panel_config(key))
            job.key = key
        job.media = _snapshot(run, table, key)


def _table_of(media: Any) -> Table | None:
    if isinstance(media, Table):
        return media
    if getattr(type(media), "_trackd_chart", False):
        return media.table
    return None


def _rows_to_log(table: Table, state: dict[str, Any]) -> int:
    return len(table.data) - state.get("next_row", 0) if table.log_mode == "INCREMENTAL" \
        else len(table.data)


def _check_rows(run: Any, table: Table, key: str) -> None:
    rows = _rows_to_log(table, table._log_state.get((run._id, key), {}))
    limit = Table.MAX_ROWS
    if rows > limit and (run._settings.get("table_raise_on_max_row_limit_exceeded")
                         or run._settings.get("strict")):
        raise ValueError(LIMIT_EXCEEDED.format(rows=rows, limit=limit))


def _visualize(run: Any, key: str, panel: dict[str, Any]) -> None:
    """Record ``_wandb.visualize.<key>`` in the run's config (as W&B does for a chart)."""
    config = getattr(run, "_config", None)
    if config is None:
        return
    wandb_cfg = dict(config.as_dict().get("_wandb") or {})
    visualize = dict(wandb_cfg.get("visualize") or {})
    if visualize.get(key) == panel:
        return
    visualize[key] = panel
    wandb_cfg["visualize"] = visualize
    config._set_quietly("_wandb", wandb_cfg)
    run._send_config({"_wandb": wandb_cfg}, [])


def _snapshot(run: Any, table: Table, key: str) -> Table:
    """What this log() of ``table`` stores, per its log mode."""
    with table._lock:
        state = table._log_state.setdefault((run._id, key), {})  # each key its own artifact
        last: Table | None = state.get("last")
        if table.log_mode == "INCREMENTAL":
            first = state.get("next_row", 0)
            if last is not None and first == len(table.data):
                return last  # nothing added since: the same increment again
        elif last is not None and (table.log_mode == "IMMUTABLE"
                                   or last._version == table._version):
            return last
        else:
            first = 0
        rows = len(table.data) - first
        if rows > Table.MAX_ROWS:
            messages.warn(run._settings, TRUNCATED.format(limit=Table.MAX_ROWS), stacklevel=4)
        snap = table._snapshot(first, Table.MAX_ROWS)
        _bind(run, table, snap, key, state)
        state["last"] = snap
        state["next_row"] = len(table.data)
        table._log_state["logged"] = True
        return snap


def _bind(run: Any, table: Table, snap: Table, key: str, state: dict[str, Any]) -> None:
    """Give ``snap`` its artifact paths and the artifact it logs once stored."""
    client_id = uuid.uuid4().hex
    safe_key = file_key(key)
    if table.log_mode == "INCREMENTAL":
        number = state.get("increments", 0)
        state["increments"] = number + 1
        if number == MAX_INCREMENTS:
            messages.warn(run._settings,
                          f"You have exceeded {MAX_INCREMENTS} increments for this table. Only "
                          f"the latest {MAX_INCREMENTS} increments will be visualized in the run "
                          "workspace.", stacklevel=5)
        entry = f"{number}-{int(time.time() * 1000)}.{safe_key}.table.json"
        name, kind = _safe_artifact_name(f"run-{run._id}-incr-{key}"), INCREMENTAL_TABLE
        previous = list(state.get("paths", []))
        prior_files = state.setdefault("files", [])  # every increment's files: each version
        extra = {"_type": "incremental-table-file", "increment_num": number,
                 "previous_increments_paths": previous}
    else:
        entry = f"{safe_key}.table.json"
        name, kind = _safe_artifact_name(f"run-{run._id}-{key}"), RUN_TABLE
        prior_files = []
        extra = {}
    path = f"wandb-client-artifact://{client_id}/{entry}"
    snap._extra_json = {**extra, "artifact_path": path,
                        "_latest_artifact_path": f"wandb-client-artifact://{client_id}:latest/"
                                                 f"{entry}"}
    if table.log_mode == "INCREMENTAL":
        state.setdefault("paths", []).append(path)

    def stored(out: MediaOut, encoded: dict[str, Any]) -> None:
        if not isinstance(out, RunOut):
            return
        files = [(entry if n == encoded["path"] else n, local) for n, local, _ in out.saved]
        try:
            with _logging:
                art = Artifact._make_internal(name, kind)
                for n, local in [*prior_files, *files]:
                    art.add_file(local, name=n, policy="immutable", overwrite=True)
                prior_files.extend(files)
                run.log_artifact(art)
        except Exception as exc:  # noqa: BLE001 - the row keeps its table file all the same
            messages.warn(run._settings, f"trackd: the table logged under {key!r} was stored "
                          f"but its {kind} artifact {name!r} was not logged: {exc}",
                          stacklevel=1)

    snap._on_stored = stored
