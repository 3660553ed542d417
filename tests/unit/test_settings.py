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
        ("max_buffered_records", 100_000),
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


# -- every documented field ----------------------------------------------------------------------

SEED_FIELDS = (
    "allow_offline_artifacts allow_val_change anonymous api_key azure_account_url_to_access_key "
    "base_url code_dir config_paths console console_multipart credentials_file disable_code "
    "disable_git disable_job_creation docker email entity organization force fork_from git_commit "
    "git_remote git_remote_url git_root heartbeat_seconds host http_proxy https_proxy "
    "identity_token_file ignore_globs init_timeout insecure_disable_ssl job_name job_source "
    "label_disable launch launch_config_path login_timeout mode notebook_name program "
    "program_abspath program_relpath project quiet reinit relogin resume resume_from resumed "
    "root_dir run_group run_id run_job_type run_name run_notes run_tags sagemaker_disable "
    "save_code settings_system show_colors show_emoji show_errors show_info show_warnings silent "
    "start_method strict summary_timeout summary_warnings sweep_id sweep_param_path symlink "
    "sync_tensorboard table_raise_on_max_row_limit_exceeded username"
).split()

GOOD = {
    "bool": True, "int": 7, "float": 2.5, "strs": ("a", "b"), "str": "x",
    "map": {"https://acct.blob.core.windows.net": "key"}, "moment": "abc?_step=3",
}


def test_every_seed_field_is_a_field() -> None:
    from trackd._settings import FIELD_NAMES

    missing = [f for f in SEED_FIELDS if f not in FIELD_NAMES]
    assert missing == []


@pytest.mark.parametrize("name", SEED_FIELDS)
def test_every_seed_field_is_accepted_everywhere(name: str, tmp_path, recwarn) -> None:
    from trackd._settings import read_settings_file
    from trackd._settings.fields import ENV_NAMES, kind_of

    if name in ("mode", "console", "anonymous", "job_source", "reinit", "resume"):
        value = {"mode": "offline", "console": "wrap", "anonymous": "never",
                 "job_source": "repo", "reinit": "create_new", "resume": "allow"}[name]
    else:
        value = GOOD[kind_of(name)]
    s = Settings(**{name: value})
    assert name in s.model_fields_set
    got = getattr(s, name)
    assert got is not None
    t = Settings()
    t.update_from_dict({name: value})
    assert getattr(t, name) == got
    text = {True: "true"}.get(value, value) if isinstance(value, bool) else value
    if isinstance(text, tuple):
        text = ",".join(text)
    elif isinstance(text, dict):
        import json

        text = json.dumps(text)
    text = str(text)
    suffix = ENV_NAMES.get(name, name.upper())
    assert getattr(Settings.from_env({"WANDB_" + suffix: text}), name) == got
    assert getattr(Settings.from_env({"TRACKD_" + suffix: text}), name) == got
    path = tmp_path / "settings"
    path.write_text(f"[default]\n{name} = {text}\n")
    assert getattr(read_settings_file(str(path)), name) == got


@pytest.mark.parametrize(
    ("name", "bad"),
    [("show_info", "maybe"), ("heartbeat_seconds", 0), ("heartbeat_seconds", "soon"),
     ("summary_timeout", -1), ("summary_warnings", 1.5), ("login_timeout", "x"),
     ("job_source", "git"), ("anonymous", "sometimes"), ("fork_from", "abc"),
     ("resume_from", "abc?loss=3"), ("fork_from", "abc?_step=-1"), ("git_commit", 123),
     ("azure_account_url_to_access_key", {"u": 1}), ("azure_account_url_to_access_key", "[1]"),
     ("symlink", 2), ("strict", "perhaps"), ("run_tags", [1, 2]),
     ("resume", "sometimes"), ("reinit", "again")],
)
def test_bad_values_name_the_field_and_the_value(name: str, bad: object) -> None:
    import re

    with pytest.raises(UsageError, match=f"Settings.{name} .*{re.escape(repr(bad)[:3])}"):
        Settings(**{name: bad})
    s = Settings()
    with pytest.raises(UsageError, match=f"Settings.{name}"):
        setattr(s, name, bad)


