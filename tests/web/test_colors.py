"""Run colours: a run's rank in its project picks it, so the first 20 runs all differ."""

from __future__ import annotations

from trackd_daemon.store.models import RunInfo, RunKey
from trackd_daemon.web.colors import PALETTE, run_colors


def make_run_info(run_id: str, created_at: float) -> RunInfo:
    return RunInfo(pk=0, key=RunKey("e", "p", run_id), name=run_id, notes="", tags=[],
                   group="", job_type="", state="finished", exit_code=0,
                   created_at=created_at, updated_at=created_at, finished_at=created_at,
                   config={}, summary={}, metrics=[], history_rows=0, last_step=-1, host="",
                   program="", start_time=created_at, sweep_id="", request_id="",
                   ingested_seq=0)


def test_colours_follow_creation_order_and_are_distinct() -> None:
    runs = [make_run_info(f"r{i:02d}", created_at=100.0 - i) for i in range(25)]
    got = run_colors(runs)
    assert got["r24"] == PALETTE[0] and got["r00"] == PALETTE[24 % len(PALETTE)]
    assert len({got[f"r{i:02d}"] for i in range(5, 25)}) == 20
    # the same run gets the same colour however the list is ordered or filtered later
    assert run_colors(reversed(runs)) == got
    assert run_colors(runs[::2])["r24"] == PALETTE[0]
