"""Grid search: every combination exactly once, identified by its values."""

from __future__ import annotations

import itertools

from trackd_daemon.sweeps import SearchRun, grid_size, next_params, validate_config

GRID = validate_config({"method": "grid", "parameters": {
    "opt": {"values": ["adam", "sgd", "rms"]},
    "bs": {"values": [16, 32, 64, 128]},
    "fixed": {"value": 0.5},
}})


def run_out(config, runs, state="finished"):
    params = next_params(config, runs, 0)
    if params is not None:
        runs.append(SearchRun(f"r{len(runs)}", params, state, {}))
    return params


def test_three_by_four_is_twelve_distinct_then_none():
    assert grid_size(GRID) == 12
    runs: list[SearchRun] = []
    seen = [run_out(GRID, runs) for _ in range(12)]
    assert len({(p["opt"], p["bs"]) for p in seen}) == 12
    assert all(p["fixed"] == 0.5 for p in seen)
    assert next_params(GRID, runs, 0) is None
    assert next_params(GRID, runs, 99) is None


def test_pending_and_failed_runs_hold_their_combination():
    runs: list[SearchRun] = []
    states = itertools.cycle(["pending", "running", "failed", "killed", "finished", "crashed"])
    proposed = [run_out(GRID, runs, next(states)) for _ in range(12)]
    assert len({(p["opt"], p["bs"]) for p in proposed}) == 12
    assert next_params(GRID, runs, 0) is None


def test_asking_again_without_recording_gives_the_same_combination():
    runs = [SearchRun("a", {"opt": "adam", "bs": 16, "fixed": 0.5}, "running", {})]
    first = next_params(GRID, runs, 0)
    assert next_params(GRID, runs, 1) == first
    assert (first["opt"], first["bs"]) != ("adam", 16)


def test_combinations_known_by_value_whatever_the_order_of_runs():
    # Runs made elsewhere (another agent's order, floats for ints): never proposed again.
    taken = [SearchRun(str(i), {"bs": float(bs), "opt": opt, "fixed": 0.5}, "finished", {})
             for i, (opt, bs) in enumerate([("sgd", 64), ("rms", 16), ("adam", 128)])]
    runs = list(taken)
    new = [run_out(GRID, runs) for _ in range(9)]
    assert {(p["opt"], p["bs"]) for p in new}.isdisjoint({("sgd", 64), ("rms", 16),
                                                          ("adam", 128)})
    assert next_params(GRID, runs, 0) is None


def test_a_run_with_another_constant_does_not_take_a_combination():
    runs = [SearchRun("x", {"opt": "adam", "bs": 16, "fixed": 0.7}, "finished", {})]
    assert next_params(GRID, runs, 0) == {"bs": 16, "fixed": 0.5, "opt": "adam"}


def test_int_and_q_uniform_are_expanded_and_nested_groups_nest():
    config = validate_config({"method": "grid", "parameters": {
        "n": {"min": 1, "max": 3},
        "model": {"parameters": {"drop": {"distribution": "q_uniform", "min": 0, "max": 0.5,
                                          "q": 0.25},
                                 "kind": {"values": [{"a": 1}, [1, 2]]}}}}})
    assert grid_size(config) == 3 * 3 * 2
    runs: list[SearchRun] = []
    got = [run_out(config, runs) for _ in range(18)]
    assert next_params(config, runs, 0) is None
    assert {p["n"] for p in got} == {1, 2, 3}
    assert {p["model"]["drop"] for p in got} == {0.0, 0.25, 0.5}
    assert len({(p["n"], p["model"]["drop"], str(p["model"]["kind"])) for p in got}) == 18


def test_grid_size_of_other_methods_is_zero():
    config = validate_config({"method": "random", "parameters": {"a": {"values": [1, 2]}}})
    assert grid_size(config) == 0
    custom = validate_config({"method": "custom", "parameters": {"a": {"values": [1, 2]}}})
    assert next_params(custom, [], 0) is None
