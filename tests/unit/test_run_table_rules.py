"""Which run may store a run's table artifacts (checked by the daemon for internal
artifacts)."""

from __future__ import annotations

from trackd._shared.artifact_rules import run_table_problem, type_problem


def test_run_tables_come_from_their_own_run() -> None:
    assert run_table_problem("run_table", "run-abc-samples", "abc") is None
    assert run_table_problem("wandb-run-incremental-table", "run-abc-incr-t", "abc") is None
    assert "must be logged by the run" in run_table_problem("run_table", "run-xyz-t", "abc")
    assert "must be logged by the run" in run_table_problem("run_table", "run-abc-t", "")
    assert run_table_problem("code", "source-x", "") is None  # other internal types: as before
    assert type_problem("run_table", "run-abc-t") is not None  # users never name them
    assert type_problem("run_table", "run-abc-t", internal=True) is None