def test_w_and_b_environment_names() -> None:
    s = Settings.from_env({"WANDB_USER_EMAIL": "a@b.c", "WANDB_USERNAME": "ann",
                           "WANDB_DOCKER": "img:1", "WANDB_PROGRAM": "train.py",
                           "WANDB_NOTEBOOK_NAME": "nb.ipynb", "WANDB_HOST": "h1",
                           "WANDB_HTTP_PROXY": "http://p:1", "WANDB_HTTPS_PROXY": "http://p:2",
                           "WANDB__STATS_SAMPLING_INTERVAL": "5", "WANDB_HEARTBEAT_SECONDS": "9",
                           "WANDB_SETTINGS_SYSTEM": "/x/settings"})
    assert (s.email, s.username, s.docker, s.program, s.notebook_name, s.host) == (
        "a@b.c", "ann", "img:1", "train.py", "nb.ipynb", "h1")
    assert (s.http_proxy, s.https_proxy) == ("http://p:1", "http://p:2")
    assert s.x_stats_sampling_interval == 5.0 and s.heartbeat_seconds == 9
    assert s.settings_system == "/x/settings"
    with pytest.raises(UsageError, match="WANDB_HEARTBEAT_SECONDS"):
        Settings.from_env({"WANDB_HEARTBEAT_SECONDS": "often"})


def test_catch_private_settings_maps_old_private_names() -> None:
    assert Settings.catch_private_settings({"_stats_sampling_interval": 3, "project": "p"}) == {
        "x_stats_sampling_interval": 3, "project": "p"}
    s = Settings(_stats_sampling_interval=3, _disable_stats=True)
    assert s.x_stats_sampling_interval == 3.0 and s.x_disable_stats is True
    s.update_from_dict({"_label": "w1"})
    assert s.x_label == "w1"


def test_model_fields_set_and_extra() -> None:
    s = Settings(project="p", quiet=False)
    assert s.model_fields_set == {"project", "quiet"}
    s.run_name = "n"
    assert s.model_fields_set == {"project", "quiet", "run_name"}
    assert s.merged({"entity": "e"}).model_fields_set == {"project", "quiet", "run_name", "entity"}
    assert Settings().model_fields_set == set()
    assert s.model_extra is None


def test_defaults_of_the_new_fields() -> None:
    s = Settings()
    assert (s.get("show_info"), s.get("show_warnings"), s.get("show_errors")) == (True, True, True)
    assert (s.get("heartbeat_seconds"), s.get("summary_timeout"), s.get("summary_warnings")) == (
        30, 60, 5)
    assert s.get("symlink") is True and s.get("git_remote") == "origin"
    assert s.get("disable_code") is False and s.show_colors is None
    assert s.is_local is True and s.deployment == "local"
    assert s.sync_dir is None and s.log_user is None and s.run_url is None and s.colab_url is None
    assert s.settings_workspace.endswith("trackd/settings")


def test_run_moments() -> None:
    from trackd._settings import RunMoment

    m = Settings(fork_from="abc?_step=3").fork_from
    assert m == RunMoment("abc", 3) and str(m) == "abc?_step=3"
    assert Settings(resume_from=RunMoment("r1", 10)).resume_from.value == 10
    with pytest.raises(UsageError, match="_step"):
        RunMoment("abc", 1, metric="loss")


def test_sync_tensorboard_true_is_taken_quietly() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Settings(sync_tensorboard=True).sync_tensorboard is True


def test_frozen_settings_refuse_changes() -> None:
    from trackd._settings import FrozenSettingsError

    frozen = Settings(project="p")._for_run("/tmp/x", 0.0)
    for action in (lambda: setattr(frozen, "project", "q"),
                   lambda: frozen.update_from_dict({"project": "q"}),
                   lambda: delattr(frozen, "project")):
        with pytest.raises(FrozenSettingsError, match="frozen"):
            action()
    assert frozen.project == "p"
    assert issubclass(FrozenSettingsError, UsageError)
    assert issubclass(FrozenSettingsError, AttributeError)
    # A copy made from it is not frozen.
    assert frozen.merged({"project": "q"}).project == "q"


def test_unknown_attribute_is_refused() -> None:
    with pytest.raises(AttributeError):
        Settings().no_such = 1  # type: ignore[attr-defined]


def test_tokens_never_start_with_a_dash(monkeypatch) -> None:
    """A token is passed as a command-line argument (``trackd login KEY``), where a leading
    ``-`` would read as an option: a draw that starts with one is drawn again."""
    import secrets

    from trackd._shared import ui_auth

    draws = iter(["-starts-with-a-dash", "-again", "fine-token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    assert ui_auth.new_token() == "fine-token"
