"""init(), config, reinit, run properties and bad input, against the real daemon."""

from __future__ import annotations

import argparse
import re

import pytest

import trackd
from trackd import Api
from trackd._transport import record_buffer
from trackd.errors import ConfigError, UsageError


def test_init_defaults_and_properties(clean_sdk, tmp_path):
    run = trackd.init(config={"lr": 1e-3}, notes="first", tags=["a", "b"], group="g",
                      job_type="train")
    assert re.fullmatch(r"[a-z0-9]{8}", run.id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name)
    assert run.project == "uncategorized"  # tmp_path is not in a git repository
    assert run.entity and run.path == f"{run.entity}/{run.project}/{run.id}"
    assert run.dir.startswith(str(tmp_path / "wandb" / "run-")) and run.dir.endswith("files")
    assert run.tags == ("a", "b") and run.group == "g" and run.job_type == "train"
    assert run.notes == "first" and run.offline is False and run.disabled is False
    # The daemon's dashboard (tests/web covers it): a run page and a project page, no sweep.
    assert run.url.startswith("http://127.0.0.1:") and run.url.endswith(f"/runs/{run.id}")
    assert run.project_url.startswith("http://127.0.0.1:") and run.sweep_url is None
    with pytest.warns(DeprecationWarning, match="use run.url"):
        assert run.get_url() == run.url
    with pytest.warns(DeprecationWarning):
        assert run.project_name() == run.project
    assert run.starting_step == 0 and run.resumed is False and run.start_time > 0
    assert isinstance(run, trackd.Run)
    run.name = "renamed"
    run.tags = run.tags + ("c",)
    run.finish()
    stored = Api().run(run.path)
    assert stored.name == "renamed" and stored.tags == ["a", "b", "c"]
    assert stored.config == {"lr": 1e-3} and stored.notes == "first" and stored.group == "g"
    assert stored.state == "finished" and stored.created_at


def test_project_defaults_to_git_repo_name(clean_sdk, tmp_path, monkeypatch):
    repo = tmp_path / "my-repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    run = trackd.init()
    assert run.project == "my-repo"
    run.finish()


def test_generated_names_count_per_project(clean_sdk):
    names = []
    for _ in range(2):
        with trackd.init(project="names-count") as run:
            names.append(run.name)
    assert [int(n.rsplit("-", 1)[1]) for n in names] == [1, 2]


def test_invalid_run_id(clean_sdk):
    for bad in ("a/b", "x:y", " pad", "", "q?", "h#"):
        with pytest.raises(UsageError):
            trackd.init(id=bad)


def test_duplicate_run_id_is_rejected(clean_sdk):
    with trackd.init(project="dup", id="sameid1"):
        pass
    with pytest.raises(trackd.errors.RunAlreadyExistsError):
        trackd.init(project="dup", id="sameid1")


def test_config_sources_and_errors(clean_sdk, tmp_path):
    ns = argparse.Namespace(lr=0.1, epochs=3)
    run = trackd.init(project="cfg", config=ns, allow_val_change=False)
    assert run.config.lr == 0.1 and run.config["epochs"] == 3
    run.config.update({"batch": 32})
    run.config.batch = 32  # same value: fine
    with pytest.raises(ConfigError, match='Attempted to change value of key "batch"'):
        run.config.batch = 64
    with pytest.raises(ConfigError):
        run.config.update({"lr": 0.2})
    run.config.update({"lr": 0.2}, allow_val_change=True)
    run.config.setdefaults({"lr": 9, "new": "n"})
    assert run.config.lr == 0.2 and run.config.new == "n"
    run.config["_hidden"] = 1
    assert "_hidden" not in run.config.keys() and run.config.get("_hidden") == 1  # noqa: SIM118
    assert dict(run.config.items())["epochs"] == 3
    assert vars(run.config)["_items"]["lr"] == 0.2
    run.finish()
    stored = Api().run(run.path).config
    assert stored["lr"] == 0.2 and stored["batch"] == 32 and stored["new"] == "n"


def test_config_yaml_include_exclude(clean_sdk, tmp_path):
    (tmp_path / "cfg.yaml").write_text("wandb_version: 1\nlr:\n  value: 0.5\nlayers:\n  value: 4\n")
    (tmp_path / "config-defaults.yaml").write_text("seed: 7\n")
    run = trackd.init(project="cfg", config=str(tmp_path / "cfg.yaml"))
    assert run.config.as_dict() == {"seed": 7, "lr": 0.5, "layers": 4}
    run.finish()
    run = trackd.init(project="cfg", config={"a": 1, "b": 2}, config_include_keys=["a"])
    assert "b" not in run.config and run.config.a == 1
    run.finish()
    run = trackd.init(project="cfg", config={"a": 1, "b": 2}, config_exclude_keys=["a"])
    assert "a" not in run.config
    run.finish()
    with pytest.raises(UsageError):
        trackd.init(project="cfg", config={"a": 1}, config_include_keys=["a"], config_exclude_keys=["b"])
    with pytest.raises(UsageError):
        trackd.init(project="cfg", config=str(tmp_path / "missing.yaml"))


def test_reinit_modes(clean_sdk):
    first = trackd.init(project="reinit")
    assert trackd.init(project="reinit") is first  # default in scripts: return_previous
    assert trackd.init(project="reinit", reinit="return_previous") is first
    second = trackd.init(project="reinit", reinit="create_new")
    assert second is not first and trackd.run is first  # create_new leaves trackd.run alone
    third = trackd.init(project="reinit", reinit="finish_previous")
    assert trackd.run is third
    assert Api().run(first.path).state == "finished"
    assert Api().run(second.path).state == "finished"
    fourth = trackd.init(project="reinit", reinit=True)
    assert Api().run(third.path).state == "finished" and trackd.run is fourth
    with pytest.raises(UsageError):
        trackd.init(project="reinit", reinit="sometimes")
    fourth.finish()


