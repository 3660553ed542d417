"""trackd.Settings (trackd._settings): defaults, modes, environment variables, precedence."""

from __future__ import annotations

import dataclasses

import pytest

import trackd
from trackd._settings import Settings
from trackd.errors import UsageError


def test_every_field_defaults_to_none() -> None:
    s = Settings()
    assert all(v is None for v in s.to_dict().values())
    assert "mode" in s.to_dict() and "run_tags" in s.to_dict()


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("mode", "online"),
        ("allow_val_change", False),
        ("reinit", "default"),
        ("quiet", False),
        ("silent", False),
        ("daemon_start_timeout", 30.0),
        ("init_timeout", 90.0),
        ("finish_timeout", 0.0),
        ("max_buffered_records", 10_000),
        ("reconnect_timeout", 60.0),
        ("project", None),
        ("run_id", None),
        ("run_tags", None),
        ("daemon_address", None),
    ],
)
def test_get_returns_the_default_when_unset(name: str, default: object) -> None:
    assert Settings().get(name) == default
    assert type(Settings().get(name)) is type(default)


def test_get_returns_a_set_value_even_when_falsy() -> None:
    s = Settings(quiet=True, finish_timeout=5.0, allow_val_change=False, project="p")
    assert s.get("quiet") is True
    assert s.get("finish_timeout") == 5.0
    assert s.get("allow_val_change") is False
    assert s.get("project") == "p"


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("online", "online"),
        ("run", "online"),
        ("offline", "offline"),
        ("dryrun", "offline"),
        ("disabled", "disabled"),
        ("OFFLINE", "offline"),
        ("DryRun", "offline"),
        ("shared", "shared"),
    ],
)
def test_mode_aliases(given: str, mode: str) -> None:
    assert Settings(mode=given).mode == mode


@pytest.mark.parametrize("bad", ["", "on line", "nope"])
def test_bad_mode_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        Settings(mode=bad)
    assert issubclass(UsageError, trackd.Error)


def test_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Settings(no_such_setting=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Settings().merged({"no_such_setting": 1})


def test_run_tags_accept_a_comma_list_or_any_iterable() -> None:
    assert Settings(run_tags="a, b,,c ").run_tags == ("a", "b", "c")  # type: ignore[arg-type]
    assert Settings(run_tags=["x", "y"]).run_tags == ("x", "y")  # type: ignore[arg-type]
    assert Settings(run_tags=()).run_tags == ()


def test_max_buffered_records_must_be_positive() -> None:
    with pytest.raises(UsageError):
        Settings(max_buffered_records=0)
    assert Settings(max_buffered_records=1).get("max_buffered_records") == 1


# -- from_env ----------------------------------------------------------------------------------


def test_from_env_with_nothing_set() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"UNRELATED": "1", "WANDB": "x", "TRACKD_": "y"}) == Settings()


def test_from_env_reads_wandb_variables() -> None:
    s = Settings.from_env({
        "WANDB_MODE": "dryrun",
        "WANDB_PROJECT": "proj",
        "WANDB_ENTITY": "me",
        "WANDB_DIR": "/data/runs",
        "WANDB_NAME": "my-run",
        "WANDB_NOTES": "some notes",
        "WANDB_TAGS": "a,b, c",
        "WANDB_RUN_GROUP": "grp",
        "WANDB_JOB_TYPE": "train",
        "WANDB_RUN_ID": "abc123",
        "WANDB_SWEEP_ID": "sw",
        "WANDB_API_KEY": "k",
    })
    assert s.mode == "offline"
    assert s.project == "proj"
    assert s.entity == "me"
    assert s.root_dir == "/data/runs"
    assert s.run_name == "my-run"
    assert s.run_notes == "some notes"
    assert s.run_tags == ("a", "b", "c")
    assert s.run_group == "grp"
    assert s.run_job_type == "train"
    assert s.run_id == "abc123"
    assert s.sweep_id == "sw"
    assert s.api_key == "k"


def test_from_env_reads_trackd_variables_with_the_same_names() -> None:
    s = Settings.from_env({"TRACKD_DIR": "/d", "TRACKD_NAME": "n", "TRACKD_TAGS": "x",
                           "TRACKD_RUN_GROUP": "g", "TRACKD_JOB_TYPE": "j", "TRACKD_RUN_ID": "i",
                           "TRACKD_ADDRESS": "unix:/tmp/s.sock", "TRACKD_MODE": "run"})
    assert (s.root_dir, s.run_name, s.run_tags, s.run_group, s.run_job_type, s.run_id) == (
        "/d", "n", ("x",), "g", "j", "i"
    )
    assert s.daemon_address == "unix:/tmp/s.sock"
    assert s.mode == "online"


def test_trackd_variables_win_over_wandb_ones() -> None:
    s = Settings.from_env({
        "WANDB_PROJECT": "w", "TRACKD_PROJECT": "t",
        "WANDB_MODE": "offline", "TRACKD_MODE": "disabled",
        "WANDB_NAME": "wn", "TRACKD_NAME": "tn",
        "WANDB_INIT_TIMEOUT": "1", "TRACKD_INIT_TIMEOUT": "2",
        "WANDB_ENTITY": "only-wandb",
    })
    assert (s.project, s.mode, s.run_name, s.init_timeout, s.entity) == (
        "t", "disabled", "tn", 2.0, "only-wandb"
    )


