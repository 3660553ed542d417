"""init(resume=...): allow, must, never, auto — against the real daemon."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import textwrap

import pytest

import trackd
from tests.helpers import wait_for
from trackd import Api
from trackd.errors import UsageError


def _log(run: trackd.Run, start: int, n: int) -> None:
    for i in range(start, start + n):
        run.log({"i": i, "loss": 1.0 / (i + 1)})


def test_resume_allow_continues_step_summary_config_and_runtime(clean_sdk):
    first = trackd.init(project="resume", id="resume1", config={"lr": 0.1, "layers": 2},
                        tags=["a"], notes="first try", group="g")
    _log(first, 0, 10)
    first.define_metric("loss", summary="min")
    _log(first, 10, 5)
    first.finish(exit_code=1)
    assert Api().run(first.path).state == "failed"

    run = trackd.init(project="resume", id="resume1", resume="allow", config={"lr": 0.05},
                      allow_val_change=True)
    assert run.resumed and run.starting_step == 15 and run.step == 15
    assert run.config.as_dict() == {"lr": 0.05, "layers": 2}  # stored config, init's values win
    assert run.tags == ("a",) and run.notes == "first try" and run.group == "g"
    assert run.summary["i"] == 14 and run.summary["loss"] == {"min": 1 / 15}
    _log(run, 15, 5)
    run.finish()
    stored = Api().run(run.path)
    assert stored.state == "finished" and stored.exit_code == 0 and stored.history_rows == 20
    rows = list(stored.scan_history())
    assert [r["_step"] for r in rows] == list(range(20)) and [r["i"] for r in rows] == list(range(20))
    assert all(b["_runtime"] >= a["_runtime"] for a, b in itertools.pairwise(rows))  # runtime goes on
    assert stored.summary["loss"] == {"min": 1 / 20}  # the aggregation survived the resume
    assert stored.config == {"lr": 0.05, "layers": 2}


def test_resume_replaces_tags_and_name_when_given(clean_sdk):
    with trackd.init(project="resume", id="resume2", tags=["old"]) as run:
        run.log({"x": 1})
    run = trackd.init(project="resume", id="resume2", resume="must", tags=["new"], name="renamed")
    assert run.tags == ("new",) and run.name == "renamed"
    run.finish()
    stored = Api().run(run.path)
    assert stored.tags == ["new"] and stored.name == "renamed" and stored.history_rows == 1


def test_resume_allow_creates_a_missing_run(clean_sdk):
    run = trackd.init(project="resume", id="resume3", resume="allow")
    assert not run.resumed and run.starting_step == 0
    run.log({"x": 1})
    run.finish()
    assert Api().run(run.path).history_rows == 1


def test_resume_must_and_never_errors(clean_sdk, capsys):
    with pytest.raises(UsageError, match="resume='must'"):
        trackd.init(project="resume", id="nosuchrun", resume="must")
    with trackd.init(project="resume", id="resume4") as run:
        run.log({"x": 1})
    with pytest.raises(UsageError, match="resume='never'"):
        trackd.init(project="resume", id="resume4", resume="never")
    with pytest.raises(UsageError):
        trackd.init(project="resume", resume="sometimes")
    for policy in ("allow", "must", "never", "auto", True):  # offline: ignored, as in W&B
        with pytest.warns(Warning) if policy is True else contextlib.nullcontext():
            with trackd.init(project="resume", id="resume4", resume=policy,
                             mode="offline") as off:
                assert not off.resumed and off.id == "resume4" and off.starting_step == 0
                off.log({"x": 2})
    assert "ignored since trackd is set to `offline`" in capsys.readouterr().err
    with pytest.raises(UsageError, match="offline"):
        trackd.init(project="resume", resume_from="resume4?_step=0", mode="offline")
    with pytest.warns(DeprecationWarning):
        run = trackd.init(project="resume", id="resume4", resume=True)  # True means "auto"
    assert run.resumed
    run.finish()


def test_resume_a_crashed_run(clean_sdk, tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, trackd
        run = trackd.init(project="resume", id="crashy1")
        for i in range(50):
            run.log({"i": i})
        run._sender.flush(30)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60, env=os.environ.copy(), check=False)
    path = f"{Api().default_entity}/resume/crashy1"
    wait_for(lambda: Api().run(path).state == "crashed")
    run = trackd.init(project="resume", id="crashy1", resume="must")
    assert run.resumed and run.starting_step == 50
    run.log({"i": 50})
    run.finish()
    stored = Api().run(path)
    assert stored.state == "finished" and [r["i"] for r in stored.scan_history()] == list(range(51))


AUTO = textwrap.dedent(
    """
    import sys, trackd
    run = trackd.init(project="auto", resume="auto")
    print("ID", run.id, run.resumed, run.starting_step, flush=True)
    for i in range(run.starting_step, run.starting_step + 3):
        run.log({"i": i})
    if sys.argv[1] == "fail":
        raise RuntimeError("training failed")
    """
)


def test_resume_auto_continues_the_last_failed_run_of_this_directory(clean_sdk, tmp_path):
    def go(mode: str) -> tuple[str, str, str]:
        proc = subprocess.run([sys.executable, "-c", AUTO, mode], cwd=tmp_path, timeout=60,
                              capture_output=True, text=True, env=os.environ.copy(), check=False)
        line = next(x for x in proc.stdout.splitlines() if x.startswith("ID"))
        _, rid, resumed, start = line.split()
        return rid, resumed, start

    rid, resumed, start = go("fail")
    assert (resumed, start) == ("False", "0")
    assert (tmp_path / "wandb" / "wandb-resume.json").exists()
    assert go("ok") == (rid, "True", "3")  # the failed run continues
    assert not (tmp_path / "wandb" / "wandb-resume.json").exists()  # finished cleanly
    other, resumed, _ = go("ok")
    assert other != rid and resumed == "False"  # nothing to resume: a new run
    stored = Api().run(f"{Api().default_entity}/auto/{rid}")
    assert stored.state == "finished" and [r["i"] for r in stored.scan_history()] == list(range(6))


def _source(project: str, run_id: str, n: int = 10) -> trackd.Run:
    run = trackd.init(project=project, id=run_id, config={"lr": 0.1, "seed": 1})
    run.define_metric("loss", summary="min")
    for i in range(n):
        run.log({"i": i, "loss": 10.0 - i})
    run.finish()
    return run


def test_fork_starts_a_new_run_from_the_source_rows(clean_sdk):
    src = _source("fork", "forksrc")
    run = trackd.init(project="fork", fork_from="forksrc?_step=4", config={"lr": 0.01})
    assert run.id != "forksrc" and not run.resumed
    assert run.starting_step == 5 and run.step == 5
    assert run.config.as_dict() == {"lr": 0.01, "seed": 1}
    assert run.summary["i"] == 4 and run.summary["loss"] == {"min": 6.0}
    for i in range(100, 103):
        run.log({"i": i, "loss": 1.0})
    run.finish()
    fork = Api().run(run.path)
    assert fork.forked_from == {"run_id": "forksrc", "step": 4}
    rows = list(fork.scan_history())
    assert [r["i"] for r in rows] == [0, 1, 2, 3, 4, 100, 101, 102]
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4, 5, 6, 7]
    src_rows = list(Api().run(src.path).scan_history())
    assert [r["_runtime"] for r in rows[:5]] == [r["_runtime"] for r in src_rows[:5]]
    assert fork.summary["loss"] == {"min": 1.0}
    source = Api().run(src.path)  # the source is untouched
    assert source.history_rows == 10 and source.forked_from is None and source.state == "finished"


def _set_aside(daemon) -> list[int]:  # type: ignore[no-untyped-def]
    import sqlite3

    db = sqlite3.connect(daemon.dirs.env["TRACKD_ROOT"] + "/trackd.db")
    try:
        return [r[0] for r in db.execute("SELECT step FROM rewound_history ORDER BY step")]
    finally:
        db.close()


def test_rewind_sets_later_rows_aside_and_continues(clean_sdk):
    src = _source("rewind", "rewind1")
    run = trackd.init(project="rewind", resume_from="rewind1?_step=6")
    assert run.id == "rewind1" and run.resumed and run.starting_step == 7
    assert run.summary["i"] == 6 and run.summary["loss"] == {"min": 4.0}
    run.log({"i": 70, "loss": 5.0})
    assert _set_aside(clean_sdk) == [7, 8, 9]  # recoverable until the run finishes
    run.finish()
    assert _set_aside(clean_sdk) == []
    stored = Api().run(src.path)
    rows = list(stored.scan_history())
    assert [r["i"] for r in rows] == [0, 1, 2, 3, 4, 5, 6, 70]
    assert [r["_step"] for r in rows] == list(range(8))
    assert stored.history_rows == 8 and stored.state == "finished"
    assert stored.summary["loss"] == {"min": 4.0} and stored.summary["i"] == 70


def test_rewind_fork_errors(clean_sdk):
    _source("moments", "msrc", n=3)
    with pytest.raises(UsageError, match="_step"):
        trackd.init(project="moments", fork_from="msrc?epoch=1")
    with pytest.raises(UsageError, match="look like"):
        trackd.init(project="moments", fork_from="msrc")
    with pytest.raises(UsageError, match="cannot be used together"):
        trackd.init(project="moments", fork_from="msrc?_step=1", resume="allow")
    with pytest.raises(UsageError, match="new run id"):
        trackd.init(project="moments", id="msrc", fork_from="msrc?_step=1")
    with pytest.raises(UsageError, match="resume_from names run"):
        trackd.init(project="moments", id="other", resume_from="msrc?_step=1")
    with pytest.raises(UsageError, match="does not exist"):
        trackd.init(project="moments", fork_from="nosuch?_step=1")
    with pytest.raises(UsageError, match="does not exist"):
        trackd.init(project="moments", resume_from="nosuch?_step=1")
