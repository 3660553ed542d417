"""A sweep run's parameter files and environment, and how ``init()`` reads them back."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from trackd._init import sweep_init as _sweep_init
from trackd._settings import Settings
from trackd._transport.sweep_client import parse_path
from trackd.sweeps._params import flat_items, run_env, sweep_dir, write_json, write_yaml

PARAMS = {"lr": 0.5, "opt": {"name": "sgd", "momentum": 0.9}, "tags": ["a", "b"], "on": True}


def test_yaml_file_has_w_and_b_layout_and_reads_back(tmp_path: Path) -> None:
    directory = sweep_dir(tmp_path, "sw1")
    assert directory == tmp_path / "wandb" / "sweep-sw1"
    path = write_yaml(directory, "run1", PARAMS)
    assert path == directory / "config-run1.yaml"
    on_disk = yaml.safe_load(path.read_text())
    assert on_disk == {k: {"value": v} for k, v in PARAMS.items()}
    assert _sweep_init.read_yaml(path) == PARAMS
    assert not list(directory.glob("*.tmp"))


def test_json_file(tmp_path: Path) -> None:
    import json

    path = write_json(tmp_path / "d", "r2", PARAMS)
    assert path.name == "config-r2.json" and json.loads(path.read_text()) == PARAMS


def test_run_env_sets_both_prefixes() -> None:
    env = run_env("sw", "rid", Path("/x/config-rid.yaml"), "ent", "proj")
    for prefix in ("TRACKD_", "WANDB_"):
        assert env[prefix + "SWEEP_ID"] == "sw" and env[prefix + "RUN_ID"] == "rid"
        assert env[prefix + "SWEEP_PARAM_PATH"] == "/x/config-rid.yaml"
        assert env[prefix + "ENTITY"] == "ent" and env[prefix + "PROJECT"] == "proj"


def test_flat_items() -> None:
    assert list(flat_items({"a": {"b": {"c": 1}}, "d": {}})) == [("a.b.c", 1), ("d", {})]


def test_sweep_paths() -> None:
    assert parse_path("abc").sweep_id == "abc"
    p = parse_path("proj/abc", entity="me")
    assert (p.entity, p.project, p.sweep_id) == ("me", "proj", "abc")
    p = parse_path("e/p/abc", entity="other", project="other")
    assert (p.entity, p.project, p.sweep_id) == ("e", "p", "abc")
    assert str(p) == "e/p/abc"
    for bad in ("", "a/b/c/d", "a//b", 3):
        with pytest.raises(Exception, match="sweep id"):
            parse_path(bad)  # type: ignore[arg-type]


def test_init_reads_the_agents_environment_trackd_winning() -> None:
    env = {"WANDB_SWEEP_ID": "w", "TRACKD_SWEEP_ID": "t", "WANDB_RUN_ID": "r1",
           "WANDB_SWEEP_PARAM_PATH": "/p.yaml", "WANDB_PROJECT": "proj", "TRACKD_ENTITY": "e"}
    found = _sweep_init.sweep_run(Settings(), env)
    assert found == _sweep_init.SweepRun("t", "/p.yaml", "r1", "proj", "e")
    assert _sweep_init.sweep_run(Settings(), {}) is None
    # A sweep id from the settings alone links the run, and decides nothing else.
    only = _sweep_init.sweep_run(Settings(sweep_id="s"), {"WANDB_RUN_ID": "x"})
    assert only == _sweep_init.SweepRun("s", None, None, None, None)


def test_the_sweep_overrides_init_arguments_with_a_warning() -> None:
    sweep = _sweep_init.SweepRun("sw", "/p.yaml", "rid", "proj", "ent")
    with pytest.warns(UserWarning) as caught:
        s = _sweep_init.apply(Settings(), sweep, {"project": "mine", "entity": "ent",
                                                  "run_id": "myid"})
    texts = [str(w.message) for w in caught]
    assert any("Ignored trackd.init() arg project when running a sweep." in t for t in texts)
    assert any("arg id when running a sweep" in t for t in texts)
    assert not any("arg entity" in t for t in texts)  # the same value: nothing to say
    assert (s.project, s.entity, s.run_id, s.sweep_id, s.sweep_param_path) == (
        "proj", "ent", "rid", "sw", "/p.yaml")


def test_init_config_loses_swept_keys_with_a_warning_when_they_differ() -> None:
    with pytest.warns(UserWarning, match="Config item 'lr' was locked by 'sweep'"):
        kept = _sweep_init.override_config(Settings(), {"lr": 1, "bs": 2, "on": True},
                                           {"lr": 0.5, "on": True})
    assert kept == {"bs": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sweep_init.override_config(Settings(), {"lr": 0.5}, {"lr": 0.5}) == {}


def test_an_unreadable_parameter_file_gives_no_parameters(tmp_path: Path, capsys) -> None:
    sweep = _sweep_init.SweepRun("sw", str(tmp_path / "missing.yaml"), None, None, None)
    assert _sweep_init.parameters(Settings(), sweep) == {}
    assert "cannot read the sweep parameters" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    assert _sweep_init.parameters(Settings(), sweep.__class__("sw", str(bad), None, None,
                                                              None)) == {}