def test_empty_variables_are_ignored() -> None:
    s = Settings.from_env({"WANDB_PROJECT": "w", "TRACKD_PROJECT": "", "WANDB_MODE": ""})
    assert s.project == "w"
    assert s.mode is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True), (" True ", True),
     ("0", False), ("false", False), ("no", False), ("off", False)],
)
def test_bool_coercion(raw: str, value: bool) -> None:
    s = Settings.from_env({"WANDB_QUIET": raw, "TRACKD_SILENT": raw, "WANDB_SAVE_CODE": raw,
                           "WANDB_ALLOW_VAL_CHANGE": raw})
    assert s.quiet is value and s.silent is value
    assert s.save_code is value and s.allow_val_change is value


def test_number_coercion() -> None:
    s = Settings.from_env({
        "TRACKD_INIT_TIMEOUT": "12.5",
        "TRACKD_FINISH_TIMEOUT": "3",
        "TRACKD_DAEMON_START_TIMEOUT": "1e1",
        "TRACKD_RECONNECT_TIMEOUT": "0",
        "TRACKD_MAX_BUFFERED_RECORDS": "250",
    })
    assert s.init_timeout == 12.5 and type(s.init_timeout) is float
    assert s.finish_timeout == 3.0 and type(s.finish_timeout) is float
    assert s.daemon_start_timeout == 10.0
    assert s.reconnect_timeout == 0.0
    assert s.max_buffered_records == 250 and type(s.max_buffered_records) is int


@pytest.mark.parametrize(
    "env",
    [
        {"TRACKD_INIT_TIMEOUT": "soon"},
        {"WANDB_FINISH_TIMEOUT": "1,5"},
        {"TRACKD_MAX_BUFFERED_RECORDS": "many"},
        {"TRACKD_MAX_BUFFERED_RECORDS": "2.5"},
        {"TRACKD_MAX_BUFFERED_RECORDS": "0"},
        {"WANDB_MODE": "sideways"},
    ],
)
def test_bad_values_in_the_environment_are_usage_errors(env: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        Settings.from_env(env)


def test_reinit_from_the_environment() -> None:
    assert Settings.from_env({"WANDB_REINIT": "true"}).reinit is True
    assert Settings.from_env({"WANDB_REINIT": "False"}).reinit is False
    assert Settings.from_env({"WANDB_REINIT": "finish_previous"}).reinit == "finish_previous"


def test_string_fields_are_not_coerced() -> None:
    s = Settings.from_env({"WANDB_RUN_ID": "123", "WANDB_PROJECT": "1.5", "WANDB_NAME": "true"})
    assert (s.run_id, s.project, s.run_name) == ("123", "1.5", "true")


def test_from_env_does_not_touch_the_mapping() -> None:
    env = {"WANDB_TAGS": "a,b", "TRACKD_MODE": "dryrun"}
    before = dict(env)
    Settings.from_env(env)
    assert env == before


# -- merged ------------------------------------------------------------------------------------


def test_merged_non_none_fields_win() -> None:
    low = Settings(mode="offline", project="low", entity="e", quiet=True, run_tags=("a",))
    high = Settings(project="high", quiet=False, init_timeout=5.0)
    out = low.merged(high)
    assert out.mode == "offline"  # None in `high` falls through
    assert out.project == "high"
    assert out.entity == "e"
    assert out.quiet is False  # False is a value, not "unset"
    assert out.init_timeout == 5.0
    assert out.run_tags == ("a",)
    # Neither input changes.
    assert low.project == "low" and low.init_timeout is None
    assert high.mode is None


def test_merged_accepts_a_mapping_and_none() -> None:
    base = Settings(project="p", mode="online")
    out = base.merged({"mode": "dryrun", "run_tags": "x,y", "entity": None})
    assert (out.project, out.mode, out.run_tags, out.entity) == ("p", "offline", ("x", "y"), None)
    copy = base.merged(None)
    assert copy == base and copy is not base


def test_precedence_chain_env_then_setup_then_init() -> None:
    env = Settings.from_env({"WANDB_PROJECT": "env", "WANDB_ENTITY": "env-e",
                             "TRACKD_RUN_GROUP": "env-g"})
    setup = Settings(project="setup", run_group="setup-g")
    init = Settings(project="init")
    final = env.merged(setup).merged(init)
    assert (final.project, final.entity, final.run_group) == ("init", "env-e", "setup-g")
    assert final.get("mode") == "online"


def test_update_from_dict_sets_fields_in_place() -> None:
    s = Settings(project="p")
    s.update_from_dict({"mode": "run", "project": None, "run_name": "n"})
    assert (s.mode, s.project, s.run_name) == ("online", "p", "n")
    with pytest.raises(TypeError):
        s.update_from_dict({"bogus": 1})


def test_settings_is_a_dataclass_exported_from_trackd() -> None:
    assert trackd.Settings is Settings
    assert dataclasses.is_dataclass(Settings)


def test_bad_boolean_environment_values_are_errors() -> None:
    with pytest.raises(UsageError, match="quiet"):
        Settings.from_env({"WANDB_QUIET": "maybe"})
    assert Settings.from_env({"WANDB_QUIET": "off"}).quiet is False


def test_config_paths_become_a_tuple() -> None:
    assert Settings(config_paths=["a.yaml", "b.yaml"]).config_paths == ("a.yaml", "b.yaml")
