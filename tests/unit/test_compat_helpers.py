"""The W&B helpers behind the opt-in wandb package (``trackd.compat``): ``wandb.util``,
``wandb.env``, telemetry, the disabled-run placeholders, and ``termlog``/``termwarn``."""

from __future__ import annotations

import datetime as dt
import enum
import json

import numpy as np
import pytest

import trackd
from trackd._base import api_name as _api_name
from trackd.compat import disabled, env, util
from trackd.integrations import telemetry


class Color(enum.Enum):
    RED = "red"


def test_json_friendly_converts_what_log_accepts_and_leaves_the_rest() -> None:
    assert util.json_friendly(np.float32(0.5)) == (0.5, True)
    assert util.json_friendly(Color.RED) == ("red", True)
    assert util.json_friendly(dt.date(2026, 1, 2)) == ("2026-01-02", True)
    assert util.json_friendly(b"abc") == ("abc", True)
    plain = {"a": 1}
    assert util.json_friendly(plain)[0] is plain and util.json_friendly(plain)[1] is False
    thing = object()
    assert util.json_friendly(thing) == (thing, False)
    assert util.json_friendly_val({"a": [np.int64(2), (np.float64(1.5),)]}) == {"a": [2, [1.5]]}


def test_json_dumps_safer_writes_numpy_and_refuses_unknown_values() -> None:
    text = util.json_dumps_safer({"x": np.arange(3), "y": np.bool_(True)}, sort_keys=True)
    assert json.loads(text) == {"x": [0, 1, 2], "y": True}
    with pytest.raises(TypeError):
        util.json_dumps_safer({"f": object()})


def test_get_module_and_names() -> None:
    assert util.get_module("json") is json
    assert util.get_module("no_such_module_here") is None
    with pytest.raises(trackd.Error, match="install it"):
        util.get_module("no_such_module_here", required="install it")
    assert len(util.generate_id()) == 8
    assert util.to_forward_slash_path("a\\b\\c") == "a/b/c"
    assert util.make_artifact_name_safe("my model:v1/x") == "my_model_v1_x"
    assert len(util.make_artifact_name_safe("x" * 300)) == 128


def test_env_setters_write_wandbs_variables() -> None:
    box: dict[str, str] = {}
    env.set_entity("team", env=box)
    env.set_project("", env=box)
    assert box == {"WANDB_ENTITY": "team", "WANDB_PROJECT": "uncategorized"}
    assert env.get_project(env=box) == "uncategorized" and env.get_dir("d", env=box) == "d"


def test_telemetry_records_marks_locally() -> None:
    with telemetry.context(run=None) as tel:
        tel.feature.keras = True
        tel.framework.name = "torch"
        _ = tel.unused.branch  # read but never set: left out
    assert tel.as_dict() == {"feature": {"keras": True}, "framework": {"name": "torch"}}
    mine = telemetry.Record()
    with telemetry.context(obj=mine) as tel:
        assert tel is mine


def test_disabled_placeholders() -> None:
    summary = disabled.SummaryDisabled({"a": {"b": 1}})
    assert summary.a.b == 1
    summary.c = 2
    assert summary["c"] == 2
    with pytest.raises(AttributeError):
        _ = summary.missing
    assert not isinstance(object(), disabled.RunDisabled)


def test_termlog_prints_like_the_sdk(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    monkeypatch.delenv("TRACKD_SILENT", raising=False)
    trackd.termlog("plain line")
    trackd.termwarn("careful")
    trackd.termerror("broken", prefix=False)
    trackd.termlog("once only", repeat=False)
    trackd.termlog("once only", repeat=False)
    err = capsys.readouterr().err.splitlines()
    assert err == ["trackd: plain line", "trackd: WARNING careful", "broken", "trackd: once only"]
    monkeypatch.setenv("WANDB_SILENT", "true")
    trackd.termlog("hidden")
    assert capsys.readouterr().err == ""


def test_api_name_is_trackd_or_wandb() -> None:
    assert _api_name.api_name() == "trackd"
    with pytest.raises(ValueError, match="trackd or wandb"):
        _api_name.set_api_name("other")
