"""Hyperband early termination, with W&B's semantics."""

from __future__ import annotations

from trackd_daemon.sweeps import SearchRun, needs_history, runs_to_stop, validate_config
from trackd_daemon.sweeps._hyperband import bands


def config(goal="minimize", **et):
    return validate_config({"method": "random", "metric": {"name": "loss", "goal": goal},
                            "parameters": {"a": {"values": [1, 2]}},
                            "early_terminate": {"type": "hyperband", **et}})


def run(run_id, history, state="running", stopped_early=False):
    return SearchRun(run_id, {"a": 1}, state, {}, list(history), stopped_early)


def test_bands():
    assert bands(config(min_iter=1)["early_terminate"], 30) == [1, 3, 9, 27]
    assert bands(config(min_iter=2, eta=2)["early_terminate"], 20) == [2, 4, 8, 16]
    # max_iter / eta**i for i = 1..s, those >= 1
    assert bands(config(max_iter=27, s=2)["early_terminate"], 100) == [3, 9]
    assert bands(config(max_iter=81, s=10)["early_terminate"], 100) == [1, 3, 9, 27]
    assert bands(config(max_iter=5, s=2, eta=2)["early_terminate"], 100) == [1, 2]


def test_stops_the_laggards_at_the_band_they_reached():
    cfg = config(max_iter=5, s=2, eta=2)
    runs = [run("a", [10, 9], "finished"), run("b", [10, 10]), run("c", [10, 8, 8]),
            run("d", [10, 7, 7]), run("e", [10, 6, 6], "finished")]
    # Band 2: values 9, 10, 8, 7, 6 → threshold at rank int(5/2) = 8: b (10) is behind.
    assert runs_to_stop(cfg, runs) == ["b"]


def test_min_iter_no_judgement_before_the_first_band():
    cfg = config(min_iter=3)
    runs = [run("good", [1, 1, 1, 1]), run("bad", [9, 9]), run("other", [1, 1, 1])]
    assert runs_to_stop(cfg, runs) == []  # "bad" has 2 values, the first band is 3
    runs[1] = run("bad", [9, 9, 9])
    # Band 3: 1, 9, 1 → threshold at rank int(3/3) = 1: the value 1; 9 is behind.
    assert runs_to_stop(cfg, runs) == ["bad"]


def test_eta_sets_the_share_kept():
    histories = {f"r{i}": [float(i)] * 2 for i in range(8)}
    runs = [run(k, h) for k, h in histories.items()]
    # 8 runs at band 1: eta 2 keeps ranks 0..4 (threshold = value at rank 4), eta 4 ranks 0..2
    assert sorted(runs_to_stop(config(min_iter=1, eta=2), runs)) == ["r5", "r6", "r7"]
    assert sorted(runs_to_stop(config(min_iter=1, eta=4), runs)) == [f"r{i}" for i in range(3, 8)]


def test_maximize_goal():
    cfg = config("maximize", min_iter=1)
    runs = [run("hi", [0.9]), run("mid", [0.5]), run("lo", [0.1])]
    assert runs_to_stop(cfg, runs) == ["lo"]


def test_strict_judges_the_value_at_the_band_otherwise_the_best_so_far():
    runs = [run("steady", [1, 1, 1]), run("peaked", [0.5, 5, 5]), run("x", [2, 2, 2])]
    # band 3 (min_iter 3): values 1, 5, 2 → threshold 2
    assert runs_to_stop(config(min_iter=3), runs) == ["peaked"]
    assert runs_to_stop(config(min_iter=3, strict=False), runs) == []


def test_never_stops_runs_not_running_or_already_stopped():
    cfg = config(min_iter=1)
    runs = [run("best", [0]), run("done", [9], "finished"), run("again", [9], stopped_early=True),
            run("pending", [], "pending"), run("killed", [9], "killed"), run("late", [9.5])]
    # band 1: 0, 9, 9, 9, 9.5 → threshold at rank int(5/3) = 1: the value 9
    assert runs_to_stop(cfg, runs) == ["late"]


def test_non_finite_values_are_skipped():
    cfg = config(min_iter=2)
    runs = [run("nan", [float("nan"), 1.0]), run("ok", [1.0, 1.0]), run("bad", [5.0, 5.0])]
    # "nan" has one finite value: it has not reached band 2
    assert runs_to_stop(cfg, runs) == ["bad"]


def test_needs_history_only_with_early_terminate():
    assert needs_history(config(min_iter=1))
    assert not needs_history(validate_config({"method": "random",
                                              "parameters": {"a": {"value": 1}}}))
    plain = validate_config({"method": "random", "parameters": {"a": {"value": 1}}})
    assert runs_to_stop(plain, [run("a", [1.0])]) == []
