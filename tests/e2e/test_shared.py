"""Several processes writing one run: shared mode, and a run pickled into a spawned child."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap

import trackd
from trackd import Api

WRITER = textwrap.dedent(
    """
    import os, signal, sys, trackd
    label, rows, die = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "die"
    run = trackd.init(id="shared1", project="shared",
                      settings=trackd.Settings(mode="shared", x_primary=False, x_label=label))
    for i in range(rows):
        run.log({"i": i, "from": label})
    if die:
        run._sender.flush(60)
        os.kill(os.getpid(), signal.SIGKILL)
    run.finish()
    print("DONE", run.step, flush=True)
    """
)


def test_four_writers_share_one_run_and_the_primary_finishes_it(clean_sdk, tmp_path):
    primary = trackd.init(id="shared1", project="shared", config={"lr": 0.1},
                          settings=trackd.Settings(mode="shared", x_label="main"))
    primary.log({"i": -1, "from": "main"})
    env = os.environ.copy()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{k}", "10000", "live"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
               for k in range(4)]
    doomed = subprocess.Popen([sys.executable, "-c", WRITER, "doomed", "2000", "die"],
                              cwd=tmp_path, env=env)
    assert doomed.wait(120) == -signal.SIGKILL
    for w in writers:
        out, _ = w.communicate(timeout=180)
        assert w.returncode == 0 and "DONE 10000" in out
    assert Api().run(primary.path).state == "running"  # writers' finishes do not end the run
    primary.log({"i": -2, "from": "main"})
    primary.finish()
    stored = Api().run(primary.path)
    assert stored.state == "finished" and stored.config == {"lr": 0.1}
    rows = list(stored.scan_history())
    assert stored.history_rows == len(rows) == 40000 + 2000 + 2
    assert [r["_step"] for r in rows] == list(range(len(rows)))  # one order for every writer
    by_writer: dict[str, list[int]] = {}
    for r in rows:
        assert r["_writer"] == r["from"]  # attributed
        by_writer.setdefault(r["_writer"], []).append(r["i"])
    for k in range(4):
        assert by_writer[f"w{k}"] == list(range(10000))
    assert by_writer["doomed"] == list(range(2000))  # every acknowledged row of the killed one
    assert by_writer["main"] == [-1, -2]


def _child(run: trackd.Run, q: mp.Queue) -> None:  # type: ignore[type-arg]
    for i in range(100):
        run.log({"child": i})
    run.finish()
    q.put((run.path, os.getpid()))


def test_a_pickled_run_keeps_logging_from_a_spawned_child(clean_sdk):
    run = trackd.init(project="attach")
    run.log({"parent": 0})
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(run, q))
    p.start()
    p.join(120)
    assert p.exitcode == 0
    path, pid = q.get(timeout=5)
    assert path == run.path
    run.log({"parent": 1})
    run.finish()
    rows = list(Api().run(run.path).scan_history())
    assert [r["child"] for r in rows if "child" in r] == list(range(100))
    assert all(r["_writer"] == f"attach-{pid}" for r in rows if "child" in r)
    assert [r["parent"] for r in rows if "parent" in r] == [0, 1]
    assert Api().run(run.path).state == "finished"
    assert run._attach_id == run.path


def _configure(run: trackd.Run, q: mp.Queue) -> None:  # type: ignore[type-arg]
    seen = dict(run.config)
    run.config.update({"hidden": 8, "lr": 0.5}, allow_val_change=True)
    run.finish()
    q.put(seen)


def test_an_attached_process_config_updates_are_the_runs(clean_sdk):
    """Lightning's ddp_spawn: the spawned rank 0 logs the hyperparameters to the run it
    re-attached to; they are stored with what the parent gave, and the child sees the
    parent's config."""
    run = trackd.init(project="attach", config={"world": 2, "lr": 0.1})
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_configure, args=(run, q))
    p.start()
    p.join(120)
    assert p.exitcode == 0
    assert q.get(timeout=5) == {"world": 2, "lr": 0.1}
    run.finish()
    assert Api().run(run.path).config == {"world": 2, "lr": 0.5, "hidden": 8}


def test_writers_survive_a_daemon_crash(own_daemon, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    primary = trackd.init(project="shared-crash",
                          settings=trackd.Settings(mode="shared", x_label="main"))
    other = trackd._attach(primary._attach_id)
    for i in range(3000):
        primary.log({"i": i})
        other.log({"i": i})
    other.config.update({"before": 1})  # an attached writer's config, kept through recovery
    primary._sender.flush(30)
    other._sender.flush(30)
    own_daemon.kill()  # both writers' acknowledged records are in the one log
    for i in range(3000, 4000):
        primary.log({"i": i})
        other.log({"i": i})
    other.config.update({"after": 2})
    other.finish()  # the SDK starts a daemon again; it recovers both seq spaces
    primary.finish()
    assert Api().run(primary.path).config == {"before": 1, "after": 2}
    rows = list(Api().run(primary.path).scan_history())
    assert len(rows) == 8000 and len({r["_step"] for r in rows}) == 8000
    for label in ("main", f"attach-{os.getpid()}"):
        assert [r["i"] for r in rows if r["_writer"] == label] == list(range(4000))
    assert Api().run(primary.path).state == "finished"
