"""The public surface of the ``trackd`` package: names, errors, and state before init()."""

from __future__ import annotations

import tempfile
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackd
import trackd.errors

PUBLIC = [
    "AlertLevel",
    "Api",
    "Artifact",
    "ArtifactTTL",
    "Audio",
    "BoundingBoxes2D",
    "Classes",
    "CommError",
    "Error",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "ImageMask",
    "Metric",
    "Object3D",
    "Plotly",
    "Run",
    "Settings",
    "Table",
    "UsageError",
    "Video",
    "__version__",
    "agent",
    "attach",
    "box3d",
    "config",
    "controller",
    "data_types",
    "define_metric",
    "ensure_configured",
    "errors",
    "finish",
    "init",
    "join",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "plot",
    "plot_table",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]


@pytest.fixture
def no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No current run before and after the test; run in an empty cwd, temp dirs under tmp_path."""
    trackd.teardown()
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield cwd
    trackd.teardown()


def test_all_is_pinned() -> None:
    assert PUBLIC == sorted(PUBLIC)
    assert trackd.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str, no_run: Path) -> None:
    getattr(trackd, name)  # no AttributeError (run is None, config/summary are placeholders)


def test_public_objects_are_what_they_claim(no_run: Path) -> None:
    assert isinstance(trackd.__version__, str) and trackd.__version__
    assert isinstance(trackd.errors, types.ModuleType)
    assert trackd.errors.__name__ == "trackd.errors"
    assert trackd.Error is trackd.errors.Error
    assert trackd.UsageError is trackd.errors.UsageError
    assert trackd.CommError is trackd.errors.CommError
    assert isinstance(trackd.Api, type)
    assert isinstance(trackd.Run, type)
    for fn in ("init", "setup", "teardown", "log", "finish", "define_metric"):
        assert callable(getattr(trackd, fn))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        trackd.no_such_thing  # noqa: B018


def test_error_tree() -> None:
    e = trackd.errors
    assert issubclass(e.UsageError, e.Error)
    assert issubclass(e.CommError, e.Error)
    assert issubclass(e.ConfigError, e.UsageError)
    assert issubclass(e.Error, Exception)
    assert issubclass(e.DaemonUnavailableError, e.CommError)
    assert issubclass(e.RpcError, e.CommError)
    assert issubclass(e.RunFinishedError, e.FailedPreconditionError)
    assert issubclass(e.FinishTimeoutError, e.Error)
    assert issubclass(e.FinishTimeoutError, TimeoutError)
    for name in e.__all__:
        assert hasattr(e, name), name


def test_run_is_none_and_config_raises_before_init(no_run: Path) -> None:
    assert trackd.run is None
    with pytest.raises(trackd.Error):
        trackd.config["lr"]
    with pytest.raises(trackd.Error):
        trackd.config["lr"] = 0.1
    with pytest.raises(trackd.Error):
        trackd.config.lr = 0.1
    with pytest.raises(trackd.Error):
        trackd.config.update({"lr": 0.1})
    with pytest.raises(trackd.Error):
        trackd.summary["x"]
    with pytest.raises(trackd.Error):
        trackd.log({"x": 1})
    with pytest.raises(trackd.Error):
        trackd.define_metric("x")
    trackd.finish()  # no run: nothing to do, no error


def test_init_disabled_returns_a_trackd_run(no_run: Path) -> None:
    run = trackd.init(mode="disabled")
    try:
        assert type(run) is trackd.Run
        assert trackd.run is run
        assert run.disabled
        run.log({"x": 1})
        trackd.log({"y": 2})
        run.config["lr"] = 0.1
        assert trackd.config["lr"] == 0.1
    finally:
        trackd.teardown()
    assert trackd.run is None
    # A disabled run writes nothing: not in the working directory, not in the temp dir.
    assert list(no_run.iterdir()) == []
    assert list((no_run.parent / "tmp").iterdir()) == []