def test_context_manager_marks_failed_on_exception(clean_sdk):
    with pytest.raises(RuntimeError), trackd.init(project="ctx") as run:
        run.log({"a": 1})
        raise RuntimeError("boom")
    stored = Api().run(run.path)
    assert stored.state == "failed" and stored.exit_code == 1 and stored.history_rows == 1


def test_finish_exit_codes_and_idempotence(clean_sdk):
    run = trackd.init(project="fin")
    run.finish(exit_code=3)
    run.finish()
    stored = Api().run(run.path)
    assert stored.state == "failed" and stored.exit_code == 3


def test_bad_input_is_rejected_and_loses_nothing(clean_sdk):
    run = trackd.init(project="bad")
    run.log({"ok": 1})
    with pytest.raises(TypeError):
        run.log([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        run.log({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        run.log({"a": {2: "x"}})
    with pytest.raises(TypeError):
        run.log({"obj": object()})
    with pytest.raises(ValueError):
        run.log({"huge": 2**64})
    with pytest.raises(TypeError):
        run.log({"a": 1}, step="3")  # type: ignore[arg-type]
    run.log({"ok": 2})
    run.finish()
    with pytest.raises(UsageError):
        run.log({"late": 1})
    with pytest.raises(UsageError):
        run.define_metric("late")
    rows = list(Api().run(run.path).scan_history())
    assert [r["ok"] for r in rows] == [1, 2]


def test_disabled_mode(clean_sdk):
    run = trackd.init(mode="disabled", config={"a": 1})
    assert run.disabled and isinstance(run, trackd.Run)
    assert run.name == f"dummy-{run.id}" and run.project == "dummy"
    run.log({"x": 1})
    run.summary["s"] = 2
    assert run.summary["s"] == 2 and run.config.a == 1
    run.finish()


def test_settings_precedence(clean_sdk, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb-env")
    run = trackd.init()
    assert run.project == "from-wandb-env"
    run.finish()
    monkeypatch.setenv("TRACKD_PROJECT", "from-trackd-env")
    trackd.teardown()
    run = trackd.init()
    assert run.project == "from-trackd-env"
    run.finish()
    run = trackd.init(settings=trackd.Settings(project="from-settings"))
    assert run.project == "from-settings"
    run.finish()
    run = trackd.init(project="from-kwarg", settings={"project": "from-settings"})
    assert run.project == "from-kwarg"
    run.finish()
    with pytest.raises(TypeError):
        trackd.Settings(no_such_setting=1)  # type: ignore[call-arg]
    with pytest.raises(UsageError):
        trackd.Settings(mode="sometimes")


def test_api_runs_filters_and_history_sampling(clean_sdk):
    for lr in (0.1, 0.2, 0.3):
        with trackd.init(project="api-filters", config={"lr": lr}, tags=["t"] if lr < 0.3 else []) as run:
            for i in range(20):
                run.log({"loss": lr * i, "i": i})
    api = Api()
    runs = api.runs(f"{run.entity}/api-filters")
    assert len(runs) == 3 and runs[0].config["lr"] == 0.3  # newest first
    assert {r.config["lr"] for r in api.runs(f"{run.entity}/api-filters", {"config.lr": {"$gte": 0.2}})} == {0.2, 0.3}
    assert len(api.runs(f"{run.entity}/api-filters", {"tags": "t"})) == 2
    assert len(api.runs(f"{run.entity}/api-filters", {"state": "finished"})) == 3
    h = runs[0].history(samples=5)  # a pandas.DataFrame, as W&B's
    assert list(h["_step"]) == [0, 4, 9, 14, 19] and list(h["i"]) == [0, 4, 9, 14, 19]
    last = runs[0].history(samples=5, pandas=False)[-1]
    assert (last["_step"], last["loss"], last["i"]) == (19, 0.3 * 19, 19)
    rows = list(runs[0].scan_history(keys=["i"], min_step=5, max_step=8))
    assert rows == [{"_step": 5, "i": 5}, {"_step": 6, "i": 6}, {"_step": 7, "i": 7}]
    with pytest.raises(trackd.errors.RunNotFoundError):
        api.run(f"{run.entity}/api-filters/nosuchrun")


def test_a_tiny_buffer_blocks_log_but_loses_nothing(clean_sdk):
    run = trackd.init(project="bounded", settings=trackd.Settings(max_buffered_records=3))
    for i in range(2000):
        run.log({"i": i})
        assert run._sender.buffered <= 3  # the caller waited whenever the buffer was full
    run.finish()
    assert [r["i"] for r in Api().run(run.path).scan_history()] == list(range(2000))


def test_the_buffer_holds_a_bounded_number_of_bytes_of_rows(clean_sdk, monkeypatch):
    monkeypatch.setattr(record_buffer, "MAX_BUFFERED_BYTES", 4096)
    run = trackd.init(project="bounded")
    wide = {f"key_{k}": float(k) for k in range(100)}  # about 1.3 KiB packed
    for i in range(300):
        run.log({**wide, "i": i})
        # the caller waited whenever 4 KiB were buffered: at most one row over
        assert run._sender._buffered_bytes < 4096 + 1500
    run.finish()
    assert run._sender._buffered_bytes == 0
    assert [r["i"] for r in Api().run(run.path).scan_history()] == list(range(300))
