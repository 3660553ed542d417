"""Shared runs in a team store: one run, writers on several daemons.

Each daemon that serves writers of a shared run keeps the run's history state for its own
writers only: it numbers their rows from its own counter and summarises what they logged. So
when a round of a shared run is stored, the store settles it against what the run holds, in the
transaction and under the run's row lock:

- **steps**: the round's rows get the run's next steps, in the order the daemon ordered them
  (``_step`` in each row follows); two daemons' rows interleave, none is lost to another's step;
- **replays**: a round whose last record is stored already (by its writer's stored seq, which
  commits with the rows) is skipped whole, so a round retried after a commit whose answer was
  lost is not stored twice (the rows' steps, given here, cannot tell);
- **summary, config and metric definitions** merge key by key: a daemon sends the top-level
  summary and config keys its writers changed (set or removed) and the definitions they made,
  never its whole view, so another daemon's keys are not overwritten with stale values.

A key both daemons' writers log ends with the value of whichever round was stored last, and
aggregates of a ``define_metric`` summary (min, max, mean) are each daemon's own writers'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from trackd_daemon.store.models import RunChanges, SharedDelta


@dataclass(frozen=True)
class SharedState:
    """What the store holds of a shared run, read under its row lock."""

    last_step: int
    ingested_seq: int
    writer_seqs: dict[str, int]
    summary: dict[str, Any]
    config: dict[str, Any]
    metrics: list[dict[str, Any]]


def settle(ch: RunChanges, delta: SharedDelta, stored: SharedState) -> RunChanges | None:
    """The round ``ch`` of a shared run as plain changes against ``stored``: its rows at the
    run's next steps, its summary, config and definitions merged into the stored ones. None:
    the round is stored already."""
    if delta.mark is not None:
        writer, seq = delta.mark
        done = stored.writer_seqs.get(writer, 0) if writer else stored.ingested_seq
        if done >= seq:
            return None
    first = stored.last_step + 1
    rows = []
    for i, (_, row) in enumerate(ch.rows):
        row["_step"] = first + i  # the row is the round's own (see RunHistory.take_rows)
        rows.append((first + i, row))
    summary = ch.summary
    if delta.summary_set or delta.summary_removed:
        summary = _merged(stored.summary, delta.summary_set, delta.summary_removed)
        if rows and "_step" in delta.summary_set:
            summary["_step"] = rows[-1][0]
    config = ch.config
    if delta.config_set or delta.config_removed:
        config = _merged(stored.config, delta.config_set, delta.config_removed)
    metrics = ch.metrics
    if delta.metrics:
        by_name = {str(d.get("name", "")): d for d in stored.metrics}
        by_name.update(delta.metrics)
        metrics = list(by_name.values())
    return replace(ch, rows=rows, summary=summary, config=config, metrics=metrics)


def _merged(stored: dict[str, Any], set_: dict[str, Any], removed: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in stored.items() if k not in removed}
    out.update(set_)
    return out
