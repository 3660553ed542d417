"""init(resume=...): allow, must, never, auto — against the real daemon."""

from __future__ import annotations

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
    assert all(b["_runtime"] >= a["_runtime"] for a, b in zip(rows, rows[1:]))  # runtime goes on
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


def test_resume_must_and_never_errors(clean_sdk):
    with pytest.raises(UsageError, match="resume='must'"):
        trackd.init(project="resume", id="nosuchrun", resume="must")
    with trackd.init(project="resume", id="resume4") as run:
        run.log({"x": 1})
    with pytest.raises(UsageError, match="resume='never'"):
        trackd.init(project="resume", id="resume4", resume="never")
    with pytest.raises(UsageError):
        trackd.init(project="resume", resume="sometimes")
    with pytest.raises(UsageError, match="offline"):
        trackd.init(project="resume", id="resume4", resume="allow", mode="offline")
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
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60, env=os.environ.copy())
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
                              capture_output=True, text=True, env=os.environ.copy())
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
