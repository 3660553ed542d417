"""init()'s documented arguments: its signature, force, anonymous, the capture arguments it
does not act on yet, config from absl flags, and run.config_static, against the real daemon."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import pytest

import trackd
import trackd._init.init
from trackd import Api
from trackd.errors import ConfigError, DaemonUnavailableError, UsageError

#: The seed reference's init() signature, in its order; every default is None.
DOCUMENTED = [
    "entity", "project", "dir", "id", "name", "notes", "tags", "config", "config_exclude_keys",
    "config_include_keys", "allow_val_change", "group", "job_type", "mode", "force",
    "anonymous", "reinit", "resume", "resume_from", "fork_from", "save_code", "tensorboard",
    "sync_tensorboard", "monitor_gym", "settings",
]


@pytest.mark.parametrize("fn", [trackd.init, trackd._init.init.init], ids=["trackd", "_init"])
def test_signature_is_the_documented_one(fn):
    params = inspect.signature(fn).parameters
    assert list(params) == DOCUMENTED
    assert all(p.default is None and p.kind is p.POSITIONAL_OR_KEYWORD for p in params.values())


def test_positional_arguments_land_where_documented(clean_sdk, tmp_path):
    # entity, project, dir, id, name, notes, tags, config: positionally, as the order says.
    run = trackd.init(None, "positional", str(tmp_path), "posid001", "pos-name", "some notes",
                      ["t1"], {"lr": 0.5})
    assert (run.project, run.id, run.name, run.notes, run.tags) == (
        "positional", "posid001", "pos-name", "some notes", ("t1",))
    assert run.dir.startswith(str(tmp_path / "wandb"))
    run.finish()
    stored = Api().run(run.path)
    assert stored.config == {"lr": 0.5} and stored.name == "pos-name"


def test_an_unknown_keyword_is_a_type_error(clean_sdk):
    with pytest.raises(TypeError, match="magic"):
        trackd.init(project="x", magic=True)  # type: ignore[call-arg]


def test_anonymous_is_validated(clean_sdk):
    with pytest.raises(UsageError, match="anonymous must be one of"):
        trackd.init(project="anon", anonymous="sometimes")
    for value in ("never", "allow"):
        with trackd.init(project="anon", anonymous=value, reinit="create_new") as run:
            assert run.settings.anonymous == value
    with pytest.warns(UserWarning, match="no anonymous account"), \
            trackd.init(project="anon", anonymous="must", reinit="create_new") as run:
        run.log({"a": 1})
    assert Api().run(run.path).state == "finished"


def test_force_is_validated_and_an_unreachable_daemon_raises(clean_sdk, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="force must be"):
        trackd.init(project="force", force="yes")
    trackd.teardown()
    monkeypatch.setenv("TRACKD_ADDRESS", f"unix:{tmp_path / 'nobody-listens.sock'}")
    with pytest.raises(DaemonUnavailableError):
        trackd.init(project="force", force=True)
    # Nothing was recorded to sync later: no offline log holds a byte.
    assert all(wal.stat().st_size == 0 for wal in (tmp_path / "wandb").glob("*/*.wal"))


def test_without_force_an_unreachable_daemon_means_an_offline_run(clean_sdk, tmp_path,
                                                                  monkeypatch, capsys):
    """init(force=False), the default: as W&B goes on offline without a login, a run whose
    daemon cannot be reached goes on offline, loses nothing, and `trackd sync` stores it."""
    from trackd._init.sync import sync_dirs

    address = clean_sdk.dirs.env["TRACKD_ADDRESS"]
    trackd.teardown()
    monkeypatch.setenv("TRACKD_ADDRESS", f"unix:{tmp_path / 'nobody-listens.sock'}")
    run = trackd.init(project="no-daemon", config={"lr": 0.1})
    assert run.offline
    for i in range(50):
        run.log({"i": i})
    run.summary["best"] = 7
    run.finish()
    err = capsys.readouterr().err
    assert "goes on offline" in err and f"trackd sync {Path(run.dir).parent}" in err
    for what in ({"project": "no-daemon", "resume": "allow", "id": "r1"},
                 {"project": "no-daemon", "force": True}):
        with pytest.raises(DaemonUnavailableError):  # these need the daemon: no fallback
            trackd.init(**what)
    trackd.teardown()
    monkeypatch.setenv("TRACKD_ADDRESS", address)
    out: list[str] = []
    assert sync_dirs([str(Path(run.dir).parent)], echo=out.append) == 0, out
    stored = Api().run(run.path)
    assert stored.state == "finished" and stored.config["lr"] == 0.1
    assert [r["i"] for r in stored.scan_history()] == list(range(50))
    assert stored.summary["best"] == 7


def test_force_keeps_a_run_online_when_the_daemon_goes_away(own_daemon, tmp_path, monkeypatch):
    """The contrast of test_durability's offline fallback: with force=True the run does not
    continue offline; it waits for the daemon and delivers everything to it."""
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="forced", force=True,
                      settings=trackd.Settings(reconnect_timeout=0.5))
    for i in range(200):
        run.log({"i": i})
    run._sender.flush(30)
    # Not the default socket any more: the SDK cannot start a daemon there (as in
    # test_durability), so without force the run would go offline after 0.5 s. (Set before the
    # kill: the sender may notice the daemon gone at once and look for one to start.)
    monkeypatch.setenv("TRACKD_RUNTIME_DIR", str(tmp_path / "elsewhere"))
    own_daemon.kill()
    for i in range(200, 400):
        run.log({"i": i})
    time.sleep(2.0)  # four times reconnect_timeout: the point where it would have gone offline
    assert run._sender.went_offline is False
    assert all(wal.stat().st_size == 0 for wal in Path(run.dir).parent.glob("*.wal"))
    monkeypatch.setenv("TRACKD_RUNTIME_DIR", str(own_daemon.dirs.runtime))
    own_daemon.start()
    run.finish()
    stored = Api().run(run.path)
    assert stored.state == "finished"
    assert [r["i"] for r in stored.scan_history()] == list(range(400))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"monitor_gym": True}, "does not record Gym"),
])
def test_capture_arguments_warn_that_nothing_is_captured(clean_sdk, kwargs, match):
    with pytest.warns(UserWarning, match=match), trackd.init(project="capture", **kwargs) as run:
        run.log({"x": 1})
    assert Api().run(run.path).state == "finished"


def test_tensorboard_is_the_deprecated_alias_of_sync_tensorboard(clean_sdk):
    with pytest.warns(DeprecationWarning, match="use sync_tensorboard"):
        run = trackd.init(project="capture", tensorboard=True)
    if hasattr(run.settings, "sync_tensorboard"):
        assert run.settings.sync_tensorboard is True
    run.finish()
    # Off (the default) says nothing.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trackd.init(project="capture", sync_tensorboard=False, monitor_gym=False,
                    reinit="create_new").finish()


def test_config_from_absl_flags(clean_sdk):
    from absl import flags

    fv = flags.FlagValues()
    flags.DEFINE_float("learning_rate", 0.01, "lr", flag_values=fv)
    flags.DEFINE_integer("batch_size", 32, "bs", flag_values=fv)
    flags.DEFINE_string("model", "resnet", "arch", flag_values=fv)
    fv(["prog", "--batch_size=64"])
    run = trackd.init(project="absl", config=fv)
    assert dict(run.config.items()) == {"learning_rate": 0.01, "batch_size": 64, "model": "resnet"}
    # config.update takes them too (W&B's config.update(FLAGS)).
    more = flags.FlagValues()
    flags.DEFINE_boolean("augment", True, "aug", flag_values=more)
    more(["prog"])
    run.config.update(more)
    run.finish()
    assert Api().run(run.path).config == {"learning_rate": 0.01, "batch_size": 64,
                                          "model": "resnet", "augment": True}


def test_config_from_the_global_absl_flags(clean_sdk):
    from absl import flags

    flags.DEFINE_integer("trackd_test_epochs", 3, "epochs")
    flags.FLAGS(["prog", "--trackd_test_epochs=7"])
    try:
        run = trackd.init(project="absl", config=flags.FLAGS,
                          config_include_keys=["trackd_test_epochs"])
        assert dict(run.config.items()) == {"trackd_test_epochs": 7}
        run.finish()
        assert Api().run(run.path).config == {"trackd_test_epochs": 7}
    finally:
        flags.FLAGS.unparse_flags()


def test_config_static_is_a_read_only_view(clean_sdk):
    run = trackd.init(project="static", config={"lr": 0.1, "layers": [64, 32]})
    static = run.config_static
    assert static.lr == 0.1 and static["layers"] == [64, 32] and static.get("nope", 5) == 5
    assert list(static) == ["lr", "layers"] and len(static) == 2 and "lr" in static
    assert dict(static.items()) == {"lr": 0.1, "layers": [64, 32]}
    assert repr(static) == "{'lr': 0.1, 'layers': [64, 32]}"
    for change in (lambda: setattr(static, "lr", 1.0), lambda: static.__setitem__("lr", 1.0),
                   lambda: delattr(static, "lr")):
        with pytest.raises(AttributeError, match="read-only"):
            change()
    with pytest.raises(AttributeError, match="no key 'missing'"):
        static.missing  # noqa: B018
    run.config.update({"lr": 0.2}, allow_val_change=True)
    assert static.lr == 0.1  # a view of the config when it was read
    assert run.config_static.lr == 0.2
    run.finish()
    assert Api().run(run.path).config["lr"] == 0.2


def test_allow_val_change_is_false_in_a_script(clean_sdk):
    run = trackd.init(project="avc", config={"lr": 1})
    with pytest.raises(ConfigError):
        run.config.lr = 2
    run.finish()


def test_a_relative_dir_keeps_media_and_saved_files(clean_sdk, tmp_path):
    """init(dir=".") (Lightning's default): run.dir is absolute and what is written there
    (media, run.save) reaches the daemon."""
    (tmp_path / "sub").mkdir()
    with trackd.init(project="reldir", dir="sub") as run:
        assert Path(run.dir).is_absolute()
        assert Path(run.dir).is_relative_to(tmp_path / "sub" / "wandb")
        run.log({"t": trackd.Table(columns=["a"], data=[[1]])})
        (Path(run.dir) / "notes.txt").write_text("hi")
        run.save(str(Path(run.dir) / "notes.txt"), policy="now")
    stored = Api().run(run.path)
    path = stored.summary["t"]["path"]
    assert b'"columns"' in stored.file(path).read_bytes()
    assert stored.file("notes.txt").read_bytes() == b"hi"
