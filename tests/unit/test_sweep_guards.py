"""An agent's failure guards (W&B's flapping and initial-failures checks)."""

from __future__ import annotations

from trackd.sweeps._guards import FailureGuard


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_three_failures_in_the_first_minute_is_flapping() -> None:
    clock = Clock()
    guard = FailureGuard({}, clock)
    assert guard.record(True) is None
    assert guard.record(False) is None
    clock.now += 30
    assert guard.record(True) is None
    stop = guard.record(True)
    assert stop is not None and "3 failed runs in the first 60 seconds" in stop
    assert "WANDB_AGENT_DISABLE_FLAPPING" in stop


def test_flapping_only_counts_in_the_first_minute() -> None:
    clock = Clock()
    guard = FailureGuard({}, clock)
    guard.record(False)
    clock.now += 61
    assert [guard.record(True) for _ in range(3)] == [None, None, None]


def test_flapping_can_be_disabled_with_either_prefix() -> None:
    for env in ({"WANDB_AGENT_DISABLE_FLAPPING": "true"},
                {"TRACKD_AGENT_DISABLE_FLAPPING": "1"}):
        guard = FailureGuard(env, Clock())
        assert [guard.record(True) for _ in range(4)] == [None] * 4


def test_max_initial_failures_in_a_row() -> None:
    env = {"WANDB_AGENT_DISABLE_FLAPPING": "true"}
    guard = FailureGuard(env, Clock())
    results = [guard.record(True) for _ in range(5)]
    assert results[:4] == [None] * 4
    assert results[4] is not None and "5 failed runs in a row" in results[4]
    assert "WANDB_AGENT_MAX_INITIAL_FAILURES" in results[4]


def test_max_initial_failures_from_the_environment_and_a_success_ends_the_start() -> None:
    env = {"WANDB_AGENT_DISABLE_FLAPPING": "true", "TRACKD_AGENT_MAX_INITIAL_FAILURES": "2",
           "WANDB_AGENT_MAX_INITIAL_FAILURES": "9"}
    guard = FailureGuard(env, Clock())
    assert guard.max_initial_failures == 2
    assert guard.record(True) is None
    assert guard.record(True) is not None
    guard = FailureGuard(env, Clock())
    assert guard.record(False) is None
    assert [guard.record(True) for _ in range(4)] == [None] * 4  # not failures "at start"
